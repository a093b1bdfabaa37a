"""What every task shares: arguments, the log file, and turning operator errors into one paragraph."""
import argparse
import logging
import os
import sys

from xenserver_plugin import astute
from xenserver_plugin.errors import OperatorError

LOG_DIR = "/var/log/fuel-plugin-xenserver"
EXIT_OPERATOR_ERROR = 1
EXIT_BUG = 2


def parse_args(task_name, argv):
    parser = argparse.ArgumentParser(prog=task_name)
    parser.add_argument("--dry-run", action="store_true", help="print what would change and change nothing")
    parser.add_argument("--astute", default=astute.DEFAULT_PATH, help="the node's deployment data")
    parser.add_argument("--log-dir", default=os.environ.get("XENSERVER_PLUGIN_LOG_DIR", LOG_DIR))
    return parser.parse_args(argv)


def setup_logging(task_name, log_dir):
    """Full log in <log_dir>/<task>.log; stdout gets only the human summary printed by the task."""
    if not os.path.isdir(log_dir):
        os.makedirs(log_dir, 0o750)
    handler = logging.FileHandler(os.path.join(log_dir, task_name + ".log"))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG)


def run(task_name, body, argv):
    """Run body(args, data) and map its outcome to Fuel's exit codes.

    Operator errors print cause and fix as one paragraph and exit 1; anything else is a bug:
    its traceback goes to the log and the summary names the log.
    """
    args = parse_args(task_name, argv)
    setup_logging(task_name, args.log_dir)
    log = logging.getLogger(task_name)
    log.info("start%s", " (dry run)" if args.dry_run else "")
    try:
        data = astute.load(args.astute)
        summary = body(args, data)
    except OperatorError as error:
        log.error("%s", error)
        sys.stdout.write("%s failed: %s\n" % (task_name, error))
        return EXIT_OPERATOR_ERROR
    except Exception:  # noqa: BLE001 - a bug: keep the traceback in the log
        log.exception("unexpected failure")
        sys.stdout.write("%s failed unexpectedly; see %s\n"
                         % (task_name, os.path.join(args.log_dir, task_name + ".log")))
        return EXIT_BUG
    log.info("done: %s", summary)
    sys.stdout.write("%s: %s\n" % (task_name, summary))
    return 0
