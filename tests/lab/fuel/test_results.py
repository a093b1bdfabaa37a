"""The lab's JSON results: what the Test Report reads as evidence."""
import json

from lab import results
from lab.deploy import Report, TaskResult
from lab.fuellab import FuelLab, NodeInfo
from lab.verify import Check


def sample_lab() -> FuelLab:
    nodes = [NodeInfo("node-3", "3", ["compute"], {"br-mgmt": "192.168.0.3/24"}, "eth3", "xs-3"),
             NodeInfo("node-1", "1", ["primary-controller"], {"br-mgmt": "192.168.0.2/24"})]
    xenhosts = [{"name": "xs-3", "version": "7.1.0", "hotfixes": [], "sr_type": "ext", "compute_node": "node-3"}]
    return FuelLab("t", "default environment", "plugin.rpm", nodes, xenhosts)


def test_checks_and_tasks_become_evidence(tmp_path):
    report = Report([TaskResult("node-3", "xenserver-compute-pre-test", "deploy", "ok", 9.5, 0),
                     TaskResult("node-1", "xenserver-primary-controller-post-deployment", "post", "failed", 2.0, 1),
                     TaskResult("node-1", "netconfig", "deploy", "skipped")])
    checks = [Check("dom0 reaches storage", "xs-3", True, "HTTP 200 from 192.168.1.2 seen as 192.168.1.3")]
    path = tmp_path / "lab.json"
    results.write(path, sample_lab(), "topology text", checks, report, "2.7")
    data = json.loads(path.read_text())
    assert data["checks"][0] == {"name": "dom0 reaches storage", "host": "xs-3", "ok": True,
                                 "measured": "HTTP 200 from 192.168.1.2 seen as 192.168.1.3"}
    tasks = {c["name"]: c for c in data["checks"][1:]}
    assert set(tasks) == {"task:xenserver-compute-pre-test", "task:xenserver-primary-controller-post-deployment"}
    assert tasks["task:xenserver-compute-pre-test"]["ok"] is True
    assert tasks["task:xenserver-primary-controller-post-deployment"]["ok"] is False
    dom0, *nodes = data["environment"]["hosts"]
    assert (dom0["kind"], dom0["xenserver"]) == ("dom0", "7.1.0")
    assert all(node["python"].startswith("2.7.") for node in nodes)


def test_verify_alone_writes_checks_without_tasks(tmp_path):
    path = tmp_path / "lab.json"
    results.write(path, sample_lab(), "t", [Check("himn", "node-3", False, "no answer")])
    data = json.loads(path.read_text())
    assert [c["name"] for c in data["checks"]] == ["himn"]
    assert "python" not in data["environment"]["hosts"][1]
