"""`python -m lab COMMAND`: bring a lab up, deploy the plugin, verify, run commands, take it down.

    up      [--fixtures DIR] [--prefix P] [--xenserver 7.0,7.1] [--sr ext,nfs] [--python 2.7|3]
    deploy  [--prefix P] [--rpm RPM]     sync the newest build to the nodes, run the plugin's tasks as Fuel would
    verify  [--prefix P] [--json PATH]   measure what the plugin set up; prints a table (and writes JSON)
    exec    [--prefix P] HOST -- CMD...  run a command in a lab host (exit status passed on)
    status  [--prefix P]                 hosts, roles, addresses, processes
    down    [--prefix P]                 remove every namespace, link, mount and process of the lab
    demo    [same as up] [--json PATH]   up + deploy + verify + table, then always down

Errors are one line on stderr with a non-zero exit.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lab import delivery, fuellab, results, runtime, verify
from lab.deploy import TaskResult
from lab.environment import SR_TYPES, HostChoice, parse_versions
from lab.errors import LabError
from lab.host import HostCommandError
from lab.spec import DEFAULT_PREFIX


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        runtime.require_root()
        return int(args.func(args) or 0)
    except LabError as error:
        print(f"lab: {error}", file=sys.stderr)
        return 2
    except HostCommandError as error:
        print(f"lab: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lab: interrupted", file=sys.stderr)
        return 130


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m lab", description="The fuel-plugin-xenserver lab.",
                                  epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = top.add_subparsers(dest="command", required=True)

    def command(name: str, func, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--prefix", default=DEFAULT_PREFIX, help=f"the lab's name prefix (default {DEFAULT_PREFIX})")
        sub.set_defaults(func=func)
        return sub

    for name, func, text in (("up", cmd_up, "bring a lab up"),
                             ("demo", cmd_demo, "up + deploy + verify, print a table, always take it down")):
        sub = command(name, func, text)
        sub.add_argument("--fixtures", type=Path, help="directory of per-node astute.yaml files "
                                                       "(default: the generated 2-compute environment)")
        sub.add_argument("--xenserver", default="7.0,7.1",
                         help="XenServer version per host, cycled (6.5, 7.0, 7.1; default 7.0,7.1)")
        sub.add_argument("--sr", default="ext", help=f"default SR type per host, cycled ({', '.join(SR_TYPES)})")
        sub.add_argument("--no-hotfixes", action="store_true", help="hosts lack the hotfixes their version needs")
        sub.add_argument("--python", choices=("2.7", "3"), default="2.7", help="the nodes' python (default 2.7)")
        sub.add_argument("--rpm", type=Path, help="plugin RPM (default: the newest in output/)")
    sub.add_argument("--json", type=Path, help="also write the checks and task outcomes as JSON (Test Report)")
    sub = command("deploy", cmd_deploy, "run the plugin's deployment tasks on the lab's nodes")
    sub.add_argument("--rpm", type=Path, help="deploy this build (default: the newest in output/, which must "
                                              "be newer than the sources; its scripts replace the nodes' copy)")
    sub = command("verify", cmd_verify, "run the lab's checks and print what each measured")
    sub.add_argument("--json", type=Path, help="also write the checks as JSON (Test Report)")
    sub = command("exec", cmd_exec, "run a command in a lab host")
    sub.add_argument("host")
    sub.add_argument("cmd", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    command("status", cmd_status, "show the lab's hosts and processes")
    command("down", cmd_down, "take the lab down")
    return top


def host_choices(args: argparse.Namespace) -> list[HostChoice]:
    versions = parse_versions(args.xenserver)
    srs = [s.strip() for s in args.sr.split(",") if s.strip()]
    for sr in srs:
        if sr not in SR_TYPES:
            raise LabError(f"unknown SR type {sr!r} (choose from {', '.join(SR_TYPES)})")
    count = max(len(versions), len(srs))
    return [HostChoice(version=versions[i % len(versions)], sr_type=srs[i % len(srs)],
                       hotfixes=() if args.no_hotfixes else None) for i in range(count)]


def cmd_up(args: argparse.Namespace) -> int:
    started = time.monotonic()
    lab, fuel = fuellab.up(args.prefix, args.fixtures, host_choices(args), args.python, args.rpm)
    print(f"lab {lab.prefix} up in {time.monotonic() - started:.1f}s ({fuel.source})")
    print(describe(fuel))
    return 0


def describe(fuel: fuellab.FuelLab) -> str:
    lines = []
    for node in fuel.nodes:
        ips = ", ".join(f"{dev} {ip}" for dev, ip in sorted(node.ips.items()))
        extra = f"; HIMN NIC {node.himn_nic} on {node.dom0}" if node.dom0 else ""
        lines.append(f"  {node.name:<8} {','.join(node.roles):<40} {ips}{extra}")
    for host in fuel.xenhosts:
        lines.append(f"  {host['name']:<8} XenServer {host['version']} (hotfixes: {', '.join(host['hotfixes']) or '-'}"
                     f"; SR {host['sr_type']}) running {host['compute_node']}")
    return "\n".join(lines)


def _progress(result: TaskResult) -> None:
    print(f"  {result.node}: {result.task} {result.status} ({result.seconds:.1f}s)", flush=True)


def cmd_deploy(args: argparse.Namespace) -> int:
    lab, fuel = fuellab.attach(args.prefix)
    report = fuellab.deploy_plugin(lab, fuel, _progress, rpm=args.rpm or delivery.find_rpm())
    print(report.summary())
    return 0 if report.ok else 1


def cmd_verify(args: argparse.Namespace) -> int:
    lab, fuel = fuellab.attach(args.prefix)
    checks = verify.run_all(lab, fuel)
    print(verify.table(checks))
    if args.json:
        results.write(args.json, fuel, describe(fuel), checks)
    return 0 if all(c.ok for c in checks) else 1


def cmd_exec(args: argparse.Namespace) -> int:
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        raise LabError("exec needs a command: python -m lab exec HOST -- CMD [ARGS...]")
    lab = runtime.attach(args.prefix)
    done = lab.host(args.host).run(cmd, check=False, timeout=3600)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    return done.returncode


def cmd_status(args: argparse.Namespace) -> int:
    info = runtime.status(args.prefix)
    print(f"lab {args.prefix}: {info['status']}")
    if info["status"] != "up":
        return 0 if info["status"] == "down" else 1
    try:
        print(describe(fuellab.FuelLab.load(args.prefix, runtime.state_dir_for(args.prefix))))
    except LabError:
        pass
    for host in info["hosts"]:
        procs = ", ".join(f"{p['pid']} {_program(p['argv'])}{'' if p['alive'] else ' (dead)'}"
                          for p in host["processes"])
        print(f"  {host['name']:<8} netns {host['netns']}: {'ok' if host['holder_alive'] else 'BROKEN'}"
              f"{'; processes ' + procs if procs else ''}")
    return 0


def _program(argv: list[str]) -> str:
    """A process's name for people: `python -m lab.xenserver.server` -> lab.xenserver.server."""
    name = Path(argv[0]).name
    if name.startswith("python") and len(argv) > 1:
        rest = argv[2] if argv[1] == "-m" and len(argv) > 2 else Path(argv[1]).name
        return rest
    return name


