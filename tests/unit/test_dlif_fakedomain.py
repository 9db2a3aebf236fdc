"""``gateway: dlif`` through the whole controller on fake switches: the MN
attaches at maar1 and moves to maar2.  maar2 then presents one router per
anchor (its own DLIF for its prefix, maar1's DLIF for maar1's prefix), each
with its own RA and NA; frames to either DLIF MAC are routed by source
prefix; downlink carries the prefix's anchor's DLIF MAC; options 69/70 go
from the P-MAAR to the CMD (locator: to the S-MAAR) and from the CMD to the
S-MAAR, one pair per Previous MAAR option; ``shared`` sends none."""
from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Address, IPv6Network

import pytest
from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RA, IPv6
from scapy.layers.l2 import Ether

from dmm_ryu.config.domainfile import load_text
from dmm_ryu.of.context import MaarDataplane
from dmm_ryu.of.labels import dlif_link_local, dlif_mac, transport_mac
from dmm_ryu.runtime.maar_node import _by_gateway
from dmm_ryu.testbed.fakedomain import FakeDomain, domain_text
from dmm_ryu.wire.ndp import AdvertisedPrefix
from dmm_ryu.wire.mh import ProxyBindingAck, decode_packet
from tests.unit.test_controller import MN_MAC, ROUTER_MAC, attach, downlink, ra_prefixes, uplink

P1, P2 = "2001:db8:1::/64", "2001:db8:2::/64"
A1, A2 = "2001:db8:1::5", "2001:db8:2::5"
MAAR1, MAAR2, CMD = (IPv6Address(a) for a in ("2001:db8:ffff::1", "2001:db8:ffff::2",
                                               "2001:db8:ffff::100"))
DLIF1, DLIF2 = dlif_mac(1), dlif_mac(2)
LL1, LL2 = dlif_link_local(DLIF1), dlif_link_local(DLIF2)


def moved(mode: str = "proxy", gateway: str = "dlif") -> FakeDomain:
    dom = FakeDomain(domain_text(mode, extra=f"gateway: {gateway}\n"))
    attach(dom, "maar1")
    attach(dom, "maar2")
    return dom


def ras(dom: FakeDomain, switch: str, since: int = 0):
    """(source MAC, source link-local, router lifetime, prefixes) of each RA
    ``switch`` sent to the MN."""
    out = []
    for name, _, frame in dom.to_mns[since:]:
        pkt = Ether(frame)
        if name == switch and pkt.haslayer(ICMPv6ND_RA):
            out.append((pkt.src, IPv6Address(pkt[IPv6].src), pkt[ICMPv6ND_RA].routerlifetime,
                        ra_prefixes(frame)))
    return out


def pbas(dom: FakeDomain, dst: IPv6Address):
    """(src, PBA) of every PBA on the wire to ``dst``."""
    return [(p.src, p.message) for p in (decode_packet(f[14:]) for f in dom.wire)
            if p.dst == dst and isinstance(p.message, ProxyBindingAck)]


def test_each_dlif_advertises_only_its_anchors_prefix():
    dom = FakeDomain(domain_text(extra="gateway: dlif\n"))
    attach(dom, "maar1")
    assert ras(dom, "maar1") == [(DLIF1, LL1, 1800, [(P1, True)])]
    mark = len(dom.to_mns)
    attach(dom, "maar2")
    assert ras(dom, "maar2", mark) == [(DLIF2, LL2, 1800, [(P2, True)]),
                                       (DLIF1, LL1, 1800, [(P1, False)])]


def test_shared_gateway_sends_one_ra_from_fe80_1_and_no_dlif_option():
    dom = moved(gateway="shared")
    assert ras(dom, "maar2") == [("02:00:00:00:00:01", IPv6Address("fe80::1"), 1800,
                                  [(P2, True), (P1, False)])]
    assert all(not m.options.dlif_link_locals and not m.options.dlif_link_layers
               for dst in (CMD, MAAR2) for _, m in pbas(dom, dst))


