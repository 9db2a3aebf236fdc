"""The exclusive prefix pool of one MAAR (draft section 3: a prefix pool
belongs exclusively to each MAAR, so a prefix is always routable at the MAAR
that handed it out)."""
from __future__ import annotations

from collections import deque
from ipaddress import IPv6Network
from typing import Deque, Dict, List, Optional


def pool_index(prefix: IPv6Network, base: int, length: int) -> Optional[int]:
    """The index of ``prefix`` among the /``length`` prefixes counted from
    address ``base`` (None: another length, or below ``base``): how a pool
    and the CMD's owner index (core/trust.py) find a prefix's slot."""
    if prefix.prefixlen != length:
        return None
    index = (int(prefix.network_address) - base) >> (128 - length)
    return index if index >= 0 else None


class PrefixPool:
    """Hands out /``prefix_len`` prefixes of ``pool``, one owner each.

    Released prefixes are reused oldest-first, so a prefix that just left an
    MN is the last to be given to the next one (late packets for the old
    owner have time to drain).  Owners are kept in a list by the prefix's
    index in the pool (indexes are handed out densely from 0): 8 bytes per
    prefix where a dict keyed by prefix cost 59 at 10,000 MNs and 105 at
    100,000 (issue 17, third pass); the prefix objects themselves live in
    the BCEs that hold them.
    """

    __slots__ = ("_base", "_step", "_size", "_length", "_next", "_free", "_owners", "_used")

    def __init__(self, pool: IPv6Network, prefix_len: int) -> None:
        self._base = int(pool.network_address)
        self._step = 1 << (128 - prefix_len)
        self._size = 1 << (prefix_len - pool.prefixlen)
        self._length = prefix_len
        self._next = 0
        self._free: Deque[int] = deque()
        self._owners: List[Optional[str]] = []  # by index, below _next
        self._used = 0

    def allocate(self, mn_id: str) -> Optional[IPv6Network]:
        """A fresh prefix for ``mn_id``, or None when the pool is exhausted."""
        if self._free:
            index = self._free.popleft()
            self._owners[index] = mn_id
        elif self._next < self._size:
            index, self._next = self._next, self._next + 1
            self._owners.append(mn_id)
        else:
            return None
        self._used += 1
        return self._prefix(index)

    def release(self, prefix: IPv6Network) -> None:
        """Give ``prefix`` back; releasing a prefix not handed out is a no-op."""
        index = self._index(prefix)
        if index is not None and self._owners[index] is not None:
            self._owners[index] = None
            self._used -= 1
            self._free.append(index)

    def restore(self, allocations: Dict[IPv6Network, str]) -> None:
        """Exactly ``allocations`` are handed out (a warm restart): the
        prefixes below the highest one that nobody holds are free again.
        A prefix that is not one of this pool's cannot have been handed out
        here and is left out."""
        owners = {i: mn_id for p, mn_id in allocations.items()
                  if (i := self._index(p, self._size)) is not None}
        self._next = max(owners, default=-1) + 1
        self._owners = [owners.get(i) for i in range(self._next)]
        self._used = len(owners)
        self._free = deque(i for i in range(self._next) if i not in owners)

    def owner(self, prefix: IPv6Network) -> Optional[str]:
        index = self._index(prefix)
        return None if index is None else self._owners[index]

    def allocated(self) -> Dict[IPv6Network, str]:
        """A copy of prefix -> MN-ID, for snapshots and invariant checks."""
        return {self._prefix(i): mn_id for i, mn_id in enumerate(self._owners)
                if mn_id is not None}

    def _prefix(self, index: int) -> IPv6Network:
        return IPv6Network((self._base + index * self._step, self._length))

    def _index(self, prefix: IPv6Network, limit: Optional[int] = None) -> Optional[int]:
        """The pool index of ``prefix`` if it is one of this pool's prefixes
        below ``limit`` (default: those handed out so far), else None."""
        index = pool_index(prefix, self._base, self._length)
        bound = self._next if limit is None else limit
        return index if index is not None and index < bound else None

    @property
    def available(self) -> int:
        return self._size - self._next + len(self._free)

    @property
    def size(self) -> int:
        return self._size

    @property
    def used(self) -> int:
        return self._used
