"""The runtime between OpenFlow and the core, driven through fake switches:
signalling crosses the (fake) wire as real packets, rules land in flow
tables, RAs leave access ports, bad input is dropped and counted."""
from ipaddress import IPv6Address

import pytest
from scapy.layers.inet6 import (ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RS, ICMPv6NDOptPrefixInfo,
                                IPv6)
from scapy.layers.l2 import Ether

from dmm_ryu.wire.inet import ethernet
from dmm_ryu.wire.mh import MobilityOptions, ProxyBindingUpdate, decode_packet, encode_packet
from dmm_ryu.of.labels import transport_mac
from tests.unit.fakedomain import ROUTER_MAC, FakeDomain, domain_text

MN_MAC = "0a:00:00:00:00:01"
MN_ID = "0a0000000001@dmm.example"
GW_MAC = "02:00:00:00:00:01"
CN = "2001:db8:c::11"


def rs(mac: str = MN_MAC) -> bytes:
    return bytes(Ether(src=mac, dst="33:33:00:00:00:02") /
                 IPv6(src="fe80::800:ff:fe00:1", dst="ff02::2", hlim=255) / ICMPv6ND_RS())


def ra_prefixes(frame: bytes):
    out, opt = [], Ether(frame)[ICMPv6NDOptPrefixInfo]
    while opt:
        out.append((f"{opt.prefix}/{opt.prefixlen}", opt.preferredlifetime > 0))
        opt = opt.payload.getlayer(ICMPv6NDOptPrefixInfo)
    return out


def downlink(dst: str) -> dict:
    """A packet from the CN arriving at a MAAR from the upstream router."""
    return {"eth_src": ROUTER_MAC, "eth_dst": "", "eth_type": 0x86DD, "ipv6_src": CN,
            "ipv6_dst": dst, "ip_proto": 6, "hop_limit": 60}


def uplink(src: str) -> dict:
    return {"eth_src": MN_MAC, "eth_dst": GW_MAC, "eth_type": 0x86DD, "ipv6_src": src,
            "ipv6_dst": CN, "ip_proto": 6, "hop_limit": 64}


def attach(dom: FakeDomain, maar: str, port: int = 2, mac: str = MN_MAC) -> None:
    dom.inject(maar, port, rs(mac))


def where(deliveries):
    return [(d.node, d.port, d.packet["eth_dst"], d.packet.get("mpls") or ()) for d in deliveries]


@pytest.fixture
def dom():
    return FakeDomain(domain_text("proxy"))


def test_first_attachment_registers_over_the_wire_and_advertises_the_prefix(dom):
    attach(dom, "maar1")
    assert dom.dmm.cmd_node.binding(MN_ID).serving == IPv6Address("2001:db8:ffff::1")
    name, port, frame = dom.last_ra()
    assert (name, port) == ("maar1", 2)
    assert ra_prefixes(frame) == [("2001:db8:1::/64", True)]
    stats = dom.dmm.stats.messages()
    assert sum(n for k, n in stats.items() if k.direction == "tx" and k.type == "PBU") == 1
    assert sum(n for k, n in stats.items() if k.direction == "rx" and k.type == "PBA") == 1


def test_local_prefix_is_routed_plainly_both_ways(dom):
    attach(dom, "maar1")
    maar1 = transport_mac(1)
    down = dom.forward("maar1", 1, {**downlink("2001:db8:1::5"), "eth_dst": maar1})
    assert where(down) == [("maar1", 2, MN_MAC, ())]
    up = dom.forward("maar1", 2, uplink("2001:db8:1::5"))
    assert where(up) == [("router", None, ROUTER_MAC, ())]


@pytest.mark.parametrize("mode", ["relay", "locator", "proxy"])
def test_after_a_move_the_old_prefix_is_tunnelled_and_the_new_one_local(mode):
    dom = FakeDomain(domain_text(mode))
    attach(dom, "maar1")
    attach(dom, "maar2")
    assert ra_prefixes(dom.last_ra("maar2")[2]) == [("2001:db8:2::/64", True),
                                                    ("2001:db8:1::/64", False)]
    down = dom.forward("maar1", 1, {**downlink("2001:db8:1::5"), "eth_dst": transport_mac(1)})
    assert where(down) == [("maar2", 2, MN_MAC, ())]
    up = dom.forward("maar2", 2, uplink("2001:db8:1::5"))
    assert where(up) == [("router", None, ROUTER_MAC, ())]
    assert up[0].packet["eth_src"] == transport_mac(1), "uplink of Pref1 leaves from its anchor"
    new = dom.forward("maar2", 2, uplink("2001:db8:2::5"))
    assert new[0].packet["eth_src"] == transport_mac(2), "new flows take the optimal path"


