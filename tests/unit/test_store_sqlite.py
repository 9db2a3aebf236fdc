"""The store contract on the memory, SQLite and journal backends, what only SQLite promises
(durability across a reopen and kill -9, thread safety, disk errors), and
the SIGKILL fault injection the crash-consistency tests rely on."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dmm_ryu
from dmm_ryu.shell.state import BACKENDS, open_store
from dmm_ryu.store import fault
from dmm_ryu.store.base import MemoryStore, StoreConflict, StoreUnavailable
from dmm_ryu.store.fault import FaultInjectingStore, KillSwitch, switch_from_env, wrap_from_env
from dmm_ryu.store.journal import JournalStore
from dmm_ryu.store.sqlite import SqliteStore, node_store_path

ROOT = os.path.dirname(os.path.dirname(dmm_ryu.__file__))


KINDS = {"memory": lambda directory: MemoryStore(),
         "sqlite": lambda directory: SqliteStore(str(directory / "n.sqlite")),
         "journal": lambda directory: JournalStore(str(directory / "n.journal"))}


@pytest.fixture(params=sorted(KINDS))
def store(request, tmp_path):
    made = KINDS[request.param](tmp_path)
    yield made
    made.close()


# --- the contract, on both backends -------------------------------------------------------

def test_an_empty_store_has_nothing(store):
    assert store.get("bce/mn1") is None and store.load() == []


def test_a_commit_writes_every_key_at_one_new_revision(store):
    first = store.commit({"bce/mn1": b"a", "pool/p1": b"b"})
    second = store.commit({"bce/mn1": b"c"})
    assert first["bce/mn1"] == first["pool/p1"] > 0 and second["bce/mn1"] > first["bce/mn1"]
    assert store.get("bce/mn1").value == b"c" and store.get("bce/mn1").revision == second["bce/mn1"]
    assert store.get("pool/p1").revision == first["pool/p1"]


def test_none_deletes_and_reports_revision_zero(store):
    store.commit({"bce/mn1": b"a"})
    assert store.commit({"bce/mn1": None, "bce/absent": None}) == {"bce/mn1": 0, "bce/absent": 0}
    assert store.get("bce/mn1") is None


def test_values_are_opaque_bytes(store):
    store.commit({"k/empty": b"", "k/binary": bytes(range(256))})
    assert store.get("k/empty").value == b"" and store.get("k/binary").value == bytes(range(256))


def test_load_returns_a_prefix_in_key_order(store):
    store.commit({"bce/mn10": b"3", "bce/mn1": b"1", "bcx": b"x", "bce/mn2": b"2", "pool/a": b"p"})
    assert [r.key for r in store.load("bce/")] == ["bce/mn1", "bce/mn10", "bce/mn2"]
    assert [r.key for r in store.load("bce/mn1")] == ["bce/mn1", "bce/mn10"]
    assert len(store.load()) == 5 and store.load("zzz") == []


def test_expect_zero_means_must_not_exist(store):
    store.commit({"bce/mn1": b"a"}, expect={"bce/mn1": 0})
    with pytest.raises(StoreConflict) as caught:
        store.commit({"bce/mn1": b"b"}, expect={"bce/mn1": 0})
    assert (caught.value.key, caught.value.expected) == ("bce/mn1", 0)
    assert caught.value.actual == store.get("bce/mn1").revision


def test_a_failed_expect_writes_nothing_of_the_commit(store):
    revision = store.commit({"bce/mn1": b"a"})["bce/mn1"]
    with pytest.raises(StoreConflict):
        store.commit({"bce/mn1": None, "pool/p1": b"new"}, expect={"bce/mn1": revision + 1})
    assert store.get("bce/mn1").value == b"a" and store.get("pool/p1") is None
    store.commit({"bce/mn1": b"b"}, expect={"bce/mn1": revision})
    assert store.get("bce/mn1").value == b"b"


def test_expect_may_guard_a_key_that_is_not_written(store):
    guard = store.commit({"cmd/epoch": b"1"})["cmd/epoch"]
    store.commit({"bce/mn1": b"a"}, expect={"cmd/epoch": guard})
    with pytest.raises(StoreConflict):
        store.commit({"bce/mn1": b"b"}, expect={"cmd/epoch": guard + 5})


operations = st.lists(st.tuples(st.sampled_from(["a", "b", "c/d", "c/e"]),
                                st.none() | st.binary(max_size=8)), min_size=1, max_size=4)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(operations, max_size=8))
def test_behaves_like_a_dict_of_the_last_writes(store, commits):
    for record in store.load():
        store.commit({record.key: None})
    model = {}
    for writes in commits:
        store.commit(dict(writes))
        model.update(dict(writes))
    alive = {key: value for key, value in model.items() if value is not None}
    assert {r.key: r.value for r in store.load()} == alive


# --- SQLite only ----------------------------------------------------------------------

def test_records_and_revisions_survive_a_reopen(tmp_path):
    path = str(tmp_path / "n.sqlite")
    first = SqliteStore(path)
    revision = first.commit({"bce/mn1": b"a", "pool/p": b"b"})["bce/mn1"]
    before = first.load()
    first.close()
    again = SqliteStore(path)
    assert again.load() == before and again.get("bce/mn1").revision == revision
    assert again.commit({"x": b"1"})["x"] > revision
    again.close()


def test_after_a_reopen_revisions_rise_past_a_deleted_newest_key(tmp_path):
    """The last revision lives in memory; the file keeps its mark when the
    key that held it is deleted, so a restart never reuses it."""
    path = str(tmp_path / "n.sqlite")
    first = SqliteStore(path)
    first.commit({"old": b"1"})
    newest = first.commit({"new": b"2"})["new"]
    first.commit({"new": None})
    first.close()
    again = SqliteStore(path)
    assert again.commit({"next": b"3"})["next"] > newest
    again.close()


def test_two_connections_to_one_file_never_share_a_revision(tmp_path):
    path = str(tmp_path / "n.sqlite")
    one, two = SqliteStore(path), SqliteStore(path)
    seen = [one.commit({"a": b"1"})["a"], two.commit({"b": b"1"})["b"],
            one.commit({"a": b"2"})["a"], two.commit({"b": b"2"})["b"]]
    assert seen == sorted(set(seen))
    assert one.get("b").revision == seen[3]
    one.close()
    two.close()


def test_the_file_is_in_wal_mode_in_a_private_directory(tmp_path):
    path = node_store_path(str(tmp_path / "state" / "dmm"), "maar1")
    store = SqliteStore(path, synchronous="FULL")
    store.commit({"k": b"v"})
    assert path.endswith("/state/dmm/maar1.sqlite")
    assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


@pytest.mark.parametrize("node", ["", ".hidden", "a/b", "../cmd"])
def test_node_names_that_cannot_name_a_file_are_refused(node):
    with pytest.raises(ValueError):
        node_store_path("/var/lib/dmm-ryu", node)


def test_only_normal_and_full_synchronous_are_accepted(tmp_path):
    with pytest.raises(ValueError, match="synchronous"):
        SqliteStore(str(tmp_path / "n.sqlite"), synchronous="OFF")


def test_a_file_that_is_not_a_database_is_unavailable(tmp_path):
    path = tmp_path / "n.sqlite"
    path.write_bytes(b"this is not an SQLite database, it is a text file" * 100)
    with pytest.raises(StoreUnavailable, match="n.sqlite"):
        SqliteStore(str(path))


def test_a_directory_in_the_way_is_unavailable(tmp_path):
    (tmp_path / "n.sqlite").mkdir()
    with pytest.raises(StoreUnavailable):
        SqliteStore(str(tmp_path / "n.sqlite"))


def test_a_file_of_a_newer_schema_is_refused(tmp_path):
    path = str(tmp_path / "n.sqlite")
    sqlite3.connect(path).execute("PRAGMA user_version = 99")
    with pytest.raises(StoreUnavailable, match="schema version 99"):
        SqliteStore(path)


def test_a_full_disk_fails_the_commit_whole_and_the_store_recovers(tmp_path):
    store = SqliteStore(str(tmp_path / "n.sqlite"))
    store.commit({"bce/mn1": b"a"})
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StoreUnavailable, match="full"):
        store.commit({"bce/mn1": b"b", "big": os.urandom(64 * 1024)})
    assert store.get("bce/mn1").value == b"a" and store.get("big") is None
    store._db.execute("PRAGMA max_page_count = 1000000")
    store.commit({"big": b"fits now"})
    assert store.get("big").value == b"fits now"
    store.close()


def test_a_closed_store_is_unavailable(tmp_path):
    store = SqliteStore(str(tmp_path / "n.sqlite"))
    store.close()
    for call in (store.load, lambda: store.get("k"), lambda: store.commit({"k": b"v"})):
        with pytest.raises(StoreUnavailable):
            call()


def increment(store, key, times):
    """Read-modify-write with CAS, retried on conflict, as a node would."""
    for _ in range(times):
        while True:
            record = store.get(key)
            count = int(record.value) if record else 0
            try:
                store.commit({key: str(count + 1).encode()},
                             expect={key: record.revision if record else 0})
                break
            except StoreConflict:
                continue


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_threads_sharing_one_store_lose_no_update(tmp_path, kind):
    store = KINDS[kind](tmp_path)
    threads = [threading.Thread(target=increment, args=(store, "counter", 50)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get("counter").value == b"200"
    store.close()


def run_child(script, tmp_path, *args, **env):
    """Run ``script`` in a fresh interpreter with this checkout importable."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), str(tmp_path), *args],
                          env={**os.environ, "PYTHONPATH": ROOT, **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("module, kind", [("sqlite", "SqliteStore"), ("journal", "JournalStore")])
def test_green_and_native_threads_share_one_store_under_eventlet(tmp_path, module, kind):
    """Every commit lands, each at its own revision, when green threads and
    a native one (the timer thread) write at once."""
    child = run_child(f"""
        import eventlet
        eventlet.monkey_patch()
        import sys
        from eventlet import patcher
        from dmm_ryu.store.{module} import {kind}
        store = {kind}(sys.argv[1] + "/n.store")
        def write(name):
            for n in range(40):
                store.commit({{f"{{name}}/{{n}}": b"x"}})
                eventlet.sleep(0)
        native = patcher.original("threading").Thread(target=write, args=("native",))
        native.start()
        pool = eventlet.GreenPool()
        for name in ("g1", "g2", "g3"):
            pool.spawn(write, name)
        pool.waitall()
        native.join()
        records = store.load()
        print(len(records), len({{r.revision for r in records}}))
    """, tmp_path)
    assert (child.returncode, child.stdout.split()) == (0, ["160", "160"]), child.stderr


# --- fault injection ------------------------------------------------------------------

class Killed(Exception):
    """Stands in for SIGKILL in the in-process tests."""


def killed():
    raise Killed


def test_kill_after_the_nth_commit_has_applied_it(tmp_path):
    store = FaultInjectingStore(MemoryStore(), switch=KillSwitch(after=2, kill=killed))
    store.commit({"k1": b"1"})
    with pytest.raises(Killed):
        store.commit({"k2": b"2"})
    assert [r.key for r in store.load()] == ["k1", "k2"]


def test_kill_before_the_nth_commit_applies_nothing_of_it():
    store = FaultInjectingStore(MemoryStore(), switch=KillSwitch(before=2, kill=killed))
    store.commit({"k1": b"1"})
    with pytest.raises(Killed):
        store.commit({"k2": b"2"})
    assert store.get("k2") is None and store.get("k1").value == b"1"


def test_failed_commits_do_not_count_and_stores_share_a_switch():
    switch = KillSwitch(after=3, kill=killed)
    cmd, maar = (FaultInjectingStore(MemoryStore(), switch=switch) for _ in range(2))
    cmd.commit({"a": b"1"})
    with pytest.raises(StoreConflict):
        maar.commit({"b": b"1"}, expect={"b": 7})
    maar.commit({"b": b"2"})
    with pytest.raises(Killed):
        cmd.commit({"c": b"3"})
    assert switch.done == 3


@pytest.mark.parametrize("environ, message", [
    ({fault.KILL_AFTER_ENV: "x"}, "not a commit number"),
    ({fault.KILL_BEFORE_ENV: "0"}, "count from 1"),
])
def test_bad_fault_settings_are_refused(environ, message):
    with pytest.raises(ValueError, match=message):
        switch_from_env(environ)


def test_without_fault_settings_stores_are_not_wrapped(monkeypatch):
    monkeypatch.delenv(fault.KILL_AFTER_ENV, raising=False)
    monkeypatch.delenv(fault.KILL_BEFORE_ENV, raising=False)
    fault.process_switch.cache_clear()
    store = MemoryStore()
    assert wrap_from_env(store) is store
    fault.process_switch.cache_clear()
    assert switch_from_env({fault.KILL_AFTER_ENV: " 4 "}).after == 4


CRASHING_CHILD = """
    import sys
    from dmm_ryu.shell.state import open_store
    from dmm_ryu.store.fault import wrap_from_env
    stores = [wrap_from_env(open_store(sys.argv[2], sys.argv[1], n)) for n in ("cmd", "maar1")]
    for n in range(1, 10):
        stores[n % 2].commit({f"write/{n}": b"x" * 100, f"also/{n}": b"y"})
    print("survived")
"""


def written(tmp_path, backend):
    """Which commits of the crashed child are in its two files."""
    numbers = []
    for node in ("cmd", "maar1"):
        store = open_store(backend, str(tmp_path), node)
        keys = {r.key for r in store.load()}
        numbers += [int(k.split("/")[1]) for k in keys if k.startswith("write/")]
        assert {k.replace("write", "also") for k in keys if k.startswith("write/")} <= keys
        store.close()
    return sorted(numbers)


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("variable, durable", [
    (fault.KILL_AFTER_ENV, [1, 2, 3]),
    (fault.KILL_BEFORE_ENV, [1, 2]),
])
def test_the_process_dies_by_sigkill_at_the_third_commit(tmp_path, variable, durable, backend):
    child = run_child(CRASHING_CHILD, tmp_path, backend, **{variable: "3"})
    assert child.returncode == -9 and "survived" not in child.stdout, child.stderr
    assert written(tmp_path, backend) == durable