def cmd_down(args: argparse.Namespace) -> int:
    runtime.down(args.prefix)
    print(f"lab {args.prefix} down")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Always down at the end; exit 0 only when every task and every check passed."""
    started = time.monotonic()
    choices = host_choices(args)
    lab, fuel = fuellab.up(args.prefix, args.fixtures, choices, args.python, args.rpm)
    try:
        print(f"== lab {lab.prefix} up in {time.monotonic() - started:.1f}s ({fuel.source})")
        print(describe(fuel))
        print("== network checks before the plugin is deployed (expected to fail)")
        before = verify.run_all(lab, fuel, network_only=True)
        print(f"{sum(c.ok for c in before)}/{len(before)} pass before the deployment")
        print("== deploying the plugin as Fuel would")
        report = fuellab.deploy_plugin(lab, fuel, _progress)
        print(report.summary())
        print("== verifying")
        checks = verify.run_all(lab, fuel)
        print(verify.table(checks, before))
        if args.json:
            results.write(args.json, fuel, describe(fuel), checks, report, args.python)
    finally:
        runtime.down(lab.prefix, lab.state_dir)
        print(f"== lab {lab.prefix} down; demo took {time.monotonic() - started:.1f}s")
    return 0 if report.ok and all(c.ok for c in checks) else 1