def test_moving_back_makes_the_prefix_local_again(dom):
    for maar in ("maar1", "maar2", "maar3", "maar1"):
        attach(dom, maar)
    down = dom.forward("maar1", 1, {**downlink("2001:db8:1::5"), "eth_dst": transport_mac(1)})
    assert where(down) == [("maar1", 2, MN_MAC, ())]
    for i in (2, 3):
        down = dom.forward(f"maar{i}", 1, {**downlink(f"2001:db8:{i}::5"),
                                           "eth_dst": transport_mac(i)})
        assert where(down) == [("maar1", 2, MN_MAC, ())]


def test_repeated_solicitation_gets_the_ra_again_without_new_signalling(dom):
    attach(dom, "maar1")
    sent = dict(dom.dmm.stats.messages())
    attach(dom, "maar1")
    assert dom.dmm.stats.messages() == {**sent, **{k: n + 1 for k, n in sent.items()
                                                    if k.type == "RA"}}


def test_reconnecting_switch_gets_the_same_rules(dom):
    attach(dom, "maar1")
    attach(dom, "maar2")
    before = {dpid: t.snapshot() for dpid, t in dom.tables.items()}
    for dpid in dom.tables:
        dom.run(dom.dmm.switch_connected(dpid))
    assert {dpid: t.snapshot() for dpid, t in dom.tables.items()} == before


def test_pbu_from_an_unknown_address_is_dropped_before_the_core(dom):
    pbu = ProxyBindingUpdate(1, 40, MobilityOptions(mn_id="evil", hnps=()))
    packet = encode_packet(pbu, "2001:db8:ffff::99", "2001:db8:ffff::100")
    dom.inject("cmd", 1, ethernet(transport_mac(256), "0e:00:00:00:00:99", packet))
    assert dom.dmm.stats.errors() == {"mh_from_unknown_node": 1}
    assert dom.dmm.cmd_node.count() == 0


def test_malformed_mobility_header_is_counted_by_reason(dom):
    pbu = ProxyBindingUpdate(1, 40, MobilityOptions(mn_id="x", hnps=()))
    packet = bytearray(encode_packet(pbu, "2001:db8:ffff::1", "2001:db8:ffff::100"))
    packet[-1] ^= 0xFF
    dom.inject("cmd", 1, ethernet(transport_mac(256), transport_mac(1), bytes(packet)))
    assert dom.dmm.stats.errors() == {"mh_malformed_bad_checksum": 1}


def test_unauthorised_mn_gets_no_prefix():
    dom = FakeDomain(domain_text(extra="mn_id_template: null\n"))
    attach(dom, "maar1")
    assert dom.to_mns == [] and dom.dmm.cmd_node.count() == 0
    assert dom.dmm.stats.errors() == {"mn_unauthorised": 1}


