"""The lab runtime with real traffic: a demo-shaped lab (2 Dom0 + 2 compute VMs + controller + storage)."""
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from lab import namespaces, nodeos, runtime
from lab.errors import LabError
from lab.paths import NODE_VENV, REPO, site_packages, tooling_python
from lab.secrets import Sighting, find_secret
from lab.spec import LabSpec

from .conftest import leftovers
from .specs import PASSWORD, demo_like, unique_prefix, xenserver_pair

pytestmark = pytest.mark.lab

PREFIX = unique_prefix("a")
SSH_OPTS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5",
            "-o", "LogLevel=ERROR"]
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
XENAPI_SERVER = (REPO / "lab" / "xenserver" / "server.py").exists()


def lab_pids(lab: runtime.Lab) -> list[int]:
    """Every process in the lab's namespaces, seen from outside."""
    nets = {namespaces.ns_inode(namespaces.netns_path(n)) for n in namespaces.list_netns(lab.prefix)}
    mnts = {namespaces.ns_inode(f"/proc/{h.holder_pid}/ns/mnt") for h in lab.hosts.values()}
    return namespaces.pids_in(nets - {None}, mnts - {None})


@pytest.fixture(scope="module")
def demo():
    if os.geteuid() != 0:
        pytest.skip("lab tests need root")
    started = time.monotonic()
    lab = runtime.up(demo_like(PREFIX))
    lab.up_seconds = time.monotonic() - started
    yield lab
    pids = lab_pids(lab)
    runtime.down(PREFIX)
    assert leftovers(PREFIX, lab.state_dir) == []
    assert [pid for pid in pids if namespaces.alive(pid)] == []
    shutil.rmtree(lab.state_dir)


@pytest.fixture(scope="module")
def himn(demo):
    """Both compute VMs lease their HIMN address from their own Dom0: one with dhclient, one with ifup
    and an interfaces.d stanza, as the plugin's tasks do."""
    demo.host("compute1").run(["dhclient", "-1", "eth1"], timeout=40)
    compute2 = demo.host("compute2")
    compute2.write_file("/etc/network/interfaces.d/ifcfg-eth1", "auto eth1\niface eth1 inet dhcp\n")
    compute2.run(["ifup", "eth1"], timeout=40)
    return demo


def addresses(host, dev: str) -> list[ipaddress.IPv4Interface]:
    data = json.loads(host.run(["ip", "-j", "-4", "addr", "show", "dev", dev]).stdout)
    return [ipaddress.IPv4Interface(f"{a['local']}/{a['prefixlen']}") for link in data for a in link["addr_info"]]


