"""What the core believes of a message before acting on it.

The runtime already refuses signalling that does not come from a
configured node, on its port, from its MAC.  A configured node can still
be wrong (or be impersonated on the transport), so the core checks every
value that would reach the binding cache or the data plane:

* a PBU carries every mandatory option and a Timestamp no further ahead of
  the receiver's clock than ``Timers.timestamp_window`` (RFC 5213 5.5,
  status 156), so one forged timestamp cannot lock an MN out;
* a MAAR may name only prefixes of its own pool, of the configured length
  (status 155), and not one the CMD binds to another MN;
* every prefix and P-MAAR address in a message from the CMD lies in a
  configured MAAR's pool; direct PBAs exist only in locator mode.

Timestamps older than the window are not refused: the core's timestamp
dates the MN's attachment (it orders ping-pong moves), so a legitimate
de-registration carries one as old as the session.  Old timestamps only
ever lose against newer ones (157), they cannot lock anyone out.
"""
from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Address, IPv6Network
from typing import Dict, Iterable, Mapping, Optional

from dmm_ryu.core.config import Dlif, Mode, Pool, Timers
from dmm_ryu.core.messages import REQUEST_PREFIX
from dmm_ryu.core.pool import pool_index
from dmm_ryu.wire.mh.model import (
    BUFlags,
    PreviousMaar,
    ProxyBindingUpdate,
    Status,
    missing_mandatory,
    timestamp_from_unix,
)


def pbu_problem(pbu: ProxyBindingUpdate, now: float, timers: Timers, mode: Mode,
                from_cmd: bool = False) -> Optional[Status]:
    """The refusal status for a PBU without the P flag (152), without the
    D flag in a DMM mode (129, RFC 8885 4.1), missing an option, or dated
    too far ahead (the Timestamp option is mandatory here: RFC 5213 5.5
    orders by timestamps); None when it may be processed.  A PBU
    ``from_cmd`` names the prefixes anchored at its receiver, so it may
    carry no HNP (a MAAR whose prefix left the session anchors none)."""
    if not pbu.flags & BUFlags.P:
        return Status.PROXY_REG_NOT_ENABLED
    if mode is not Mode.PMIPV6 and not pbu.is_dmm:
        return Status.ADMINISTRATIVELY_PROHIBITED
    if from_cmd and not pbu.options.hnps:
        pbu = replace(pbu, options=replace(pbu.options, hnps=(REQUEST_PREFIX,)))
    missing = missing_mandatory(pbu)
    if missing is not None:
        return missing
    stamp = pbu.options.timestamp
    if stamp is None or stamp > timestamp_from_unix(now + timers.timestamp_window):
        return Status.TIMESTAMP_MISMATCH
    return None


def pba_believed(pba, mode: Mode) -> bool:
    """A PBA of DMM signalling carries the D flag (RFC 8885 4.2)."""
    return mode is Mode.PMIPV6 or pba.is_dmm


def in_pools(prefixes: Iterable[IPv6Network], pools: Mapping[IPv6Address, Pool]) -> bool:
    """Every prefix is the all-zero request or lies in some MAAR's pool."""
    return all(p == REQUEST_PREFIX or any(pool.holds(p) for pool in pools.values())
               for p in prefixes)


def previous_ok(previous: Iterable[PreviousMaar], pools: Mapping[IPv6Address, Pool],
                receiver: IPv6Address) -> bool:
    """Every Previous MAAR option names another MAAR and a prefix of its pool."""
    return all(p.address != receiver and p.address in pools and pools[p.address].holds(p.prefix)
               for p in previous)


def dlifs_ok(opts, anchors: Iterable[IPv6Address], dlifs: Mapping[IPv6Address, Dlif]) -> bool:
    """DLIF options, when a PBA carries them, pair one to one with
    ``anchors`` (the i-th with the i-th) and name each anchor's DLIF as the
    domain derives it: a DLIF identity is a function of the domain file,
    so a mismatch is a misconfigured or forged sender."""
    lls, macs = opts.dlif_link_locals, opts.dlif_link_layers
    if not lls and not macs:
        return True
    expected = [dlifs.get(a) for a in anchors]
    return (None not in expected and list(zip(lls, macs)) == [(d.link_local, d.mac) for d in expected]
            and len(lls) == len(macs) == len(expected))


#: How far past the highest index seen one record may grow a pool's owner
#: list; a prefix further out (only a forged or misconfigured one: MAARs
#: hand prefixes out densely from the start of their pool) goes to the dict.
DENSE_SLACK = 4096


class PrefixOwners:
    """The CMD's index prefix -> MN-ID, to refuse a prefix another MN holds.

    Entries are only ever added; a lookup confirms against the store, so an
    entry left behind by a session that ended (or a prefix that left it)
    is harmless and is overwritten when the prefix is claimed again.  Kept
    by pool and index in a list per configured pool (``pools``), 8 bytes a
    prefix, where a dict entry cost 59 bytes at 10,000 MNs and 105 at
    100,000 (issue 17, third pass); other prefixes go to a dict.
    """

    __slots__ = ("_pools", "_lists", "_other")

    def __init__(self, bces, pools: Iterable = ()) -> None:
        #: per pool: its first address, the length of its prefixes and how many it has
        self._pools = [(int(p.network.network_address), p.prefix_len,
                        1 << (p.prefix_len - p.network.prefixlen)) for p in pools]
        self._lists: list = [[] for _ in self._pools]
        self._other: Dict[IPv6Network, str] = {}
        for bce in bces:
            self.record(bce.mn_id, bce.anchors)

    def record(self, mn_id: str, prefixes: Iterable[IPv6Network]) -> None:
        for prefix in prefixes:
            owners, index = self._slot(prefix)
            if owners is None or index >= len(owners) + DENSE_SLACK:
                self._other[prefix] = mn_id
                continue
            if index >= len(owners):
                owners.extend([None] * (index + 1 - len(owners)))
            owners[index] = mn_id
            if self._other:
                self._other.pop(prefix, None)

    def owner(self, prefix: IPv6Network) -> Optional[str]:
        """The MN-ID last recorded for ``prefix`` (None: never)."""
        owners, index = self._slot(prefix)
        found = owners[index] if owners is not None and index < len(owners) else None
        return found if found is not None else self._other.get(prefix)

    def taken(self, prefix: IPv6Network, mn_id: str, store) -> bool:
        """Another MN's session anchors ``prefix``."""
        owner = self.owner(prefix)
        if owner is None or owner == mn_id:
            return False
        other = store.get(owner)
        return other is not None and prefix in other.anchors

    def _slot(self, prefix: IPv6Network):
        """The owner list of the pool holding ``prefix`` and its index there
        (None, 0: in no pool, or not of that pool's length)."""
        for (base, length, size), owners in zip(self._pools, self._lists):
            index = pool_index(prefix, base, length)
            if index is not None and index < size:
                return owners, index
        return None, 0
