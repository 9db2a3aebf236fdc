"""The CMD's binding cache behind a small store interface.

The CMD reads an entry, changes it and writes it back with ``put``; an
embedded dict is the default, and a distributed store shared by several
controllers can stand in later without touching the protocol logic.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import Dict, Iterator, List, Optional, Protocol

from dmm_ryu.wire.mh.model import PreviousMaar


@dataclass(eq=False)
class CmdBce:
    """The CMD's BCE for one MN (draft 3.1/3.2, Appendix B).

    ``anchors`` maps each prefix of the session to the MAAR that anchors
    it; the P-MAAR list is every anchor other than ``proxy_coa`` (the
    S-MAAR).  ``ts`` is the timestamp of the attachment that made
    ``proxy_coa`` serving; ``last_seq`` the last sequence number accepted
    from it; ``registered`` and ``lifetime`` date the session's expiry.
    """

    __slots__ = ("mn_id", "proxy_coa", "anchors", "lifetime", "registered", "ts", "last_seq")

    mn_id: str
    proxy_coa: IPv6Address
    anchors: Dict[IPv6Network, IPv6Address]
    lifetime: int
    registered: float
    ts: int
    last_seq: int

    def p_maars(self) -> List[PreviousMaar]:
        """Previous MAAR options for the S-MAAR, in prefix order."""
        serving = self.proxy_coa
        options = [PreviousMaar(a, p) for p, a in self.anchors.items() if a != serving]
        if len(options) > 1:
            options.sort(key=lambda option: prefix_order(option.prefix))
        return options

    def anchored_at(self, address: IPv6Address) -> List[IPv6Network]:
        return in_order([p for p, a in self.anchors.items() if a == address])

    def involved(self) -> set:
        """Every MAAR holding state for the session."""
        return set(self.anchors.values()) | {self.proxy_coa}


def prefix_order(prefix: IPv6Network) -> tuple:
    """Sort key of prefixes: cheaper than IPv6Network's own comparison, which
    matters on the CMD's hot path."""
    return (int(prefix.network_address), prefix.prefixlen)


def in_order(prefixes: List[IPv6Network]) -> List[IPv6Network]:
    """Prefixes in a stable order, so messages are deterministic."""
    if len(prefixes) > 1:
        prefixes.sort(key=prefix_order)
    return prefixes


class BindingStore(Protocol):
    """What the CMD needs from a binding cache."""

    def get(self, mn_id: str) -> Optional[CmdBce]: ...

    def put(self, bce: CmdBce) -> None: ...

    def delete(self, mn_id: str) -> None: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[CmdBce]: ...

    def ids(self, after: Optional[str] = None, limit: Optional[int] = None) -> List[str]:
        """MN-IDs in order, after ``after``, at most ``limit`` (a REST page)."""


class MemoryStore:
    """The embedded default: a dict in this process, and its MN-IDs kept in
    order, so a page of a listing costs its own length, not a sort of the
    whole cache (which at 100,000 MNs held the event loop for each page)."""

    __slots__ = ("_entries", "_order")

    def __init__(self) -> None:
        self._entries: Dict[str, CmdBce] = {}
        self._order: List[str] = []

    def get(self, mn_id: str) -> Optional[CmdBce]:
        return self._entries.get(mn_id)

    def put(self, bce: CmdBce) -> None:
        if bce.mn_id not in self._entries:
            bisect.insort(self._order, bce.mn_id)
        self._entries[bce.mn_id] = bce

    def delete(self, mn_id: str) -> None:
        if self._entries.pop(mn_id, None) is not None:
            del self._order[bisect.bisect_left(self._order, mn_id)]

    def ids(self, after: Optional[str] = None, limit: Optional[int] = None) -> List[str]:
        start = 0 if after is None else bisect.bisect_right(self._order, after)
        return self._order[start:None if limit is None else start + limit]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[CmdBce]:
        return iter(list(self._entries.values()))
