"""Protocol timers of many core nodes in one heap, on the caller's clock.

The core asks for timers by key (``StartTimer``/``CancelTimer``); starting a
key again replaces it.  Replaced and cancelled entries stay in the heap and
are skipped lazily, so every operation is O(log n).
"""
from __future__ import annotations

import heapq
import itertools
from typing import Dict, Hashable, List, Optional, Tuple

Owner = Hashable


class TimerQueue:
    """Pending ``(owner, key)`` timers with absolute deadlines."""

    def __init__(self) -> None:
        self._heap: List[Tuple[float, int, Owner, Hashable]] = []
        self._live: Dict[Tuple[Owner, Hashable], int] = {}
        self._seq = itertools.count()

    def start(self, owner: Owner, key: Hashable, at: float) -> None:
        seq = next(self._seq)
        self._live[(owner, key)] = seq
        heapq.heappush(self._heap, (at, seq, owner, key))

    def cancel(self, owner: Owner, key: Hashable) -> None:
        self._live.pop((owner, key), None)

    def cancel_owner(self, owner: Owner) -> None:
        """Cancel every timer of ``owner`` (its state is being reloaded)."""
        for live in [k for k in self._live if k[0] == owner]:
            del self._live[live]

    def next_deadline(self) -> Optional[float]:
        self._skip_dead()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> Optional[Tuple[Owner, Hashable]]:
        """The earliest timer due at ``now`` (removed), or ``None``."""
        self._skip_dead()
        if not self._heap or self._heap[0][0] > now:
            return None
        _, _, owner, key = heapq.heappop(self._heap)
        del self._live[(owner, key)]
        return owner, key

    def _skip_dead(self) -> None:
        while self._heap:
            _, seq, owner, key = self._heap[0]
            if self._live.get((owner, key)) == seq:
                return
            heapq.heappop(self._heap)
