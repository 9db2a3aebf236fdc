"""The exclusive prefix pool of one MAAR (draft section 3: a prefix pool
belongs exclusively to each MAAR, so a prefix is always routable at the MAAR
that handed it out)."""
from __future__ import annotations

from collections import deque
from ipaddress import IPv6Network
from typing import Deque, Dict, Optional


class PrefixPool:
    """Hands out /``prefix_len`` prefixes of ``pool``, one owner each.

    Released prefixes are reused oldest-first, so a prefix that just left an
    MN is the last to be given to the next one (late packets for the old
    owner have time to drain).
    """

    __slots__ = ("_base", "_step", "_size", "_length", "_next", "_free", "_owner")

    def __init__(self, pool: IPv6Network, prefix_len: int) -> None:
        self._base = int(pool.network_address)
        self._step = 1 << (128 - prefix_len)
        self._size = 1 << (prefix_len - pool.prefixlen)
        self._length = prefix_len
        self._next = 0
        self._free: Deque[int] = deque()
        self._owner: Dict[IPv6Network, str] = {}

    def allocate(self, mn_id: str) -> Optional[IPv6Network]:
        """A fresh prefix for ``mn_id``, or None when the pool is exhausted."""
        if self._free:
            index = self._free.popleft()
        elif self._next < self._size:
            index, self._next = self._next, self._next + 1
        else:
            return None
        prefix = IPv6Network((self._base + index * self._step, self._length))
        self._owner[prefix] = mn_id
        return prefix

    def release(self, prefix: IPv6Network) -> None:
        """Give ``prefix`` back; releasing a prefix not handed out is a no-op."""
        if self._owner.pop(prefix, None) is not None:
            self._free.append((int(prefix.network_address) - self._base) // self._step)

    def restore(self, allocations: Dict[IPv6Network, str]) -> None:
        """Exactly ``allocations`` are handed out (a warm restart): the
        prefixes below the highest one that nobody holds are free again."""
        indexes = {(int(p.network_address) - self._base) // self._step for p in allocations}
        self._owner = dict(allocations)
        self._next = max(indexes, default=-1) + 1
        self._free = deque(i for i in range(self._next) if i not in indexes)

    def owner(self, prefix: IPv6Network) -> Optional[str]:
        return self._owner.get(prefix)

    def allocated(self) -> Dict[IPv6Network, str]:
        """A copy of prefix -> MN-ID, for snapshots and invariant checks."""
        return dict(self._owner)

    @property
    def available(self) -> int:
        return self._size - self._next + len(self._free)

    @property
    def size(self) -> int:
        return self._size

    @property
    def used(self) -> int:
        return len(self._owner)
