"""The journal backend: the store contract, durability across a reopen,
crash recovery (a torn or corrupt tail, a kill during compaction), disk
errors and the file lock."""
from __future__ import annotations

import json
import os
import shutil
import signal
import tracemalloc

import pytest

from dmm_ryu.shell.state import store_factory
from dmm_ryu.store import journal
from dmm_ryu.store.base import MemoryStore, StoreUnavailable
from dmm_ryu.store.journal import (COMPACT_RATIO, MAGIC, JournalStore, frame, frames,
                                   node_journal_path)
from tests.unit.store_contract import CONTRACT


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "state" / "maar1.journal")


def state(store):
    return [(r.key, r.value, r.revision) for r in store.load()]


@pytest.mark.parametrize("check", CONTRACT, ids=lambda check: check.__name__)
def test_journal_store_contract(check, path):
    store = JournalStore(path)
    check(store)
    store.close()


@pytest.mark.parametrize("check", CONTRACT, ids=lambda check: check.__name__)
def test_the_contract_holds_after_every_reopen(check, path):
    """The same checks, on a store that compacts at every commit."""
    store = JournalStore(path, compact_floor=0)
    check(store)
    before = state(store)
    store.close()
    again = JournalStore(path)
    assert state(again) == before
    again.close()


def test_records_revisions_and_the_mark_survive_a_reopen(path):
    first = JournalStore(path)
    first.commit({"bce/mn1": b"a", "pool/p": b"b"})
    newest = first.commit({"new": b"2"})["new"]
    first.commit({"new": None})
    before = state(first)
    first.close()
    again = JournalStore(path)
    assert state(again) == before
    assert again.commit({"next": b"3"})["next"] > newest
    again.close()


def test_the_file_is_private_and_named_after_the_node(tmp_path):
    path = node_journal_path(str(tmp_path / "dmm"), "cmd")
    JournalStore(path, synchronous="FULL").close()
    assert path.endswith("/dmm/cmd.journal")
    assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_only_normal_and_full_synchronous_are_accepted(path):
    with pytest.raises(ValueError, match="synchronous"):
        JournalStore(path, synchronous="OFF")


def test_a_second_store_on_an_open_file_is_refused(path):
    first = JournalStore(path)
    with pytest.raises(StoreUnavailable, match="in use"):
        JournalStore(path)
    first.close()
    JournalStore(path).close()


def test_a_file_that_is_not_a_journal_is_unavailable(path):
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as out:
        out.write(b"SQLite format 3\0" + bytes(100))
    with pytest.raises(StoreUnavailable, match="not a journal"):
        JournalStore(path)


def test_a_closed_store_is_unavailable(path):
    store = JournalStore(path)
    store.close()
    for call in (store.load, lambda: store.get("k"), lambda: store.commit({"k": b"v"})):
        with pytest.raises(StoreUnavailable):
            call()


# --- crash recovery -------------------------------------------------------------------

def two_commits(path):
    """A file of two commits; (state after the first, its end, the file's end)."""
    store = JournalStore(path)
    store.commit({"bce/mn1": b"one", "pool/p1": b"x" * 40})
    prior, end = state(store), os.path.getsize(path)
    store.commit({"bce/mn1": None, "bce/mn2": b"two"})
    store.close()
    return prior, end, os.path.getsize(path)


def test_a_tail_torn_at_any_byte_replays_as_the_prior_commit(path, tmp_path):
    prior, end, size = two_commits(path)
    for cut in range(end, size):
        torn = str(tmp_path / f"torn-{cut}")
        shutil.copy(path, torn)
        os.truncate(torn, cut)
        store = JournalStore(torn)
        assert state(store) == prior, cut
        assert os.path.getsize(torn) == end  # the torn bytes are cut off
        revision = store.commit({"after": b"crash"})["after"]
        store.close()
        again = JournalStore(torn)
        assert state(again) == sorted(prior + [("after", b"crash", revision)])
        again.close()


@pytest.mark.parametrize("where", ["crc", "payload", "length"])
def test_a_corrupt_frame_and_what_follows_are_dropped(path, where):
    prior, end, _ = two_commits(path)
    store = JournalStore(path)
    store.commit({"third": b"3"})
    store.close()
    offset = {"crc": end + 4, "payload": end + 12, "length": end}[where]
    with open(path, "r+b") as data:
        data.seek(offset)
        byte = data.read(1)
        data.seek(offset)
        data.write(bytes([byte[0] ^ 0x5A]))
    store = JournalStore(path)
    assert state(store) == prior
    store.close()


def test_a_file_torn_inside_its_header_starts_empty(path):
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as out:
        out.write(MAGIC[:3])
    store = JournalStore(path)
    assert store.load() == [] and store.commit({"k": b"v"}) == {"k": 1}
    store.close()


def test_a_frame_with_an_intact_crc_but_bad_entries_ends_the_replay():
    """A frame that claims more entries than it holds (a bug, not a crash)
    is refused like a corrupt one: the replay stops before it."""
    good = frame(1, [("k", b"v", 1)])
    payload = journal._MARK.pack(2, 2) + good[8 + journal._MARK.size:]
    lying = journal._FRAME.pack(len(payload), journal.zlib.crc32(payload)) + payload
    assert [mark for _, mark, _, _ in frames(MAGIC + good + lying + good)] == [1]
    assert [mark for _, mark, _, _ in frames(MAGIC + good[:-1])] == []


