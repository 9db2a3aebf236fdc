"""Canonical objects for decoded prefixes, addresses and MN-IDs (issue 17:
memory per MN).

Every node that receives a PBU or PBA keeps the MN-ID and prefixes it
carries (BCE keys, ``local``/``p_maars``), and an ``IPv6Network`` costs
about 260 bytes.  The codec looks each decoded value up here, keyed by its
wire bytes, and the encoder registers what it sends, so within one process
the S-MAAR's pool prefix, the CMD's copy and the P-MAAR's copy are one
object.  The table is FIFO-bounded: a value is decoded a few times within
the milliseconds of a handover, then rarely, so the bound costs no hits
that matter and keeps memory fixed whatever the peers send.  Not locked:
the codec runs in the controller's dispatcher (one lock, green threads).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Hashable

#: Values kept (about 0.2 KB each besides the value, which its users hold
#: anyway): the objects of the handovers in flight in the process, about six
#: keys each, so ~170 handovers (1,000/s at 50 ms each is 50).
CAPACITY = 1024


class InternTable:
    """Wire key -> the one object decoded (or encoded) for it, newest
    ``capacity`` keys kept."""

    __slots__ = ("_values", "_capacity")

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._values: Dict[Hashable, Any] = {}
        self._capacity = capacity

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The object for ``key``; ``build()`` makes it on a miss.  A
        ``build`` that raises leaves the table as it was."""
        found = self._values.get(key)
        if found is None:
            found = build()
            self.put(key, found)
        return found

    def put(self, key: Hashable, value: Any) -> None:
        """Make ``value`` the canonical object of ``key`` (the encoder's own)."""
        values = self._values
        if key not in values and len(values) >= self._capacity:
            del values[next(iter(values))]
        values[key] = value


#: One table for the whole codec: keys are tagged, so kinds never collide.
TABLE = InternTable()
