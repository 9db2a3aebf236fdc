"""The controller's clock: wall-clock time at start plus monotonic time since.

Timers must not jump when the wall clock is stepped (NTP, an operator's
``date``): a +100 s step would expire every session, a -5 s step make the
next handover fail with 157.  The wire's Timestamp option needs real time,
so the domain clock reads the wall clock once, at start, and advances with
the monotonic clock from there: timestamps stay increasing whatever the
wall clock does, and track real time to within the steps since start.
"""
from __future__ import annotations

import time
from typing import Callable


class DomainClock:
    """``now()``: seconds since the epoch, immune to wall-clock steps."""

    def __init__(self, wall: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._offset = wall() - monotonic()

    def now(self) -> float:
        return self._offset + self._monotonic()
