"""ND frames built by the controller, checked with scapy as an independent decoder."""
from ipaddress import IPv6Address, IPv6Network

from scapy.layers.inet6 import (ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6ND_RS,
                                ICMPv6NDOptDstLLAddr, ICMPv6NDOptMTU, ICMPv6NDOptPrefixInfo,
                                ICMPv6NDOptSrcLLAddr, IPv6)
from scapy.layers.l2 import Ether

from dmm_ryu.core.actions import AdvertisedPrefix
from dmm_ryu.wire.ndp import (ALL_NODES, NEIGHBOR_SOLICITATION, ROUTER_SOLICITATION,
                         neighbor_advertisement, neighbor_solicitation, parse_nd,
                         router_advertisement)

GW_MAC, GW_LL = "02:00:00:00:00:01", IPv6Address("fe80::1")
MN_MAC, MN_LL = "02:00:00:00:01:01", IPv6Address("fe80::ff:fe00:101")
LOCAL = AdvertisedPrefix(IPv6Network("2001:db8:2::/64"), 300, 600)
ANCHORED = AdvertisedPrefix(IPv6Network("2001:db8:1::/64"), 0, 600)


def checksum_ok(frame: bytes) -> bool:
    pkt = Ether(frame)
    sent = pkt[IPv6].payload.cksum
    del pkt[IPv6].payload.cksum
    return Ether(bytes(pkt))[IPv6].payload.cksum == sent


def test_router_advertisement_carries_local_preferred_and_anchored_deprecated():
    frame = router_advertisement(GW_MAC, GW_LL, MN_MAC, MN_LL, [LOCAL, ANCHORED], mtu=1500)
    pkt = Ether(frame)
    assert (pkt.src, pkt.dst) == (GW_MAC, MN_MAC)
    assert (pkt[IPv6].src, pkt[IPv6].dst, pkt[IPv6].hlim) == (str(GW_LL), str(MN_LL), 255)
    ra = pkt[ICMPv6ND_RA]
    assert ra.routerlifetime == 1800 and ra.chlim == 64
    assert pkt[ICMPv6NDOptSrcLLAddr].lladdr == GW_MAC
    assert pkt[ICMPv6NDOptMTU].mtu == 1500
    infos = []
    opt = pkt[ICMPv6NDOptPrefixInfo]
    while opt:
        infos.append((opt.prefix, opt.prefixlen, opt.L, opt.A, opt.preferredlifetime,
                      opt.validlifetime))
        opt = opt.payload.getlayer(ICMPv6NDOptPrefixInfo)
    assert infos == [("2001:db8:2::", 64, 1, 1, 300, 600), ("2001:db8:1::", 64, 1, 1, 0, 600)]
    assert checksum_ok(frame)


def test_neighbor_advertisement_for_gateway():
    frame = neighbor_advertisement(GW_MAC, GW_LL, MN_MAC, MN_LL)
    pkt = Ether(frame)
    na = pkt[ICMPv6ND_NA]
    assert (na.R, na.S, na.O, na.tgt) == (1, 1, 1, str(GW_LL))
    assert pkt[ICMPv6NDOptDstLLAddr].lladdr == GW_MAC
    assert pkt[IPv6].dst == str(MN_LL)
    assert checksum_ok(frame)


def test_neighbor_advertisement_answering_dad_goes_to_all_nodes_unsolicited():
    pkt = Ether(neighbor_advertisement(GW_MAC, GW_LL, MN_MAC, IPv6Address("::")))
    assert pkt[IPv6].dst == str(ALL_NODES)
    assert pkt[ICMPv6ND_NA].S == 0


def test_parse_router_and_neighbor_solicitations():
    rs = bytes(Ether(src=MN_MAC, dst="33:33:00:00:00:02") /
               IPv6(src="::", dst="ff02::2", hlim=255) / ICMPv6ND_RS())
    parsed = parse_nd(rs)
    assert (parsed.icmp_type, parsed.eth_src, parsed.src) == (ROUTER_SOLICITATION, MN_MAC,
                                                              IPv6Address("::"))
    ns = bytes(Ether(src=MN_MAC, dst="33:33:ff:00:00:01") /
               IPv6(src=str(MN_LL), dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(tgt="fe80::1"))
    parsed = parse_nd(ns)
    assert (parsed.icmp_type, parsed.target) == (NEIGHBOR_SOLICITATION, GW_LL)


def test_parse_ignores_non_nd_and_truncated_frames():
    echo = bytes(Ether() / IPv6() / b"\x80\x00\x00\x00")
    assert parse_nd(echo) is None
    ns = bytes(Ether() / IPv6() / ICMPv6ND_NS(tgt="fe80::1"))
    for cut in range(len(ns) - 1):
        parse_nd(ns[:cut])  # never raises
    assert parse_nd(ns[:60]) is None


def test_neighbor_solicitations_parse_back_and_a_dad_probe_has_no_link_layer_option():
    target = IPv6Address("fe80::800:ff:fe00:1")
    ns = neighbor_solicitation("0a:00:00:00:00:01", IPv6Address("fe80::2"), target)
    dad = neighbor_solicitation("0a:00:00:00:00:01", IPv6Address("::"), target)
    assert len(ns) == len(dad) + 8
    for frame in (ns, dad):
        parsed = parse_nd(frame)
        assert (parsed.icmp_type, parsed.target) == (135, target)
        assert parsed.dst == IPv6Address("ff02::1:ff00:1") and parsed.eth_dst == "33:33:ff:00:00:01"
    assert parse_nd(dad).src.is_unspecified
