"""Attachment from an MN's first data frame (issue 14), on the fake domain:
a radio roam sends no RS, DAD or link event from the MN, only its traffic
entering another MAAR.  The frame that triggers the registration must not
be lost, known MNs' frames must never be punted, and every punt is metered.
"""
from ipaddress import IPv6Address, IPv6Network

import pytest
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from dmm_ryu.of import compat
from dmm_ryu.testbed.fakedomain import FakeDomain, domain_text
from dmm_ryu.testbed.fakeswitch import CONTROLLER
from tests.unit.test_controller import CN, GW_MAC, MN_ID, MN_MAC, ra_prefixes, rs, uplink

OFP = compat.ofproto_v1_3
MODES = ("proxy", "relay", "locator", "pmipv6")


def data(src: str, payload: bytes = b"x" * 64, mac: str = MN_MAC) -> bytes:
    return bytes(Ether(src=mac, dst=GW_MAC) / IPv6(src=src, dst=CN, hlim=64)
                 / UDP(sport=4000, dport=5000) / payload)


def record_deliveries(dom: FakeDomain) -> list:
    """Every frame the fabric delivers to a station or an MN from now on
    (FakeDomain keeps only the punts of the frames it carries)."""
    seen, inner = [], dom.fabric.inject

    def inject(switch, in_port, packet, hops=8):
        out = inner(switch, in_port, packet, hops)
        if hops == 8:
            seen.extend(d for d in out if d.port != CONTROLLER)
        return out
    dom.fabric.inject = inject
    return seen


def first_address(dom: FakeDomain, maar: str) -> str:
    prefix = IPv6Network(ra_prefixes(dom.last_ra(maar)[2])[0][0])
    return str(prefix.network_address + 0x10)


def roamed(mode: str):
    """MN registered at maar1 by its RS, then only a data frame at maar2."""
    dom = FakeDomain(domain_text(mode))
    dom.inject("maar1", 2, rs())
    address = first_address(dom, "maar1")
    delivered = record_deliveries(dom)
    dom.inject("maar2", 2, data(address))
    dom.advance(0.01)  # REINJECT_DELAY
    return dom, address, delivered


def serving_maar(dom: FakeDomain, mode: str) -> IPv6Address:
    """Where the domain's binding says the MN is: the CMD's, or in pmipv6
    mode (RFC 5213, no CMD) the Proxy-CoA of the LMA's (maar1) BCE."""
    if mode == "pmipv6":
        return dom.dmm.nodes["maar1"].core.bces[MN_ID].serving
    return dom.dmm.cmd_node.binding(MN_ID).serving


@pytest.mark.parametrize("mode", MODES)
def test_roam_is_detected_from_a_data_frame_and_the_frame_is_delivered(mode):
    dom, address, delivered = roamed(mode)
    assert serving_maar(dom, mode) == IPv6Address("2001:db8:ffff::2")
    assert [(d.node, d.packet["ipv6_src"], d.packet["ipv6_dst"]) for d in delivered] == [
        ("router", address, CN)]
    assert dom.dmm.stats.messages()[("tx", "reinjected", None)] == 1
    assert not any(r.startswith("punt_") for r in dom.dmm.stats.errors())


@pytest.mark.parametrize("mode", MODES)
def test_the_mn_gets_the_ra_at_its_new_maar_unasked(mode):
    dom, _, _ = roamed(mode)
    maar, port, frame = dom.last_ra()
    assert (maar, port, Ether(frame).dst) == ("maar2", 2, MN_MAC)
    assert [p for p, _ in ra_prefixes(frame)][0].startswith("2001:db8:" + ("1" if mode == "pmipv6"
                                                                           else "2"))


def test_frames_punted_before_the_pba_are_all_reinjected():
    dom = FakeDomain(domain_text())
    dom.inject("maar1", 2, rs())
    address = first_address(dom, "maar1")
    delivered = record_deliveries(dom)
    dom.dropped_links.add(("cmd", "maar2"))  # the first PBA is lost: maar2 retransmits
    for i in range(3):
        dom.inject("maar2", 2, data(address, bytes([i]) * 64))
    assert delivered == []
    dom.dropped_links.clear()
    dom.advance(1.5)
    dom.advance(0.01)
    assert [(d.node, d.packet["ipv6_src"]) for d in delivered] == [("router", address)] * 3
    assert dom.dmm.stats.messages()[("tx", "reinjected", None)] == 3


def test_frames_of_a_known_mn_are_never_punted():
    dom, address, _ = roamed("proxy")
    for table_name, port, pkt in (("maar2", 2, uplink(address)),
                                  ("maar2", 2, {**uplink(address), "eth_dst": "33:33:00:00:00:16",
                                                "ipv6_dst": "ff02::16"})):
        assert all(d.port != CONTROLLER for d in dom.forward(table_name, port, pkt))


