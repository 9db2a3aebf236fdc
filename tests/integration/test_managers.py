"""The skeleton app under every runtime (Ryu; os-ken 4, native and eventlet hubs)
against a real netdev OVS bridge."""
import pytest

from dmm_ryu.testbed.controller import RUNTIMES, free_port, running_manager
from dmm_ryu.testbed.ovs import dump_flows, netdev_bridge, unique_name, vsctl, wait_for

pytestmark = pytest.mark.integration

DOMAIN = """
maars:
  maar1:
    dpid: 0x{dpid:x}
    address: "2001:db8:ffff::1"
    pool: "2001:db8:1::/48"
    access_ports: [1]
    transport_ports: [2]
cmd: {{address: "2001:db8:ffff::100", maar: maar1, port: 3}}
"""


@pytest.mark.parametrize("runtime", RUNTIMES, ids=str)
def test_maar_joins_and_gets_table_miss(runtime, tmp_path):
    dpid = 0xD3300 + RUNTIMES.index(runtime)
    domain = tmp_path / "dmm.yaml"
    domain.write_text(DOMAIN.format(dpid=dpid))
    port = free_port()
    with running_manager(runtime, domain, tmp_path, port) as log, \
            netdev_bridge(unique_name("dmmt"), dpid, f"tcp:127.0.0.1:{port}") as br:
        joined = wait_for(lambda: f"MAAR maar1 (dpid {dpid:#x}) joined" in log.read_text())
        assert joined, log.read_text()
        assert wait_for(lambda: vsctl("get", "controller", br, "is_connected") == "true")
        flows = wait_for(lambda: "priority=0 actions=drop" in dump_flows(br))
        assert flows, dump_flows(br)
    text = log.read_text()
    assert "Traceback" not in text, text
    assert f"framework {runtime.framework}" in text
    assert f"{runtime.hub or 'eventlet'} hub)" in text


@pytest.mark.parametrize("runtime", RUNTIMES, ids=str)
def test_bad_domain_file_is_reported_not_crashed_silently(runtime, tmp_path):
    domain = tmp_path / "dmm.yaml"
    domain.write_text("maars: {}\ncmd: {}\n")
    with running_manager(runtime, domain, tmp_path, free_port()) as log:
        assert wait_for(lambda: "invalid domain file" in log.read_text(), timeout=15)
    assert "maars: at least one MAAR is required" in log.read_text()