def askpass_ssh(host, password: str, command: list[str]):
    """ssh from `host` to its Dom0 with password authentication; the password goes through SSH_ASKPASS
    reading a root-only file, never through an argument."""
    host.write_file("/root/.lab-pw", password + "\n", mode=0o600)
    host.write_file("/root/askpass", "#!/bin/sh\ncat /root/.lab-pw\n", mode=0o700)
    env = {"SSH_ASKPASS": "/root/askpass", "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}
    argv = ["ssh", *SSH_OPTS, "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password",
            "-o", "NumberOfPasswordPrompts=1", "root@169.254.0.1", *command]
    try:
        return host.run(argv, env=env, check=False, timeout=30, input="")
    finally:
        host.run(["rm", "-f", "/root/.lab-pw"])


def test_demo_shaped_lab_comes_up_in_under_30_seconds(demo):
    assert demo.up_seconds < 30, f"up took {demo.up_seconds:.1f}s"
    info = runtime.status(PREFIX)
    assert info["status"] == "up"
    assert sorted(info["namespaces"]) == sorted(
        [f"{PREFIX}-{h}" for h in ("sw", "xs1", "xs2", "compute1", "compute2", "controller", "storage")])
    assert all(h["holder_alive"] for h in info["hosts"])


def test_nics_carry_their_names_and_macs(demo):
    links = json.loads(demo.host("compute1").run(["ip", "-j", "link"]).stdout)
    assert {(link["ifname"], link.get("address")) for link in links} >= {
        ("eth0", "02:7a:01:15:00:01"), ("eth1", "02:7a:01:15:01:01")}
    root_links = os.listdir("/sys/class/net")
    assert not [name for name in root_links if name.startswith(PREFIX)]


def test_compute_vm_leases_a_himn_address_and_reaches_its_own_dom0(himn):
    for index in (1, 2):
        compute = himn.host(f"compute{index}")
        (address,) = addresses(compute, "eth1")
        assert address.network == ipaddress.IPv4Network("169.254.0.0/16"), address
        lease = compute.sh("cat /var/lib/dhcp/dhclient*.leases").stdout  # dhclient's or ifup's (per NIC)
        assert "option routers 169.254.0.1;" in lease
        assert "option subnet-mask 255.255.0.0;" in lease
        compute.run(["ping", "-c", "1", "-W", "2", "169.254.0.1"])
        # the answer came from this VM's own Dom0: its HIMN port's MAC, not the other host's
        neighbours = json.loads(compute.run(["ip", "-j", "neigh", "show", "169.254.0.1"]).stdout)
        dom0_mac = himn.spec.host(f"xs{index}").himn_nic().mac
        assert [n["lladdr"] for n in neighbours] == [dom0_mac]


def test_ssh_to_dom0_with_password_and_with_key(himn):
    compute = himn.host("compute1")
    done = askpass_ssh(compute, PASSWORD, ["hostname"])
    assert (done.returncode, done.stdout.strip()) == (0, "xs1"), done.stderr
    wrong = askpass_ssh(compute, "not-the-password", ["hostname"])
    assert wrong.returncode == 255 and "Permission denied" in wrong.stderr
    compute.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "/root/.ssh/id_ed25519"])
    himn.host("xs1").write_file("/root/.ssh/authorized_keys", compute.read_file("/root/.ssh/id_ed25519.pub"), 0o600)
    done = compute.run(["ssh", *SSH_OPTS, "-o", "BatchMode=yes", "root@169.254.0.1", "command -v xe; hostname"])
    assert done.stdout.split() == ["/usr/bin/xe", "xs1"]
    compute.write_file("/tmp/payload", "plugin bytes\n")
    compute.run(["scp", *SSH_OPTS, "-o", "BatchMode=yes", "/tmp/payload", "root@169.254.0.1:/tmp/payload"])
    assert himn.host("xs1").read_file("/tmp/payload") == "plugin bytes\n"


@pytest.mark.skipif(not XENAPI_SERVER, reason="the XenAPI server (lab/xenserver/server.py) is not there yet")
def test_xenapi_answers_the_real_sdk_from_the_compute_vm(himn):
    script = ("import sys, XenAPI\n"
              "session = XenAPI.Session('http://169.254.0.1')\n"
              "try:\n"
              "    session.xenapi.login_with_password('root', sys.stdin.read().strip(), '1.0', 'lab-test')\n"
              "except XenAPI.Failure as failure:\n"
              "    print(failure.details[0]); sys.exit(3)\n"
              "host = session.xenapi.host.get_all()[0]\n"
              "print(session.xenapi.host.get_record(host)['software_version']['product_version'])\n")
    compute = himn.host("compute1")
    assert compute.run(["python", "-c", script], input=PASSWORD).stdout.strip() == "7.0.0"
    wrong = compute.run(["python", "-c", script], input="wrong", check=False)
    assert (wrong.returncode, wrong.stdout.strip()) == (3, "SESSION_AUTHENTICATION_FAILED")
    uuid = askpass_ssh(compute, PASSWORD, ["xe", "host-list", "--minimal"]).stdout.strip()
    assert UUID_RE.match(uuid), uuid


def test_writes_in_a_host_never_reach_the_machine(demo):
    paths = ["/etc/lab-rt-probe", "/usr/local/bin/lab-rt-probe", "/usr/bin/lab-rt-probe", "/var/lib/lab-rt-probe",
             "/root/lab-rt-probe", "/opt/lab-rt-probe", "/home/lab-rt-probe",
             *[f"{p}/lab_rt_probe.py" for p in site_packages(NODE_VENV)]]
    before = {"hostname": socket.gethostname(), "etc_hosts": open("/etc/hosts").read(),
              "ip_forward": open("/proc/sys/net/ipv4/ip_forward").read(),
              "iptables": subprocess.run(["iptables-save"], capture_output=True, text=True).stdout.count("\n-A ")}
    compute = demo.host("compute1")
    for path in paths:
        compute.run(["sh", "-c", 'echo probe > "$1"', "sh", path])
        assert compute.read_file(path) == "probe\n"
        assert not os.path.exists(path), f"{path} reached the machine"
        assert not demo.host("controller").exists(path), f"{path} reached another host"
    repo_write = compute.run(["touch", str(REPO / "lab-rt-probe")], check=False)
    assert repo_write.returncode != 0 and "Read-only file system" in repo_write.stderr
    compute.run(["sh", "-c", "echo '10.9.9.9 probe' >> /etc/hosts; sysctl -qw net.ipv4.ip_forward=1;"
                             "iptables -A INPUT -s 10.9.9.9 -j DROP; hostname probe-host"])
    assert compute.run(["sysctl", "-w", "vm.swappiness=11"], check=False).returncode != 0
    after = {"hostname": socket.gethostname(), "etc_hosts": open("/etc/hosts").read(),
             "ip_forward": open("/proc/sys/net/ipv4/ip_forward").read(),
             "iptables": subprocess.run(["iptables-save"], capture_output=True, text=True).stdout.count("\n-A ")}
    assert after == before
    assert compute.read_file("/proc/sys/net/ipv4/ip_forward") == "1\n"


