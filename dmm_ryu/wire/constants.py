"""Protocol numbers the wire layer and everything above it share.

One definition each, so that the Mobility Header codec, the ND frames, the
OpenFlow punt rules and the packet-in dispatch cannot drift apart.
"""
from __future__ import annotations

import enum

#: IPv6 Next Header value of ICMPv6 (RFC 4443).
ICMPV6_PROTO = 58
#: IPv6 Next Header "No Next Header"; the MH Payload Proto must say so
#: (RFC 6275 section 6.1.1).
NO_NEXT_HEADER = 59
#: IPv6 Next Header value of the Mobility Header (RFC 6275 section 6.1).
MH_PROTO = 135


class NdType(enum.IntEnum):
    """ICMPv6 Neighbor Discovery message types (RFC 4861 section 4)."""

    ROUTER_SOLICITATION = 133
    ROUTER_ADVERTISEMENT = 134
    NEIGHBOR_SOLICITATION = 135
    NEIGHBOR_ADVERTISEMENT = 136


class MHType(enum.IntEnum):
    """Mobility Header types the draft uses (RFC 6275 section 6.1): the PBU
    is a Binding Update and the PBA a Binding Acknowledgement (RFC 5213);
    pmipv6 mode's BRI and BRA are Binding Revocation messages (RFC 5846)."""

    BINDING_UPDATE = 5
    BINDING_ACK = 6
    BINDING_REVOCATION = 16
