"""Random walks through the runtime, not only the core: MNs attach, move
(their port goes down, an RS on another MAAR), flap and leave on fake
switches whose tables carry every packet.  After each step settles, the
CMD's binding says where each MN is, every session prefix reaches the MN
through the installed rules, no prefix has two owners, and each switch's
incrementally built table equals a rebuild from state."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dmm_ryu.of.labels import transport_mac
from dmm_ryu.testbed.fakedomain import FakeDomain, domain_text
from dmm_ryu.testbed.fakeswitch import FakeOFTable
from dmm_ryu.testbed.ofdecode import output_messages
from tests.unit.test_controller import downlink, rs

MACS = ["0a:00:00:00:00:01", "0a:00:00:00:00:02"]
steps = st.lists(st.tuples(st.integers(0, 1),                      # which MN
                           st.one_of(st.integers(1, 3), st.none())),  # where to (None: leave)
                 min_size=1, max_size=12)


def mn_id(mac: str) -> str:
    return mac.replace(":", "") + "@dmm.example"


def check(dom: FakeDomain, where: dict) -> None:
    owners = {}
    for mac, maar in where.items():
        binding = dom.dmm.cmd_node.binding(mn_id(mac))
        if maar is None:
            assert binding is None, f"{mac} left but the CMD keeps {binding}"
            continue
        assert binding is not None and dom.dmm.node_name(binding.serving) == f"maar{maar}"
        for prefix, anchor in binding.anchors:
            assert prefix not in owners, f"{prefix} held twice"
            owners[prefix] = mac
            i = int(dom.dmm.node_name(anchor)[-1])
            packet = {**downlink(str(prefix.network_address + 1)), "eth_dst": transport_mac(i)}
            got = [(d.node, d.packet["eth_dst"]) for d in dom.forward(f"maar{i}", 1, packet)]
            assert got == [(f"maar{maar}", mac)], f"downlink to {prefix}: {got}"
    for dpid, table in dom.tables.items():
        fresh = FakeOFTable()
        for out in dom.dmm.switch_connected(dpid):
            fresh.apply(output_messages(out))
        assert fresh.snapshot() == table.snapshot(), f"switch {dpid}: incremental != rebuild"


@pytest.mark.parametrize("mode", ["relay", "locator", "proxy"])
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(moves=steps)
def test_random_walks_through_the_runtime(mode, moves):
    dom = FakeDomain(domain_text(mode))
    where = {}
    for who, maar in moves:
        mac = MACS[who]
        port = 2 + who
        old = where.get(mac)
        if old is not None:
            dom.run(dom.dmm.port_down(old, port, dom.now))
        if maar is not None:
            dom.inject(f"maar{maar}", port, rs(mac))
        elif old is not None:
            dom.advance(3)  # past the detach guard: the MN left the domain
        where[mac] = maar
        dom.advance(0.1)
        check(dom, where)
