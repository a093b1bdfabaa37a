"""Primary controller with Ceilometer: network.services.* excluded, central agent restarted by Pacemaker."""

import pytest
import yaml
from runs import make_run

from xenserver_plugin import controller, files, system
from xenserver_plugin.errors import OperatorError

# Ceilometer Mitaka's default pipeline.yaml (sources part; the sinks as shipped).
PIPELINE = """---
sources:
    - name: meter_source
      interval: 600
      meters:
          - "*"
      sinks:
          - meter_sink
    - name: cpu_source
      interval: 600
      meters:
          - "cpu"
      sinks:
          - cpu_sink
    - name: lbaas_source
      interval: 600
      meters:
          - "network.services.lb.pool"
          - "network.services.lb.vip"
          - "network.incoming.bytes"
      sinks:
          - meter_sink
sinks:
    - name: meter_sink
      transformers:
      publishers:
          - notifier://
    - name: cpu_sink
      transformers:
          - name: "rate_of_change"
            parameters:
                target:
                    name: "cpu_util"
                    unit: "%"
                    type: "gauge"
                    scale: "100.0 / (10**9 * (resource_metadata.cpu_number or 1))"
      publishers:
          - notifier://
"""


def crm_mon_xml(central_role="Started", rabbit_role="Master", failed="false"):
    """`pcs status xml` as pcs 0.9 prints it (crm_mon -r -1 -X of Pacemaker 1.1)."""
    return """<?xml version="1.0"?>
<crm_mon version="1.1.12">
    <summary><nodes_configured number="3" expected_votes="unknown" /></summary>
    <resources>
        <clone id="clone_p_vrouter" multi_state="false" unique="false" managed="true" failed="false">
            <resource id="p_vrouter" resource_agent="ocf::fuel:ns_vrouter" role="Started" active="true"
                      orphaned="false" managed="true" failed="false" nodes_running_on="1">
                <node name="node-9.example.com" id="9" cached="false"/>
            </resource>
        </clone>
        <resource id="vip__management" resource_agent="ocf::fuel:ns_IPaddr2" role="Started" active="true"
                  orphaned="false" managed="true" failed="false" nodes_running_on="1" />
        <clone id="master_p_rabbitmq-server" multi_state="true" unique="false" managed="true" failed="false">
            <resource id="p_rabbitmq-server" resource_agent="ocf::fuel:rabbitmq-server" role="%s"
                      active="true" orphaned="false" managed="true" failed="false" nodes_running_on="1" />
        </clone>
        <resource id="p_ceilometer-agent-central" resource_agent="ocf::fuel:ceilometer-agent-central"
                  role="%s" active="true" orphaned="false" managed="true" failed="%s" nodes_running_on="1" />
    </resources>
</crm_mon>
""" % (rabbit_role, central_role, failed)


class Pcs(object):
    """pcs answering a sequence of cluster states, recording restarts."""

    def __init__(self, states):
        self.states = list(states)
        self.restarts = []

    def run(self, argv, input_text=None, check=True, env=None, timeout=None, new_session=False):
        if argv[:3] == ["pcs", "status", "xml"]:
            state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
            return system.CommandResult(argv, 0, state, "")
        if argv[:3] == ["pcs", "resource", "restart"]:
            self.restarts.append(argv[3])
            return system.CommandResult(argv, 0, "p_ceilometer-agent-central successfully restarted", "")
        raise AssertionError("unexpected command %s" % argv)


class Clock(object):
    def __init__(self):
        self.now = 0.0

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.fixture
def pipeline(tmpdir):
    path = tmpdir.join("pipeline.yaml")
    path.write(PIPELINE)
    path.chmod(0o640)
    return str(path)


def ensure(run, pipeline, pcs, clock=None):
    clock = clock or Clock()
    return controller.ensure_ceilometer(run, True, pipeline=pipeline, run_command=pcs.run, sleep=clock.sleep,
                                        clock=clock.time)


def test_excludes_network_services_and_restarts_the_central_agent(pipeline):
    pcs = Pcs([crm_mon_xml()])
    run = make_run()
    assert ensure(run, pipeline, pcs)
    sources = dict((source["name"], source["meters"]) for source in yaml.safe_load(files.read(pipeline))["sources"])
    assert sources["meter_source"] == ["*", "!network.services.*"]
    assert sources["cpu_source"] == ["cpu"]
    assert sources["lbaas_source"] == ["network.incoming.bytes"]
    assert yaml.safe_load(files.read(pipeline))["sinks"] == yaml.safe_load(PIPELINE)["sinks"]
    assert files.mode_of(pipeline) == 0o640
    assert pcs.restarts == ["p_ceilometer-agent-central"]


def test_second_run_changes_and_restarts_nothing(pipeline):
    ensure(make_run(), pipeline, Pcs([crm_mon_xml()]))
    pcs = Pcs([crm_mon_xml()])
    run = make_run()
    assert not ensure(run, pipeline, pcs)
    assert run.changes == [] and pcs.restarts == []


def test_waits_for_the_cluster_before_restarting(pipeline):
    pcs = Pcs([crm_mon_xml(central_role="Stopped"), crm_mon_xml(rabbit_role="Slave", central_role="Starting"),
               crm_mon_xml()])
    clock = Clock()
    ensure(make_run(), pipeline, pcs, clock)
    assert pcs.restarts == ["p_ceilometer-agent-central"] and clock.now == 10


def test_a_cluster_that_never_settles_is_an_operator_error(pipeline):
    pcs = Pcs([crm_mon_xml(central_role="Started", failed="true")])
    with pytest.raises(OperatorError) as raised:
        ensure(make_run(), pipeline, pcs)
    assert "p_ceilometer-agent-central" in str(raised.value) and pcs.restarts == []


def test_dry_run_changes_nothing(pipeline):
    pcs = Pcs([crm_mon_xml()])
    run = make_run(dry_run=True)
    ensure(run, pipeline, pcs)
    assert files.read(pipeline) == PIPELINE and pcs.restarts == [] and len(run.changes) == 2


def test_disabled_ceilometer_is_left_alone(pipeline):
    run = make_run()
    assert not controller.ensure_ceilometer(run, False, pipeline=pipeline, run_command=None)
    assert files.read(pipeline) == PIPELINE and run.changes == []


def test_the_result_is_a_pipeline_ceilometer_accepts():
    """Ceilometer refuses a source mixing included and excluded meters, or a wildcard with included ones."""
    for source in controller.exclude_meters(yaml.safe_load(PIPELINE))["sources"]:
        meters = source["meters"]
        included = [meter for meter in meters if meter[0] not in "!*"]
        assert not (included and [meter for meter in meters if meter.startswith("!")])
        assert not ("*" in meters and included)
