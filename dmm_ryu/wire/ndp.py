"""Neighbour Discovery frames the controller sends and recognises (RFC 4861).

The MAARs' access side is played by the controller: it answers Router
Solicitations with unicast Router Advertisements carrying the MN's prefixes
(the local one preferred, the anchored ones with preferred lifetime 0, draft
A.2) and answers Neighbour Solicitations for the shared gateway address.
Plain ``struct`` code: no framework packet library, so the same bytes come
out under Ryu, os-ken and the tests.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import Iterable, Optional

from dmm_ryu.wire.constants import ICMPV6_PROTO, NdType
from dmm_ryu.wire.inet import (ETH_HEADER, ETH_TYPE_IPV6, IPV6_HEADER, checksum,
                               checksum_residue, ethernet, ipv6_header, mac_bytes, mac_text,
                               packed)

# Short names for the callers that dispatch on ``NdPacket.icmp_type``.
ROUTER_SOLICITATION = NdType.ROUTER_SOLICITATION
ROUTER_ADVERTISEMENT = NdType.ROUTER_ADVERTISEMENT
NEIGHBOR_SOLICITATION = NdType.NEIGHBOR_SOLICITATION
NEIGHBOR_ADVERTISEMENT = NdType.NEIGHBOR_ADVERTISEMENT
ND_HOP_LIMIT = 255
ALL_NODES = IPv6Address("ff02::1")
ALL_ROUTERS = IPv6Address("ff02::2")
OPT_SOURCE_LL, OPT_TARGET_LL, OPT_PREFIX_INFO, OPT_MTU = 1, 2, 3, 5
PREFIX_ON_LINK_AUTONOMOUS = 0xC0
NA_ROUTER_SOLICITED_OVERRIDE = 0xE0000000

_ND_TYPES = frozenset(NdType)
_PREFIX_INFO = struct.Struct("!BBBBIII16s")
_RA_BODY = struct.Struct("!BBHBBHII")  # type, code, csum, hop limit, flags, lifetime, reachable, retrans


@dataclass(frozen=True)
class AdvertisedPrefix:
    """One Prefix Information option of a Router Advertisement."""

    prefix: IPv6Network
    preferred_lifetime: int
    valid_lifetime: int


@dataclass(frozen=True)
class NdPacket:
    """What the controller needs from an ICMPv6 ND frame it received."""

    eth_src: str
    eth_dst: str
    src: IPv6Address
    dst: IPv6Address
    icmp_type: int
    target: Optional[IPv6Address] = None


def _frame(src_mac: str, dst_mac: str, src: IPv6Address, dst: IPv6Address,
           icmp: bytes) -> bytes:
    """Checksum ``icmp`` for ``src`` -> ``dst`` and wrap it in IPv6 + Ethernet."""
    s, d = packed(src), packed(dst)
    icmp = icmp[:2] + checksum(s, d, ICMPV6_PROTO, icmp).to_bytes(2, "big") + icmp[4:]
    packet = ipv6_header(s, d, ICMPV6_PROTO, len(icmp), ND_HOP_LIMIT) + icmp
    return ethernet(dst_mac, src_mac, packet)


def _ll_option(kind: int, mac: str) -> bytes:
    return bytes((kind, 1)) + mac_bytes(mac)


def _prefix_option(p: AdvertisedPrefix) -> bytes:
    return _PREFIX_INFO.pack(OPT_PREFIX_INFO, 4, p.prefix.prefixlen, PREFIX_ON_LINK_AUTONOMOUS,
                             p.valid_lifetime, p.preferred_lifetime, 0,
                             p.prefix.network_address.packed)


#: Seconds an RA makes its sender a default router for (RFC 4861 6.2.1's
#: default, 3 x MaxRtrAdvInterval).
ROUTER_LIFETIME = 1800


def router_advertisement(src_mac: str, src: IPv6Address, dst_mac: str, dst: IPv6Address,
                         prefixes: Iterable[AdvertisedPrefix],
                         router_lifetime: int = ROUTER_LIFETIME,
                         mtu: Optional[int] = None) -> bytes:
    """A Router Advertisement frame from the gateway ``src`` to one MN.

    ``dst`` is the MN's link-local address, or all-nodes when the RS came
    from the unspecified address; the frame is unicast to ``dst_mac`` anyway.
    """
    body = _RA_BODY.pack(ROUTER_ADVERTISEMENT, 0, 0, 64, 0, router_lifetime, 0, 0)
    options = _ll_option(OPT_SOURCE_LL, src_mac)
    if mtu:
        options += struct.pack("!BBHI", OPT_MTU, 1, 0, mtu)
    options += b"".join(_prefix_option(p) for p in prefixes)
    return _frame(src_mac, dst_mac, src, dst, body + options)


def router_solicitation(src_mac: str) -> bytes:
    """An RS from an MN that has no address yet (source ``::``), as load
    generators emulating many MNs send it."""
    body = struct.pack("!BBHI", ROUTER_SOLICITATION, 0, 0, 0)
    return _frame(src_mac, "33:33:00:00:00:02", IPv6Address("::"), ALL_ROUTERS, body)


def neighbor_solicitation(src_mac: str, src: IPv6Address, target: IPv6Address) -> bytes:
    """NS for ``target`` to its solicited-node group; from ``::`` it is a DAD
    probe, which carries no source link-layer option (RFC 4861 7.1.1)."""
    group = IPv6Address(int(IPv6Address("ff02::1:ff00:0")) | int(target) & 0xFFFFFF)
    body = struct.pack("!BBHI16s", NEIGHBOR_SOLICITATION, 0, 0, 0, target.packed)
    if not src.is_unspecified:
        body += _ll_option(OPT_SOURCE_LL, src_mac)
    return _frame(src_mac, "33:33:" + ":".join(f"{b:02x}" for b in group.packed[12:]), src,
                  group, body)


def neighbor_advertisement(src_mac: str, target: IPv6Address, dst_mac: str,
                           dst: IPv6Address, router: bool = True) -> bytes:
    """Solicited NA for ``target`` (owned by ``src_mac``) answering ``dst``."""
    flags = NA_ROUTER_SOLICITED_OVERRIDE if router else 0x60000000
    if dst.is_unspecified:  # answer to DAD: to all-nodes, not solicited
        dst, flags = ALL_NODES, flags & ~0x40000000
    body = struct.pack("!BBHI16s", NEIGHBOR_ADVERTISEMENT, 0, 0, flags, target.packed)
    return _frame(src_mac, dst_mac, target, dst, body + _ll_option(OPT_TARGET_LL, src_mac))


#: Octets of each ND message before its options (RFC 4861 section 4).
_BODY_LEN = {ROUTER_SOLICITATION: 8, ROUTER_ADVERTISEMENT: 16, NEIGHBOR_SOLICITATION: 24,
             NEIGHBOR_ADVERTISEMENT: 24}


def parse_nd(frame: bytes) -> Optional[NdPacket]:
    """The ND essentials of an Ethernet frame, or ``None`` if it is not
    ICMPv6 ND or not a valid one: RFC 4861 (sections 6.1.1, 7.1.1) has
    receivers drop ND whose Hop Limit is not 255 (it was forwarded, so it
    came from off-link), whose ICMP code is not 0, whose checksum is wrong,
    which is shorter than its message, or whose options have length 0 or
    overrun the packet.  Never raises on malformed input."""
    icmp_at = ETH_HEADER.size + IPV6_HEADER.size
    if len(frame) < icmp_at + 4:
        return None
    dst_mac, src_mac, eth_type = ETH_HEADER.unpack_from(frame)
    _, payload_len, next_header, hop_limit, src, dst = IPV6_HEADER.unpack_from(
        frame, ETH_HEADER.size)
    icmp_type = frame[icmp_at]
    if eth_type != ETH_TYPE_IPV6 or next_header != ICMPV6_PROTO or icmp_type not in _ND_TYPES:
        return None
    icmp = bytes(frame[icmp_at:icmp_at + payload_len])
    if (hop_limit != ND_HOP_LIMIT or frame[icmp_at + 1] != 0 or len(icmp) != payload_len
            or payload_len < _BODY_LEN[icmp_type]
            or not _options_valid(icmp, _BODY_LEN[icmp_type])
            or checksum_residue(src, dst, ICMPV6_PROTO, icmp)):
        return None
    target = None
    if icmp_type in (NEIGHBOR_SOLICITATION, NEIGHBOR_ADVERTISEMENT):
        target = IPv6Address(icmp[8:24])
    return NdPacket(mac_text(src_mac), mac_text(dst_mac), IPv6Address(src), IPv6Address(dst),
                    icmp_type, target)


def _options_valid(icmp: bytes, at: int) -> bool:
    """Every option has a non-zero length and ends inside the message."""
    while at < len(icmp):
        if at + 2 > len(icmp) or icmp[at + 1] == 0:
            return False
        at += 8 * icmp[at + 1]
    return at == len(icmp)
