"""Retransmission with exponential backoff and a give-up limit.

Shared by the MAAR (its PBUs to the CMD) and the CMD (its PBUs to P-MAARs):
both need the same RFC 6275 11.8 behaviour, so it lives here once.  The
caller rebuilds the message on each retry (a fresh sequence number), this
class only decides *when* and *whether*.
"""
from __future__ import annotations

from typing import Dict, Hashable, Optional, Tuple

from dmm_ryu.core.actions import CancelTimer, StartTimer
from dmm_ryu.core.config import Timers


class Backoff:
    """Outstanding requests by timer key: attempts made and next delay."""

    __slots__ = ("_timers", "_pending")

    def __init__(self, timers: Timers) -> None:
        self._timers = timers
        self._pending: Dict[Hashable, Tuple[int, float]] = {}

    def start(self, key: Hashable, now: float) -> StartTimer:
        """First transmission of a request: arm its retransmission timer."""
        delay = self._timers.retransmit_initial
        self._pending[key] = (1, delay)
        return StartTimer(key, now + delay)

    def resume(self, key: Hashable) -> None:
        """A request restored after a restart: its retries count from the
        start again (its timer comes back from the persisted deadline)."""
        self._pending.setdefault(key, (1, self._timers.retransmit_initial))

    def retry(self, key: Hashable, now: float) -> Optional[StartTimer]:
        """The timer fired: the next timer, or None when the limit is reached
        (the request is then forgotten: the caller gives up)."""
        attempts, delay = self._pending[key]
        if attempts > self._timers.retransmit_limit:
            del self._pending[key]
            return None
        delay = min(delay * 2, self._timers.retransmit_max)
        self._pending[key] = (attempts + 1, delay)
        return StartTimer(key, now + delay)

    def stop(self, key: Hashable) -> Optional[CancelTimer]:
        """The answer came: cancel the timer (None when nothing was pending)."""
        if self._pending.pop(key, None) is None:
            return None
        return CancelTimer(key)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._pending

    def __len__(self) -> int:
        return len(self._pending)