@pytest.mark.parametrize("target, mac", [(LL1, DLIF1), (LL2, DLIF2)])
def test_ns_for_each_dlif_is_answered_with_that_dlifs_mac(target, mac):
    dom = moved()
    ns = Ether(src=MN_MAC, dst=mac) / IPv6(src="fe80::800:ff:fe00:1", dst=str(target),
                                           hlim=255) / ICMPv6ND_NS(tgt=str(target))
    dom.inject("maar2", 2, bytes(ns))
    na = Ether(dom.to_mns[-1][2])
    assert (na.src, IPv6Address(na[ICMPv6ND_NA].tgt), na[ICMPv6ND_NA].R) == (mac, target, 1)


@pytest.mark.parametrize("mode", ["proxy", "relay", "locator"])
@pytest.mark.parametrize("router", [DLIF1, DLIF2])
def test_frames_to_either_dlif_are_routed_by_source_prefix(mode, router):
    dom = moved(mode)
    old = dom.forward("maar2", 2, {**uplink(A1), "eth_dst": router})
    assert [(d.node, d.packet["eth_src"]) for d in old] == [("router", transport_mac(1))]
    new = dom.forward("maar2", 2, {**uplink(A2), "eth_dst": router})
    assert [(d.node, d.packet["eth_src"]) for d in new] == [("router", transport_mac(2))]


def test_a_frame_to_no_gateway_mac_is_dropped():
    dom = moved()
    assert dom.forward("maar2", 2, {**uplink(A2), "eth_dst": "02:00:00:00:00:01"}) == []


@pytest.mark.parametrize("mode", ["proxy", "relay", "locator"])
def test_downlink_carries_the_anchors_dlif_mac(mode):
    dom = moved(mode)
    old = dom.forward("maar1", 1, {**downlink(A1), "eth_dst": transport_mac(1)})
    local = dom.forward("maar2", 1, {**downlink(A2), "eth_dst": transport_mac(2)})
    assert [(d.node, d.port, d.packet["eth_src"], d.packet["eth_dst"]) for d in old + local] == [
        ("maar2", 2, DLIF1, MN_MAC), ("maar2", 2, DLIF2, MN_MAC)]


def _dlifs(pba) -> list:
    opts = pba.options
    return list(zip(opts.dlif_link_locals, (m.hex(":") for m in opts.dlif_link_layers)))


@pytest.mark.parametrize("mode", ["proxy", "relay"])
def test_p_maar_and_cmd_signal_the_anchors_dlif(mode):
    dom = moved(mode)
    from_p_maar = [m for src, m in pbas(dom, CMD) if src == MAAR1 and m.options.hnps]
    assert [_dlifs(m) for m in from_p_maar] == [[(LL1, DLIF1)]]
    to_s_maar = [m for _, m in pbas(dom, MAAR2) if m.options.previous_maars]
    assert to_s_maar and all(
        [p.address for p in m.options.previous_maars] == [MAAR1] and _dlifs(m) == [(LL1, DLIF1)]
        for m in to_s_maar)


def test_locator_p_maar_signals_its_dlif_directly_to_the_s_maar():
    dom = moved("locator")
    direct = [m for src, m in pbas(dom, MAAR2) if src == MAAR1]
    assert [_dlifs(m) for m in direct] == [[(LL1, DLIF1)]]


def test_reconnecting_switch_gets_the_same_dlif_rules():
    dom = moved()
    before = {dpid: t.snapshot() for dpid, t in dom.tables.items()}
    for dpid in dom.tables:
        dom.run(dom.dmm.switch_connected(dpid))
    assert {dpid: t.snapshot() for dpid, t in dom.tables.items()} == before


def test_a_dlif_whose_prefixes_are_all_withdrawn_says_router_lifetime_zero():
    ctx = MaarDataplane.for_maar(load_text(domain_text(extra="gateway: dlif\n")), "maar2",
                                 ROUTER_MAC)
    prefixes = (AdvertisedPrefix(IPv6Network(P2), 40, 40), AdvertisedPrefix(IPv6Network(P1), 0, 0))
    assert [(gw, lifetime) for gw, _, lifetime in _by_gateway(ctx, prefixes)] == [
        ((DLIF2, LL2), 1800), ((DLIF1, LL1), 0)]
    shared = replace(ctx, dlif=False)
    assert [lifetime for _, _, lifetime in _by_gateway(shared, prefixes[1:])] == [1800]
