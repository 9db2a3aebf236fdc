"""Frames an MN sent before its rules were in, held for re-injection.

An MN that arrives without an RS (a radio roam keeps its carrier: issue
14) is detected from its first data frame, punted because its source MAC
has no admission rule at this MAAR.  That frame, and what else the MN sends
until its registration installs its routes, is kept here and sent back
through the pipeline once the rules are in, so the trigger costs no packet.

Bounded per MN (frames and bytes) and in all (bytes and MNs): a flood of
fresh MACs costs at most :data:`TOTAL_BYTES` of memory.  A frame older
than :data:`MAX_AGE` is not worth delivering (the sender has retransmitted
or given up), so an MN's frames expire together with its first one.
"""
from __future__ import annotations

from typing import Dict, List, NamedTuple, Tuple

#: A registration takes 10-30 ms on the user-space datapath (relay waits for
#: its P-MAARs): enough for a roaming MN's live flow at some Mbit/s of
#: full-size frames.  8 frames lost 2-4 frames per roam to the trigger.
PER_MN_FRAMES = 64
PER_MN_BYTES = 64 * 1536
TOTAL_BYTES = 4 * 1024 * 1024
TOTAL_MNS = 1024
#: Seconds a held frame stays worth delivering.
MAX_AGE = 2.0


class _Held(NamedTuple):
    since: float
    frames: List[Tuple[int, bytes]]


class PuntBuffer:
    """Per MN-ID, (access port, frame) in arrival order."""

    __slots__ = ("_held", "_bytes")

    def __init__(self) -> None:
        self._held: Dict[str, _Held] = {}
        self._bytes = 0

    def add(self, mn_id: str, port: int, frame: bytes, now: float) -> List[str]:
        """Hold ``frame``; the reasons of the frames dropped instead (this
        one when a bound is reached, expired ones of this MN)."""
        dropped = self._expire(mn_id, now)
        if len(self._held) >= TOTAL_MNS or self._bytes + len(frame) > TOTAL_BYTES:
            dropped += self._sweep(now)
        held = self._held.get(mn_id)
        if held is None and len(self._held) >= TOTAL_MNS:
            return dropped + ["punt_buffer_full"]
        if held is not None and (len(held.frames) >= PER_MN_FRAMES
                                 or _size(held) + len(frame) > PER_MN_BYTES):
            return dropped + ["punt_buffer_mn_full"]
        if self._bytes + len(frame) > TOTAL_BYTES:
            return dropped + ["punt_buffer_full"]
        if held is None:
            held = self._held[mn_id] = _Held(now, [])
        held.frames.append((port, frame))
        self._bytes += len(frame)
        return dropped

    def take(self, mn_id: str, now: float) -> Tuple[List[Tuple[int, bytes]], int]:
        """The MN's frames still worth delivering, and how many expired."""
        expired = len(self._expire(mn_id, now))
        held = self._held.pop(mn_id, None)
        if held is None:
            return [], expired
        self._bytes -= _size(held)
        return held.frames, expired

    def holds(self, mn_id: str) -> bool:
        return mn_id in self._held

    def _expire(self, mn_id: str, now: float) -> List[str]:
        held = self._held.get(mn_id)
        if held is None or now - held.since <= MAX_AGE:
            return []
        del self._held[mn_id]
        self._bytes -= _size(held)
        return ["punt_buffer_expired"] * len(held.frames)

    def _sweep(self, now: float) -> List[str]:
        """Expire the oldest MNs' frames (insertion order is age order)."""
        dropped: List[str] = []
        while self._held:
            oldest = next(iter(self._held))
            if now - self._held[oldest].since <= MAX_AGE:
                break
            dropped += self._expire(oldest, now)
        return dropped

    def __len__(self) -> int:
        return sum(len(h.frames) for h in self._held.values())


def _size(held: _Held) -> int:
    return sum(len(frame) for _, frame in held.frames)
