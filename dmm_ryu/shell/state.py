"""Where the nodes' durable state lives: ``[dmm] state_dir`` and
``[dmm] state_store``.

One file per node in ``state_dir`` (directory mode 0700): an SQLite file
``<node>.sqlite`` (WAL) by default, or with ``state_store = journal`` an
append-only journal ``<node>.journal`` (:mod:`dmm_ryu.store.journal`: a
commit is one ``os.write``, ~12 us where SQLite's is ~31 us; only an index is
held in memory).  SQLite stays the default because the measured durability
cost misses its 10 % target on either backend (README, durability figures:
most of it is encoding the records, which no backend removes): the journal
is not worth a change of default by that rule.  Both survive ``kill -9`` of
the controller, neither a power loss of its host.
``state_dir = none`` keeps state in memory only (a restart then loses every
session: for tests and throw-away labs).  The fault-injection hook of the
crash tests (``DMM_FAULT_KILL_AFTER_WRITES``) wraps every store when set.
"""
from __future__ import annotations

from typing import Callable

from dmm_ryu.store.base import KvStore, MemoryStore
from dmm_ryu.store.fault import wrap_from_env
from dmm_ryu.store.journal import JournalStore, node_journal_path
from dmm_ryu.store.sqlite import SqliteStore, node_store_path

DEFAULT_STATE_DIR = "/var/lib/dmm-ryu"
DEFAULT_STATE_STORE = "sqlite"
IN_MEMORY = "none"
#: The embedded backends by ``[dmm] state_store``: (store class, file of a node).
BACKENDS = {
    "journal": (JournalStore, node_journal_path),
    "sqlite": (SqliteStore, node_store_path),
}


def open_store(backend: str, state_dir: str, node: str) -> KvStore:
    """``node``'s store of kind ``backend`` in ``state_dir``."""
    kind, path_of = BACKENDS[backend]
    return kind(path_of(state_dir, node))


def store_factory(state_dir: str,
                  backend: str = DEFAULT_STATE_STORE) -> Callable[[str], KvStore]:
    """The store of each node, by node name; ValueError for an unknown backend."""
    backend = backend.strip().lower()
    if backend not in BACKENDS:
        raise ValueError(f"[dmm] state_store {backend!r}: one of {', '.join(BACKENDS)}")
    if state_dir.strip().lower() == IN_MEMORY:
        return lambda node: wrap_from_env(MemoryStore())
    return lambda node: wrap_from_env(open_store(backend, str(state_dir), node))
