"""Protocol timers of many core nodes in one heap, on the caller's clock.

The core asks for timers by key (``StartTimer``/``CancelTimer``); starting a
key again replaces it.  Replaced and cancelled entries stay in the heap and
are skipped lazily, so every operation is O(log n); when they pass a
quarter of the live ones the heap is rebuilt without them (O(n), amortised
O(1): four entries kept per dead one dropped), so a handover that restarts
a timer several times does not leave entries behind until their deadlines
(issue 17: ~7 per MN).  At most a quarter dead entry per live timer stays:
each costs ~130 bytes (its tuple, sequence number, deadline and key).
"""
from __future__ import annotations

import heapq
import itertools
from typing import Dict, Hashable, List, Optional, Tuple

Owner = Hashable
#: A heap entry: deadline, sequence number (FIFO among equal deadlines), owner, key.
Entry = Tuple[float, int, Owner, Hashable]
#: Dead entries tolerated beyond the live count before a rebuild.
COMPACT_FLOOR = 64
_NONE: Dict[Hashable, Entry] = {}  # the keys of an owner without timers (never written)


class TimerQueue:
    """Pending ``(owner, key)`` timers with absolute deadlines.

    Live timers are kept by owner, then key (``owner -> key -> heap
    entry``; an entry is live if it is the one its key maps to): owners are
    the few nodes of the process, so that costs a handful of dicts, where
    one dict keyed by ``(owner, key)`` pairs cost a 56-byte tuple per timer
    (two timers per MN, issue 17)."""

    def __init__(self) -> None:
        self._heap: List[Entry] = []
        self._live: Dict[Owner, Dict[Hashable, Entry]] = {}
        self._count = 0
        self._seq = itertools.count()

    def __len__(self) -> int:
        """Live timers."""
        return self._count

    @property
    def entries(self) -> int:
        """Heap entries, dead ones included (what the queue's memory holds)."""
        return len(self._heap)

    def start(self, owner: Owner, key: Hashable, at: float) -> None:
        keys = self._live.get(owner)
        if keys is None:
            keys = self._live[owner] = {}
        old = keys.get(key)
        if old is None:
            self._count += 1
        else:
            # Overwritten in place, with the key object the table already
            # holds (a core builds the key afresh each time): a pop and
            # insert would leave a dummy slot in the table per restart, and
            # the new key object a second equal tuple.
            key = old[3]
        entry = (at, next(self._seq), owner, key)
        keys[key] = entry
        heapq.heappush(self._heap, entry)
        self._compact_if_mostly_dead()

    def cancel(self, owner: Owner, key: Hashable) -> None:
        keys = self._live.get(owner)
        if keys is not None and keys.pop(key, None) is not None:
            self._count -= 1
            self._compact_if_mostly_dead()

    def cancel_owner(self, owner: Owner) -> None:
        """Cancel every timer of ``owner`` (its state is being reloaded)."""
        self._count -= len(self._live.pop(owner, ()))

    def next_deadline(self) -> Optional[float]:
        self._skip_dead()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> Optional[Tuple[Owner, Hashable]]:
        """The earliest timer due at ``now`` (removed), or ``None``."""
        self._skip_dead()
        if not self._heap or self._heap[0][0] > now:
            return None
        _, _, owner, key = heapq.heappop(self._heap)
        del self._live[owner][key]
        self._count -= 1
        return owner, key

    def _skip_dead(self) -> None:
        heap, live = self._heap, self._live
        while heap:
            entry = heap[0]
            if live.get(entry[2], _NONE).get(entry[3]) is entry:
                return
            heapq.heappop(heap)

    def _compact_if_mostly_dead(self) -> None:
        """Drop dead entries once they exceed a quarter of the live ones (and
        a floor, so a tiny queue is not rebuilt on every call)."""
        count, live = self._count, self._live
        if len(self._heap) > count + count // 4 + COMPACT_FLOOR:
            self._heap = [e for e in self._heap if live.get(e[2], _NONE).get(e[3]) is e]
            heapq.heapify(self._heap)
