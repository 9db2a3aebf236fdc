"""Crash injection: SIGKILL the process at a chosen store commit.

The crash-consistency tests of issue #13 restart the controller after it
died at every point of a handover.  Counting commits, not messages, names
those points exactly: ``DMM_FAULT_KILL_AFTER_WRITES=N`` dies right after
the Nth commit is durable (its acknowledgement never leaves),
``DMM_FAULT_KILL_BEFORE_WRITE=N`` dies just before the Nth commit is
applied (nothing of it is written).  Commits are counted over every store
:func:`wrap_from_env` wrapped in the process: a handover writes the CMD's
and several MAARs' stores, and the Nth write of the controller is the
point of interest.  A commit that raises (conflict, disk error) does not
count.  SIGKILL, not an exception: no ``finally``, no ``atexit``, no
flushing, exactly what an OOM kill or ``kill -9`` leaves behind.
"""
from __future__ import annotations

import functools
import logging
import os
import signal
import threading
from typing import Callable, Dict, List, Mapping, Optional

from .base import KvStore, Record

KILL_AFTER_ENV = "DMM_FAULT_KILL_AFTER_WRITES"
KILL_BEFORE_ENV = "DMM_FAULT_KILL_BEFORE_WRITE"

log = logging.getLogger(__name__)


def sigkill() -> None:
    """Die now, the way ``kill -9`` kills."""
    os.kill(os.getpid(), signal.SIGKILL)


class KillSwitch:
    """Counts commits through every store sharing it; kills at the chosen one.

    Commits through a switch are serialized, so "the Nth commit" is exact
    even when several threads write.
    """

    def __init__(self, after: Optional[int] = None, before: Optional[int] = None,
                 kill: Callable[[], None] = sigkill) -> None:
        for name, value in (("after", after), ("before", before)):
            if value is not None and value < 1:
                raise ValueError(f"kill {name} commit {value}: commits count from 1")
        self.after, self.before, self._kill = after, before, kill
        self.done = 0
        self._lock = threading.Lock()

    def commit(self, store: KvStore, writes: Mapping[str, Optional[bytes]],
               expect: Mapping[str, int]) -> Dict[str, int]:
        with self._lock:
            if self.done + 1 == self.before:
                self._kill()
            revisions = store.commit(writes, expect)
            self.done += 1
            if self.done == self.after:
                self._kill()
            return revisions


class FaultInjectingStore:
    """``inner`` with a :class:`KillSwitch` on its commits: after the
    ``kill_after``-th successful commit, or before the ``kill_before``-th.
    Pass ``switch`` to share one count between stores."""

    def __init__(self, inner: KvStore, kill_after: Optional[int] = None, *,
                 kill_before: Optional[int] = None, switch: Optional[KillSwitch] = None) -> None:
        self.inner = inner
        self.switch = switch or KillSwitch(kill_after, kill_before)

    def load(self, prefix: str = "") -> List[Record]:
        return self.inner.load(prefix)

    def get(self, key: str) -> Optional[Record]:
        return self.inner.get(key)

    def commit(self, writes: Mapping[str, Optional[bytes]],
               expect: Mapping[str, int] = {}) -> Dict[str, int]:
        return self.switch.commit(self.inner, writes, expect)

    def close(self) -> None:
        self.inner.close()


def _env_count(environ: Mapping[str, str], name: str) -> Optional[int]:
    text = environ.get(name, "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a commit number") from None


def switch_from_env(environ: Mapping[str, str] = os.environ) -> Optional[KillSwitch]:
    """The switch the environment asks for, or None (the normal case)."""
    after = _env_count(environ, KILL_AFTER_ENV)
    before = _env_count(environ, KILL_BEFORE_ENV)
    if after is None and before is None:
        return None
    log.warning("fault injection armed: SIGKILL after commit %s / before commit %s",
                after, before)
    return KillSwitch(after, before)


@functools.lru_cache(maxsize=None)
def process_switch() -> Optional[KillSwitch]:
    """The one switch of this process, read from the environment at the
    first call (the runtime opens its stores in one thread at start)."""
    return switch_from_env()


def wrap_from_env(store: KvStore) -> KvStore:
    """``store`` itself, or wrapped in :func:`process_switch` when
    ``DMM_FAULT_KILL_AFTER_WRITES`` or ``DMM_FAULT_KILL_BEFORE_WRITE`` is set."""
    switch = process_switch()
    return store if switch is None else FaultInjectingStore(store, switch=switch)