def test_commands_in_hosts_cannot_set_the_clock_load_modules_or_reboot(demo):
    for name in ("compute1", "xs1"):
        status = dict(line.split(":\t", 1) for line in demo.host(name).read_file("/proc/self/status").splitlines())
        bounding = int(status["CapBnd"], 16)
        for cap in (16, 22, 25):  # CAP_SYS_MODULE, CAP_SYS_BOOT, CAP_SYS_TIME
            assert not bounding & (1 << cap), f"{name} keeps capability {cap}"
        assert bounding & (1 << 12)  # CAP_NET_ADMIN stays: hosts configure their own network


def test_nodes_have_the_ubuntu_tools_the_tasks_use(demo):
    controller, compute = demo.host("controller"), demo.host("compute1")
    version = "import sys, yaml, six; print('%d.%d' % sys.version_info[:2])"
    assert controller.run(["python", "-c", version]).stdout.strip() == "2.7"
    assert demo.host("storage").run(["python", "-c", version]).stdout.strip().startswith("3.")
    # ifupdown with interfaces.d
    controller.write_file("/etc/network/interfaces.d/ifcfg-eth0",
                          "auto eth0\niface eth0 inet static\n    address 192.168.77.11/24\n")
    controller.run(["ifup", "eth0"])
    assert ipaddress.IPv4Interface("192.168.77.11/24") in addresses(controller, "eth0")
    controller.run(["ifdown", "eth0"])
    assert addresses(controller, "eth0") == []
    # crontab, iptables persistence, sysctl
    controller.run(["crontab", "-"], input="*/5 * * * * /usr/local/bin/clean\n")
    assert controller.run(["crontab", "-l"]).stdout == "*/5 * * * * /usr/local/bin/clean\n"
    controller.run(["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "eth0", "-j", "MASQUERADE"])
    controller.run(["service", "iptables-persistent", "save"])
    assert "-A POSTROUTING -o eth0 -j MASQUERADE" in controller.read_file("/etc/iptables/rules.v4")
    assert controller.run(["sysctl", "-n", "net.ipv4.ip_forward"]).stdout.strip() == "0"
    # service / upstart calls are recorded
    controller.run(["service", "nova-compute", "restart"])
    controller.run(["restart", "neutron-plugin-openvswitch-agent"])
    controller.run(["stop", "ceilometer-polling"])
    assert controller.run(["status", "ceilometer-polling"], check=False).returncode != 0
    calls = [call[1:] for call in nodeos.service_calls(controller)]
    assert calls == [("nova-compute", "restart", "service"),
                     ("neutron-plugin-openvswitch-agent", "restart", "restart"),
                     ("ceilometer-polling", "stop", "stop"), ("ceilometer-polling", "status", "status")]
    # system users and xenstore
    assert controller.run(["id", "-un", "nova"]).stdout.strip() == "nova"
    controller.run(["getent", "passwd", "neutron", "ceilometer"])
    assert compute.run(["xenstore-read", "vm-data/himn_mac"]).stdout == "02:7a:01:15:01:01\n"
    domid = compute.run(["xenstore-read", "domid"]).stdout.strip()
    assert compute.run(["xenstore-read", f"/local/domain/{domid}/vm-data/himn_mac", "name"]).stdout.split() == [
        "02:7a:01:15:01:01", "compute1"]
    missing = controller.run(["xenstore-read", "vm-data/himn_mac"], check=False)
    assert missing.returncode == 1 and "couldn't read path" in missing.stderr


def test_dom0_looks_like_xenserver(demo):
    dom0 = demo.host("xs2")
    assert dom0.run(["hostname"]).stdout.strip() == "xs2"
    for path in ("/etc/xapi.d/plugins", "/etc/udev/rules.d", "/etc/udev/scripts", "/etc/modprobe.d"):
        dom0.run(["test", "-d", path])
    assert "PRODUCT_VERSION='7.0.0'" in dom0.read_file("/etc/xensource-inventory")
    dom0.run(["iptables", "-A", "INPUT", "-p", "tcp", "--dport", "5900", "-j", "ACCEPT"])
    dom0.run(["service", "iptables", "save"])
    assert "--dport 5900 -j ACCEPT" in dom0.read_file("/etc/sysconfig/iptables")
    assert dom0.run(["sh", "-c", "command -v xe; command -v xe-install-supplemental-pack"]).stdout.split() == [
        "/usr/bin/xe", "/usr/bin/xe-install-supplemental-pack"]
    dom0.run(["crontab", "-"], input="0 * * * * /etc/xapi.d/rotate\n")
    (himn,) = addresses(dom0, "xenapi")
    assert str(himn) == "169.254.0.1/16"
    port = json.loads(dom0.run(["ip", "-j", "link", "show", "eth9"]).stdout)[0]
    assert port["master"] == "xenapi"
    shadow = dom0.run(["getent", "shadow", "root"]).stdout
    assert shadow.split(":")[1].startswith("$"), "root has a password in Dom0's own /etc/shadow"
    assert PASSWORD not in shadow


RECEIVE_TAGGED = """
import socket, struct, sys
SOL_PACKET, PACKET_AUXDATA = 263, 8
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
sock.bind(("eth0", 0))
sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
sock.settimeout(1)
print("listening", flush=True)
for _ in range(200):
    try:
        data, ancdata, _, _ = sock.recvmsg(2048, socket.CMSG_SPACE(20))
    except socket.timeout:
        continue
    if b"lab-vlan-probe" in data:
        for level, kind, aux in ancdata:
            if level == SOL_PACKET and kind == PACKET_AUXDATA:
                status, _, _, _, _, tci, tpid = struct.unpack("IIIHHHH", aux[:20])
                print("vlan", tci & 0xfff, hex(tpid))
        sys.exit(0)
sys.exit(1)
"""
SEND_TAGGED = """
import socket, struct, time
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind(("eth0", 0))
source = open("/sys/class/net/eth0/address").read().strip()
frame = (b"\\xff" * 6 + bytes.fromhex(source.replace(":", "")) + struct.pack("!HHH", 0x8100, 102, 0x88b5)
         + b"lab-vlan-probe".ljust(46, b"."))
for _ in range(20):
    sock.send(frame)
    time.sleep(0.2)
"""


def test_vlan_tagged_frames_pass_the_switch(demo):
    """The kernel here may lack 802.1q interfaces, so raw frames prove the switch passes tags through."""
    for name in ("controller", "compute2"):
        demo.host(name).run(["ip", "link", "set", "eth0", "up"])
    receiver = subprocess.Popen([*demo.host("compute2").enter_argv(), str(tooling_python()), "-c", RECEIVE_TAGGED],
                                stdout=subprocess.PIPE, text=True, env=demo.host("compute2").environment())
    try:
        assert receiver.stdout.readline().strip() == "listening"
        sender = subprocess.Popen([*demo.host("controller").enter_argv(), str(tooling_python()), "-c", SEND_TAGGED],
                                  env=demo.host("controller").environment())
        out, _ = receiver.communicate(timeout=10)
        sender.kill()
        sender.wait()
    finally:
        receiver.kill()
    assert receiver.returncode == 0
    assert out.split() == ["vlan", "102", "0x8100"]


def test_spawned_processes_are_tracked_and_listed(demo):
    pid = demo.host("storage").spawn(["sleep", "1000"])
    procs = [p for h in runtime.status(PREFIX)["hosts"] if h["name"] == "storage" for p in h["processes"]]
    assert {"pid": pid, "argv": ["sleep", "1000"], "alive": True} in procs
    assert pid in lab_pids(demo)


def test_files_written_in_one_go_keep_their_modes(demo):
    storage = demo.host("storage")
    storage.write_files({"/etc/lab-rt/a.conf": "a\n", "/usr/local/bin/lab-rt-tool": ("#!/bin/sh\necho tool\n", 0o755),
                         "/root/.lab-rt-secret": (b"s\n", 0o600)})
    listing = storage.run(["stat", "-c", "%a %U %n", "/etc/lab-rt/a.conf", "/usr/local/bin/lab-rt-tool",
                           "/root/.lab-rt-secret"]).stdout.splitlines()
    assert listing == ["644 root /etc/lab-rt/a.conf", "755 root /usr/local/bin/lab-rt-tool",
                       "600 root /root/.lab-rt-secret"]
    assert storage.run(["lab-rt-tool"]).stdout == "tool\n"


def test_stopping_dom0_sshd_makes_dom0_unreachable_by_ssh(himn):
    dom0, compute = himn.host("xs2"), himn.host("compute2")
    (sshd,) = [p["pid"] for h in runtime.status(PREFIX)["hosts"] if h["name"] == "xs2" for p in h["processes"]
               if p["argv"][0] == "/usr/sbin/sshd" and p["alive"]]
    assert sshd in [pid for pid, argv in dom0.processes() if "sshd" in argv[0]]  # it rewrites its argv
    with pytest.raises(ValueError, match="not a process of lab host xs2"):
        dom0.kill(os.getpid())
    dom0.kill(sshd)
    deadline = time.monotonic() + 5
    while namespaces.alive(sshd) and time.monotonic() < deadline:
        time.sleep(0.05)
    refused = compute.run(["ssh", *SSH_OPTS, "-o", "BatchMode=yes", "root@169.254.0.1", "true"], check=False)
    assert refused.returncode == 255 and "Connection refused" in refused.stderr
    dom0.spawn(["/usr/sbin/sshd", "-D", "-e"], dom0.log_dir / "sshd-again.log")


def test_attach_finds_the_running_lab(demo, capfd):
    again = runtime.attach(PREFIX)
    assert again.host("xs1").run(["hostname"]).stdout.strip() == "xs1"
    assert again.host("xs1").call(["sh", "-c", "hostname; exit 7"]) == 7
    assert capfd.readouterr().out == "xs1\n"
    with pytest.raises(LabError, match="no host 'nope'"):
        again.host("nope")


def test_up_with_the_same_prefix_is_refused(demo):
    with pytest.raises(LabError, match="already up"):
        runtime.up(demo_like(PREFIX))
    assert runtime.status(PREFIX)["status"] == "up"
    demo.host("xs1").run(["true"])


def test_the_password_is_nowhere_the_lab_can_see_until_a_test_leaks_it(himn):
    assert find_secret(himn, PASSWORD) == []
    compute = himn.host("compute1")
    compute.write_file("/tmp/leak", f"pw={PASSWORD}\n")
    compute.write_file("/etc/leak.conf", f"pw={PASSWORD}\n", mode=0o600)
    pid = compute.spawn(["sh", "-c", "sleep 1000", PASSWORD])
    sightings = find_secret(himn, PASSWORD)
    assert Sighting("file", "compute1", "/tmp/leak", True) in sightings
    assert Sighting("file", "compute1", "/etc/leak.conf", False) in sightings
    assert Sighting("argv", "compute1", f"pid {pid}", True) in sightings


def test_a_second_lab_runs_beside_the_first_and_goes_down_alone(himn):
    """Same host names and segment names, another prefix; its Dom0 hands out a non-HIMN range."""
    other = unique_prefix("b")
    lab = runtime.up(LabSpec(other, xenserver_pair(2, 1, ("192.168.250.10", "192.168.250.20", "255.255.255.0"))))
    try:
        compute = lab.host("compute1")
        compute.run(["dhclient", "-1", "eth1"], timeout=40)
        (address,) = addresses(compute, "eth1")
        assert address.network == ipaddress.IPv4Network("192.168.250.0/24")
        pids = lab_pids(lab)
    finally:
        runtime.down(other)
    assert leftovers(other, lab.state_dir) == []
    assert len(pids) >= 6 and not any(namespaces.alive(pid) for pid in pids)  # holders, daemons, dhclient
    shutil.rmtree(lab.state_dir)
    assert runtime.status(PREFIX)["status"] == "up"
    himn.host("compute1").run(["ping", "-c", "1", "-W", "2", "169.254.0.1"])