def test_gateway_and_maar_addresses_are_answered():
    dom = FakeDomain(domain_text())
    ns = Ether(src=MN_MAC, dst="33:33:ff:00:00:01") / IPv6(
        src="fe80::800:ff:fe00:1", dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(tgt="fe80::1")
    dom.inject("maar1", 2, bytes(ns))
    na = Ether(dom.to_mns[-1][2])
    assert (na.src, na[ICMPv6ND_NA].tgt, na[ICMPv6ND_NA].R) == (GW_MAC, "fe80::1", 1)


def test_lost_pba_is_recovered_by_retransmission(dom):
    dom.dropped_links.add(("cmd", "maar1"))
    attach(dom, "maar1")
    assert dom.to_mns == []
    dom.dropped_links.clear()
    dom.advance(1.5)
    assert ra_prefixes(dom.last_ra("maar1")[2]) == [("2001:db8:1::/64", True)]


def test_mn_leaving_the_domain_ends_the_session_everywhere(dom):
    attach(dom, "maar1")
    attach(dom, "maar2")
    base = FakeDomain(domain_text("proxy"))
    dom.run(dom.dmm.port_down(2, 2, dom.now))
    dom.advance(3)
    assert dom.dmm.cmd_node.count() == 0
    for dpid, table in dom.tables.items():
        assert table.snapshot() == base.tables[dpid].snapshot(), dpid


def test_signalling_is_real_mobility_header_on_the_wire(dom):
    """Figure 4 (proxy) as it crosses the fabric, decoded by the codec."""
    attach(dom, "maar1")
    dom.wire.clear()
    attach(dom, "maar2")
    names = {IPv6Address(f"2001:db8:ffff::{i}"): f"maar{i}" for i in (1, 2, 3)}
    names[IPv6Address("2001:db8:ffff::100")] = "cmd"
    seen = []
    for frame in dom.wire:
        src, dst, msg = decode_packet(frame[14:])
        opts = msg.options
        seen.append((names[src], names[dst], type(msg).__name__, bool(opts.serving_maar),
                     len(opts.previous_maars)))
    assert seen == [
        ("maar2", "cmd", "ProxyBindingUpdate", False, 0),
        ("cmd", "maar2", "ProxyBindingAck", False, 1),
        ("cmd", "maar1", "ProxyBindingUpdate", True, 0),
        ("maar1", "cmd", "ProxyBindingAck", True, 0),
    ]


def pbus_sent(dom) -> int:
    return sum(n for k, n in dom.dmm.stats.messages().items() if k.direction == "tx" and
               k.type == "PBU")


def test_mn_whose_registration_gave_up_is_not_stranded(dom):
    """Regression: the MAAR drops the binding after its retransmissions give
    up; the MN stays on its port, and its next RS registers it again (the
    old runtime kept it in its attachment table and swallowed every RS)."""
    dom.dropped_links.add(("maar1", "cmd"))
    attach(dom, "maar1")
    for _ in range(60):
        dom.advance(1)
    assert dom.dmm.nodes["maar1"].core.counters["gave_up"] == 1
    assert dom.dmm.cmd_node.count() == 0
    withdrawn = Ether(dom.last_ra("maar1")[2])[ICMPv6NDOptPrefixInfo]
    assert (withdrawn.prefix, withdrawn.validlifetime) == ("2001:db8:1::", 0)
    dom.dropped_links.clear()
    attach(dom, "maar1")
    assert dom.dmm.cmd_node.binding(MN_ID).serving == IPv6Address("2001:db8:ffff::1")
    assert ra_prefixes(dom.last_ra("maar1")[2]) == [("2001:db8:1::/64", True)]


def test_mn_refused_for_an_exhausted_pool_gets_a_prefix_once_one_is_free():
    """A /64 pool of one prefix: the second MN is refused; once the first
    leaves, the second one's next RS (after the hold-down) registers it."""
    text = domain_text().replace("pool: '2001:db8:1::/48'", "pool: '2001:db8:1::/64'")
    dom = FakeDomain(text)
    attach(dom, "maar1")
    other = "0a:00:00:00:00:02"
    attach(dom, "maar1", port=3, mac=other)
    assert dom.dmm.nodes["maar1"].core.counters["refused_pool_exhausted"] == 1
    assert dom.dmm.stats.errors()["pool_exhausted"] == 1
    attach(dom, "maar1", port=3, mac=other)  # within the hold-down: ignored
    assert dom.dmm.nodes["maar1"].core.counters["attach_held_down"] == 1
    dom.run(dom.dmm.port_down(1, 2, dom.now))
    dom.advance(3)  # the first MN's detach guard (2 s) ends its session
    attach(dom, "maar1", port=3, mac=other)
    assert dom.dmm.cmd_node.binding("0a0000000002@dmm.example") is not None


def test_repeated_solicitation_during_registration_sends_nothing(dom):
    dom.dropped_links.add(("cmd", "maar1"))
    attach(dom, "maar1")
    sent = dict(dom.dmm.stats.messages())
    attach(dom, "maar1")
    assert dom.dmm.stats.messages() == sent


def test_link_flap_within_the_guard_keeps_the_session_and_registers_anew(dom):
    attach(dom, "maar1")
    before = pbus_sent(dom)
    dom.run(dom.dmm.port_down(1, 2, dom.now))
    dom.advance(1)
    attach(dom, "maar1")
    dom.advance(5)  # past the guard: it was cancelled by the new attachment
    assert pbus_sent(dom) == before + 1
    assert dom.dmm.cmd_node.binding(MN_ID).serving == IPv6Address("2001:db8:ffff::1")


def test_option_types_of_the_domain_file_are_used_on_the_wire():
    """Types 200/201 for Previous/Serving MAAR: the CMD's PBU to the P-MAAR
    carries Serving MAAR as type 201, and the handover completes."""
    from dmm_ryu.wire.mh import OptionTypes
    dom = FakeDomain(domain_text(extra="option_types: {previous_maar: 200, serving_maar: 201}\n"))
    attach(dom, "maar1")
    dom.wire.clear()
    attach(dom, "maar2")
    types = OptionTypes(previous_maar=200, serving_maar=201)
    to_p_maar = [decode_packet(f[14:], types) for f in dom.wire]
    assert any(m.message.options.serving_maar for m in to_p_maar)
    by_default = [decode_packet(f[14:]) for f in dom.wire]  # 67/68 are not in these packets
    assert not any(m.message.options.serving_maar for m in by_default)
    assert ra_prefixes(dom.last_ra("maar2")[2]) == [("2001:db8:2::/64", True),
                                                    ("2001:db8:1::/64", False)]
