"""Telling punted frames apart before decoding them.

A punted frame is either signalling (IPv6 whose Next Header is the Mobility
Header, no extension headers: our own nodes send nothing else), ND, or an
arriving MN's first IPv6 frames (access ports only).
Anything shorter than an Ethernet + IPv6 header is neither.
"""
from __future__ import annotations

from dmm_ryu.wire.inet import ETH_HEADER, ETH_TYPE_IPV6, IPV6_HEADER
from dmm_ryu.wire.constants import MH_PROTO

_ETH_TYPE_IPV6 = ETH_TYPE_IPV6.to_bytes(2, "big")
#: Ethernet + IPv6 header: the shortest frame worth a look.
MIN_FRAME = ETH_HEADER.size + IPV6_HEADER.size
_NEXT_HEADER_AT = ETH_HEADER.size + 6


def is_mobility_header(frame: bytes) -> bool:
    """IPv6 (version 6) carrying a Mobility Header right after its header."""
    return is_ipv6(frame) and frame[_NEXT_HEADER_AT] == MH_PROTO


def is_ipv6(frame: bytes) -> bool:
    """An untagged IPv6 frame (version 6) with a whole IPv6 header."""
    return (len(frame) >= MIN_FRAME and frame[12:14] == _ETH_TYPE_IPV6
            and frame[ETH_HEADER.size] >> 4 == 6)
