"""The MAAR pipeline, declared in one place (after Faucet's faucet_pipeline.py).

Every table id, priority band, metadata bit and cookie field the OpenFlow
layer uses is named here, so a rule dump can be read against this file and
a change of layout is a change of one module.

Tables (a packet enters at CLASSIFY)::

    0 CLASSIFY   by ingress port role: punt signalling to the controller,
                 drop link-local traffic, admit frames addressed to us
                 (access: from an MN with a session here, to the gateway
                 MAC; transport: our transport MAC).  Lowest of all on an
                 access port: punt IPv6 from any other source MAC (an MN
                 arriving: attachment from its first frame, issue 14).
    1 UPLINK     from an MN: source in a prefix anchored elsewhere -> label
                 towards its P-MAAR; otherwise (miss) on to ROUTE.
    2 TUNNEL_IN  MPLS from the transport network: one rule per label we
                 terminate; pop and deliver to the MN (S-MAAR) or route as
                 uplink (P-MAAR).
    3 ROUTE      by destination, longest prefix first: local prefixes to the
                 MN, anchored prefixes into their label, and for uplink only
                 a default route to the upstream router.

Cookies are 64 bits::

    63..56  0xd3     this application (delete-all of ours spares others')
    55..48  kind     BASE 1 (pipeline, punts), LOCAL 2, TUNNEL 3, MN 4
    47..20  peer     the tunnel peer's MAAR ordinal, 0 otherwise
    19..0   label    the prefix's MPLS label (labels.py): owner of the rule
    47..0   mac      (kind MN) the MN's MAC: its admission rules

Meters: one per access port, id = the port number, drops what the port
punts above the domain's ``punt_rate`` (packets/s, burst ``punt_burst``).

A rule is removed by a strict delete with its own match and exact cookie,
so an install that overwrote it (same match, new owner) survives the
removal of the old owner, whatever order the core emits them in.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from ipaddress import IPv6Network
from typing import Optional

from dmm_ryu.wire.constants import ICMPV6_PROTO, MH_PROTO, NdType


@dataclass(frozen=True)
class Table:
    """One flow table; ``miss`` names where unmatched packets go (None: drop)."""

    table_id: int
    name: str
    miss: Optional[int] = None


CLASSIFY = Table(0, "classify")
ROUTE = Table(3, "route")
UPLINK = Table(1, "uplink", miss=ROUTE.table_id)
TUNNEL_IN = Table(2, "tunnel_in")
TABLES = (CLASSIFY, UPLINK, TUNNEL_IN, ROUTE)

# Priority bands (higher wins).
PRIORITY_MISS = 0
PRIORITY_UNKNOWN_SOURCE = 1
PRIORITY_KNOWN_SOURCE = 2
PRIORITY_DEFAULT_ROUTE = 100
PRIORITY_PIPELINE = 1000
PRIORITY_LABEL = 1000
PRIORITY_FILTER = 1500
PRIORITY_PUNT = 2000
PRIORITY_PREFIX_BASE = 1000


def prefix_priority(prefix: IPv6Network) -> int:
    """Longest prefix wins, as in a routing table (Faucet's route priority)."""
    return PRIORITY_PREFIX_BASE + prefix.prefixlen


#: Metadata bit set on packets travelling uplink (from an MN, or out of a
#: tunnel at the P-MAAR): only they may take the default route upstream, so
#: a downlink packet for an unknown destination is dropped, never bounced.
METADATA_UPLINK = (0x1, 0x1)

ETH_TYPE_IPV6 = 0x86DD
ETH_TYPE_MPLS = 0x8847
IPPROTO_ICMPV6 = ICMPV6_PROTO  # one source: dmm_ryu.wire.constants
IPPROTO_MH = MH_PROTO
ICMPV6_RS = int(NdType.ROUTER_SOLICITATION)
ICMPV6_NS = int(NdType.NEIGHBOR_SOLICITATION)
LINK_LOCAL = IPv6Network("fe80::/10")

COOKIE_APP = 0xD3 << 56
COOKIE_APP_MASK = 0xFF << 56
COOKIE_EXACT = (1 << 64) - 1
PEER_BITS = 28
LABEL_BITS = 20


class Kind(enum.IntEnum):
    """Who owns a flow: the cookie's kind byte."""

    BASE = 1
    LOCAL = 2
    TUNNEL = 3
    MN = 4


def cookie(kind: Kind, label: int = 0, peer: int = 0) -> int:
    """The cookie of a flow owned by ``kind`` for ``label`` (and ``peer``)."""
    if not 0 <= label < 1 << LABEL_BITS or not 0 <= peer < 1 << PEER_BITS:
        raise ValueError(f"cookie fields out of range: label={label} peer={peer}")
    return COOKIE_APP | int(kind) << 48 | peer << LABEL_BITS | label


def mn_cookie(mac: str) -> int:
    """The cookie of an MN's admission rules: its MAC in the low 48 bits."""
    return COOKIE_APP | int(Kind.MN) << 48 | int(mac.replace(":", ""), 16)


def meter_id(port: int) -> int:
    """The punt meter of an access port."""
    return port
