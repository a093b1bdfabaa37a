"""Local commands: output, stdin, failures, timeouts, and daemons that keep stdout open."""
import sys
import time

import pytest

from xenserver_plugin import system
from xenserver_plugin.errors import OperatorError


def test_output_and_stdin():
    result = system.run([sys.executable, "-c", "import sys; sys.stdout.write(sys.stdin.read().upper())"],
                        input_text="secret")
    assert result.ok and result.out == "SECRET" and isinstance(result.out, str)


def test_failure_raises_with_stderr_and_check_false_returns():
    argv = [sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"]
    with pytest.raises(RuntimeError) as error:
        system.run(argv)
    assert "exited 3: boom" in str(error.value)
    assert system.run(argv, check=False).returncode == 3


def test_missing_program_is_an_operator_error():
    with pytest.raises(OperatorError) as error:
        system.run(["/nonexistent/xenserver-plugin-tool"])
    assert "Install the package" in str(error.value)


def test_timeout_kills():
    start = time.time()
    result = system.run([sys.executable, "-c", "import time; time.sleep(30)"], check=False, timeout=0.5)
    assert result.timed_out and not result.ok
    assert time.time() - start < 10


def test_a_daemon_left_behind_does_not_hang_the_task():
    # The child forks a grandchild that keeps stdout/stderr open for 8 s, like `ssh -f` or dhclient.
    code = ("import os, time, sys\n"
            "if os.fork() == 0:\n    time.sleep(8)\n    os._exit(0)\n"
            "sys.stdout.write('parent done')\n")
    start = time.time()
    result = system.run([sys.executable, "-c", code])
    assert result.out == "parent done"
    assert time.time() - start < 10


def test_env_reaches_the_command():
    result = system.run([sys.executable, "-c", "import os, sys; sys.stdout.write(os.environ['X_TEST'])"],
                        env={"X_TEST": "value"})
    assert result.out == "value"


def test_stdin_from_a_binary_file(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(b"\x00\xffdata" * 1000)
    result = system.run([sys.executable, "-c", "import sys; sys.stdout.write(str(len(sys.stdin.read())) "
                         "if sys.version_info[0] < 3 else str(len(sys.stdin.buffer.read())))"],
                        stdin_path=str(path))
    assert result.out == "6000"