def test_an_unknown_source_is_punted_and_an_unauthorised_one_counted():
    dom = FakeDomain(domain_text(extra="mn_id_template: null\n"))
    stranger = "0a:00:00:00:00:99"
    punted = [d for d in dom.forward("maar1", 3, {**uplink("2001:db8:1::10"), "eth_src": stranger})]
    assert [d.port for d in punted] == [CONTROLLER]
    dom.inject("maar1", 3, data("2001:db8:1::10", mac=stranger))
    assert dom.dmm.stats.errors() == {"mn_unauthorised": 1}


@pytest.mark.parametrize("mode", MODES)
def test_every_access_punt_is_metered_at_the_domain_rate(mode):
    dom = FakeDomain(domain_text(mode, extra="punt_rate: 250\npunt_burst: 30\n"))
    for name in ("maar1", "maar2", "maar3"):
        table = dom.tables[dom.dpid(name)]
        access = {2, 3}
        assert {m: [(b.rate, b.burst_size) for b in bands] for m, bands in table.meters.items()} \
            == {2: [(250, 30)], 3: [(250, 30)]}
        punts = [f for f in table.flows if _outputs_to_controller(f)
                 and dict(f.match).get("in_port") in access]
        assert len(punts) == 8  # RS, NS gateway, DAD, unknown source, on each access port
        for flow in punts:
            assert _meters(flow) == [dict(flow.match)["in_port"]], str(flow)


def test_a_stranded_mn_recovers_from_its_next_data_frame():
    dom = FakeDomain(domain_text())
    dom.dropped_links.add(("maar1", "cmd"))
    address = "2001:db8:1::10"
    dom.inject("maar1", 2, data(address))
    for _ in range(60):  # every retransmission lost: maar1 gives up, the MN stays on its port
        dom.advance(1)
    assert dom.dmm.cmd_node.binding(MN_ID) is None
    assert dom.dmm.maar_nodes[0].core.counters["gave_up"] == 1
    dom.dropped_links.clear()
    delivered = record_deliveries(dom)
    dom.inject("maar1", 2, data(address))
    dom.advance(0.01)
    assert dom.dmm.cmd_node.binding(MN_ID).serving == IPv6Address("2001:db8:ffff::1")
    assert dom.last_ra("maar1")[1] == 2
    assert [d.node for d in delivered] == ["router"]


def test_link_down_withdraws_admission_so_the_return_is_seen():
    dom = FakeDomain(domain_text())
    dom.inject("maar1", 2, rs())
    address = first_address(dom, "maar1")
    assert all(d.port != CONTROLLER for d in dom.forward("maar1", 2, uplink(address)))
    dom.run(dom.dmm.port_down(1, 2, dom.now))
    assert [d.port for d in dom.forward("maar1", 2, uplink(address))] == [CONTROLLER]
    delivered = record_deliveries(dom)
    dom.inject("maar1", 2, data(address))  # back within the detach guard
    dom.advance(0.01)
    assert [d.node for d in delivered] == ["router"]
    dom.advance(5)
    assert dom.dmm.cmd_node.binding(MN_ID) is not None


def test_link_up_on_a_port_with_a_stale_admission_rearms_detection():
    dom = FakeDomain(domain_text())
    dom.inject("maar1", 2, rs())
    address = first_address(dom, "maar1")
    dom.run(dom.dmm.port_up(1, 2, dom.now))
    assert [d.port for d in dom.forward("maar1", 2, uplink(address))] == [CONTROLLER]
    assert dom.dmm.port_up(1, 3, dom.now) == []


def _outputs_to_controller(flow) -> bool:
    return any(getattr(a, "port", None) == OFP.OFPP_CONTROLLER
               for i in flow.instructions for a in getattr(i, "actions", ()))


def _meters(flow) -> list:
    return [i.meter_id for i in flow.instructions if type(i).__name__ == "OFPInstructionMeter"]


def test_a_live_flow_punted_while_the_mn_registers_loses_no_frame():
    """A roaming MN with a flow at full size keeps sending while relay or
    proxy registration runs (20-30 ms): its frames wait, none is dropped."""
    dom = FakeDomain(domain_text())
    dom.inject("maar1", 2, rs())
    address = first_address(dom, "maar1")
    delivered = record_deliveries(dom)
    dom.dropped_links.add(("cmd", "maar2"))  # registration pending until a retransmission
    for i in range(48):
        dom.inject("maar2", 2, data(address, bytes([i]) * 1400))
    dom.dropped_links.clear()
    dom.advance(1.5)
    dom.advance(0.01)
    assert len(delivered) == 48
    assert not [k for k in dom.dmm.stats.errors() if k.startswith("punt_buffer")]