def test_a_failed_write_writes_nothing_and_the_store_goes_on(path, monkeypatch):
    store = JournalStore(path)
    store.commit({"k": b"1"})
    size, real = os.path.getsize(path), os.write
    monkeypatch.setattr(journal.os, "write", lambda fd, data: real(fd, data[:5]))
    with pytest.raises(StoreUnavailable, match="short write"):
        store.commit({"k": b"2", "big": b"x" * 1000})
    monkeypatch.setattr(journal.os, "write", real)
    assert os.path.getsize(path) == size and store.get("k").value == b"1"
    store.commit({"k": b"3"})
    store.close()
    assert JournalStore(path).get("k").value == b"3"


# --- compaction -----------------------------------------------------------------------

def test_compaction_bounds_the_file_and_keeps_the_state(path):
    store = JournalStore(path, compact_floor=4096)
    for n in range(2000):
        store.commit({f"bce/mn{n % 10}": b"v" * 50, "gone": None})
    before = state(store)
    assert os.path.getsize(path) <= 4096 + 200
    store.close()
    again = JournalStore(path)
    assert state(again) == before and again.commit({"x": b"1"})["x"] == 2001
    again.close()


#: Bytes rewritten under one key at each commit: enough that the file passes
#: COMPACT_RATIO times its live data (the values) and is compacted.
CHURN = 4096 * (COMPACT_RATIO + 1)


def test_values_stay_in_the_file_and_are_read_back_from_it(path):
    """The store keeps an index, not the values (issue 17: held in memory
    they cost ~2.5 KB per MN): 4 MB of records add far less than that to
    the heap, and every value, read one by one or all at once, after a
    compaction and after a reopen, is what was written."""
    store = JournalStore(path, compact_floor=1 << 20)
    values = {f"mn/{n:04d}": os.urandom(4096) for n in range(1000)}
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for key, value in values.items():
            store.commit({key: bytes(bytearray(value)), "churn": os.urandom(CHURN)})  # fresh copies
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert held < 400_000, held  # the values alone are 4,096,000 bytes
    assert os.path.getsize(path) < len(values) * (4096 + CHURN)  # compacted on the way
    for reopened in (False, True):
        if reopened:
            store.close()
            store = JournalStore(path)
        assert all(store.get(key).value == value for key, value in values.items())
        assert {r.key: r.value for r in store.load("mn/")} == values
    store.close()


COMPACTION_POINTS = ["written", "synced", "renamed"]


def die_at(point):
    return lambda reached: os.kill(os.getpid(), signal.SIGKILL) if reached == point else None


def commit_until_killed(path, point, progress):
    """In a forked child: commit until a compaction reaches ``point``, and
    die there by SIGKILL; ``progress`` holds the last commit begun."""
    pid = os.fork()
    if pid == 0:
        try:
            store = JournalStore(path, compact_floor=2048, crash_at=die_at(point))
            for n in range(10000):
                with open(progress, "w") as out:
                    out.write(str(n))
                store.commit({"counter": str(n).encode(), f"mn/{n % 5}": b"x" * 30})
        finally:
            os._exit(3)
    return os.waitpid(pid, 0)[1]


@pytest.mark.parametrize("point", COMPACTION_POINTS)
def test_a_kill_during_compaction_leaves_the_old_or_the_new_file(path, tmp_path, point):
    os.makedirs(os.path.dirname(path))
    progress = str(tmp_path / "progress")
    status = commit_until_killed(path, point, progress)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
    last = int(open(progress).read())
    store = JournalStore(path)
    assert store.get("counter").value == str(last).encode()  # its frame was written first
    assert len(store.load("mn/")) == 5 and not os.path.exists(path + ".compact")
    assert store.commit({"after": b"1"})["after"] == last + 2
    store.close()


# --- the backend choice ([dmm] state_store) ---------------------------------------------

def test_each_backend_keeps_one_file_per_node_in_state_dir(tmp_path):
    for backend, suffix in (("journal", "journal"), ("sqlite", "sqlite")):
        store = store_factory(str(tmp_path), f" {backend.upper()} ")("maar1")
        store.commit({"k": b"v"})
        store.close()
        assert (tmp_path / f"maar1.{suffix}").exists()
    assert isinstance(store_factory("none")("cmd"), MemoryStore)


def test_an_unknown_backend_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="state_store 'lmdb'"):
        store_factory(str(tmp_path), "lmdb")


def test_an_operator_reads_a_journal_in_use_as_json_lines(path, capsys):
    from dmm_ryu.store import journal_read
    store = JournalStore(path)
    store.commit({"mn/a": b'{"v": 1, "mn_id": "a"}', "mn/b": b'{"v": 1}'})
    store.commit({"mn/b": None, "mn/c": b"not json"})
    assert journal_read.main([path]) == 0  # while the store holds its lock
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [{"key": "mn/a", "revision": 1, "record": {"v": 1, "mn_id": "a"}},
                     {"key": "mn/c", "revision": 2, "record": {"undecodable": b"not json".hex()}}]
    store.close()
    assert journal_read.main([path + ".missing"]) == 1 and journal_read.main([]) == 2
    assert "usage" in capsys.readouterr().err
