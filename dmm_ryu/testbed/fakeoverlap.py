"""The fake flow table's one rule OVS does not have: it refuses two flows
of one priority in one table that can match the same packet, since OpenFlow
leaves the winner undefined there."""
from __future__ import annotations

from typing import Tuple

ETH_TYPE_IPV6 = 0x86DD
ETH_TYPE_MPLS = 0x8847
#: Fields whose OXM prerequisites (OpenFlow 1.3 section 7.2.3.8) a match
#: implies even when it does not spell them: their flows never overlap
#: flows that require another value.
PREREQUISITES = {
    **{name: {"eth_type": ETH_TYPE_IPV6} for name in ("ipv6_src", "ipv6_dst", "ip_proto")},
    "icmpv6_type": {"eth_type": ETH_TYPE_IPV6, "ip_proto": 58},
    "ipv6_nd_target": {"eth_type": ETH_TYPE_IPV6, "ip_proto": 58},
    "mpls_label": {"eth_type": ETH_TYPE_MPLS},
}


class OverlapError(AssertionError):
    """Two same-priority flows of one table can match one packet: OpenFlow
    1.3 (section 5.3) leaves the flow selected explicitly undefined, so a
    test passing on the fake would pass by the fake's choice, not OVS's."""


def refuse_overlap(flow, others) -> None:
    """Raise :class:`OverlapError` if ``flow`` overlaps one of ``others``.

    Flows with the same cookie and instructions are let overlap: whichever
    the switch picks, the packet's fate is the same (the MAAR's DAD punt and
    its NS-for-the-gateway punt both take a DAD probe for ``fe80::1``).
    """
    for other in others:
        if ((other.table, other.priority) == (flow.table, flow.priority)
                and other.match != flow.match and other.effect != flow.effect
                and _can_both_match(flow.match, other.match)):
            raise OverlapError(f"same-priority flows overlap, OpenFlow leaves the winner "
                               f"undefined:\n  {other}\n  {flow}")


def _can_both_match(one: Tuple, two: Tuple) -> bool:
    """Whether some packet satisfies both matches: every field constrained
    by both (spelled or implied) agrees under both masks."""
    first, second = _constraints(one), _constraints(two)
    return all(_agree(first[name], second[name]) for name in first.keys() & second.keys())


def _constraints(match: Tuple) -> dict:
    fields = dict(match)
    for name in list(fields):
        for needed, value in PREREQUISITES.get(name, {}).items():
            fields.setdefault(needed, value)
    return fields


def _agree(one, two) -> bool:
    (value1, mask1), (value2, mask2) = _masked(one), _masked(two)
    return (value1 ^ value2) & mask1 & mask2 == 0


def _masked(wanted) -> Tuple[int, int]:
    """(value, mask) as integers; an exact value has an all-ones mask."""
    value, mask = wanted if isinstance(wanted, tuple) else (wanted, -1)
    return _as_int(value), _as_int(mask)


def _as_int(value) -> int:
    return int(value.replace(":", ""), 16) if isinstance(value, str) else value
