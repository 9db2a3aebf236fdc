"""Where the nodes' durable state lives: ``[dmm] state_dir``.

One SQLite file per node (``<state_dir>/<node>.sqlite``, WAL, directory
mode 0700) by default; ``state_dir = none`` keeps state in memory only (a
restart then loses every session: for tests and throw-away labs).  The
fault-injection hook of the crash tests (``DMM_FAULT_KILL_AFTER_WRITES``)
wraps every store when set.
"""
from __future__ import annotations

from typing import Callable

from dmm_ryu.store.base import KvStore, MemoryStore
from dmm_ryu.store.fault import wrap_from_env
from dmm_ryu.store.sqlite import SqliteStore, node_store_path

DEFAULT_STATE_DIR = "/var/lib/dmm-ryu"
IN_MEMORY = "none"


def store_factory(state_dir: str) -> Callable[[str], KvStore]:
    """The store of each node, by node name."""
    if state_dir.strip().lower() == IN_MEMORY:
        return lambda node: wrap_from_env(MemoryStore())
    return lambda node: wrap_from_env(SqliteStore(node_store_path(state_dir, node)))
