"""What every KvStore backend must do, as functions of one empty store.

A backend's test module runs each function of CONTRACT on a fresh, empty
store of its kind, e.g.::

    @pytest.mark.parametrize("check", CONTRACT, ids=lambda c: c.__name__)
    def test_contract(check, store):
        check(store)
"""
import pytest

from dmm_ryu.store.base import StoreConflict


def absent_key_reads_as_none(store):
    assert store.get("bce/nobody") is None
    assert store.load() == []


def put_returns_the_revision_get_reports(store):
    revisions = store.commit({"bce/mn1": b"one"})
    record = store.get("bce/mn1")
    assert record.value == b"one"
    assert record.revision == revisions["bce/mn1"] > 0


def every_write_raises_the_revision(store):
    first = store.commit({"k": b"1"})["k"]
    second = store.commit({"k": b"2"})["k"]
    assert second > first
    assert store.get("k").revision == second


def values_are_bytes_kept_exactly(store):
    values = {"empty": b"", "binary": bytes(range(256)), "text": "é/ü".encode()}
    store.commit(values)
    assert {k: store.get(k).value for k in values} == values


def delete_returns_zero_and_removes(store):
    store.commit({"k": b"v", "other": b"w"})
    assert store.commit({"k": None}) == {"k": 0}
    assert store.get("k") is None
    assert [r.key for r in store.load()] == ["other"]


def deleting_an_absent_key_is_no_error(store):
    assert store.commit({"never": None}) == {"never": 0}
    assert store.get("never") is None


def expect_zero_creates_only_if_absent(store):
    revision = store.commit({"k": b"v"}, expect={"k": 0})["k"]
    with pytest.raises(StoreConflict) as caught:
        store.commit({"k": b"again"}, expect={"k": 0})
    assert (caught.value.key, caught.value.expected, caught.value.actual) == ("k", 0, revision)
    assert store.get("k").value == b"v"


def expect_the_read_revision_swaps(store):
    revision = store.commit({"k": b"1"})["k"]
    new = store.commit({"k": b"2"}, expect={"k": revision})["k"]
    assert store.get("k").value == b"2" and new > revision


def stale_revision_conflicts_and_writes_nothing(store):
    old = store.commit({"k": b"1"})["k"]
    current = store.commit({"k": b"2"})["k"]
    with pytest.raises(StoreConflict) as caught:
        store.commit({"k": b"3", "side": b"x", "gone": None}, expect={"k": old})
    assert (caught.value.expected, caught.value.actual) == (old, current)
    assert store.get("k").value == b"2" and store.get("side") is None


def conflict_names_the_key_that_moved(store):
    revisions = store.commit({"a": b"1", "b": b"1"})
    with pytest.raises(StoreConflict) as caught:
        store.commit({"a": b"2"}, expect={"a": revisions["a"], "b": 0})
    assert caught.value.key == "b"
    assert store.get("a").value == b"1"


def expected_revision_of_a_deleted_key_conflicts(store):
    revision = store.commit({"k": b"1"})["k"]
    store.commit({"k": None})
    with pytest.raises(StoreConflict) as caught:
        store.commit({"k": b"2"}, expect={"k": revision})
    assert caught.value.actual == 0


def expect_may_guard_a_key_not_written(store):
    guard = store.commit({"pool/epoch": b"7"})["pool/epoch"]
    store.commit({"bce/mn1": b"x"}, expect={"pool/epoch": guard})
    store.commit({"pool/epoch": b"8"})
    with pytest.raises(StoreConflict):
        store.commit({"bce/mn2": b"y"}, expect={"pool/epoch": guard})
    assert store.get("bce/mn1").value == b"x" and store.get("bce/mn2") is None


def expect_alone_checks_and_writes_nothing(store):
    """A commit of no writes is a check of revisions (a node about to send
    from state it did not change fences itself this way)."""
    revision = store.commit({"k": b"1"})["k"]
    assert store.commit({}, expect={"k": revision, "absent": 0}) == {}
    assert store.get("k").revision == revision
    store.commit({"k": b"2"})
    with pytest.raises(StoreConflict) as caught:
        store.commit({}, expect={"k": revision})
    assert caught.value.key == "k"


def revisions_rise_past_a_deleted_newest_key(store):
    """The revision of a deleted key is never handed out again."""
    store.commit({"old": b"1"})
    newest = store.commit({"new": b"2"})["new"]
    store.commit({"new": None})
    assert store.commit({"again": b"3"})["again"] > newest


def commit_is_atomic_over_its_keys(store):
    revisions = store.commit({"bce/a": b"1", "bce/b": b"2", "bce/c": None})
    assert set(revisions) == {"bce/a", "bce/b", "bce/c"}
    assert [(r.key, r.value, r.revision) for r in store.load("bce/")] == [
        ("bce/a", b"1", revisions["bce/a"]), ("bce/b", b"2", revisions["bce/b"])]


def load_filters_by_prefix_in_key_order(store):
    store.commit({"bce/mn2": b"2", "pool/x": b"p", "bce/mn1": b"1", "bcex": b"n"})
    assert [r.key for r in store.load("bce/")] == ["bce/mn1", "bce/mn2"]
    assert [r.key for r in store.load()] == ["bce/mn1", "bce/mn2", "bcex", "pool/x"]
    assert store.load("nothing/") == []


CONTRACT = [
    absent_key_reads_as_none,
    put_returns_the_revision_get_reports,
    every_write_raises_the_revision,
    values_are_bytes_kept_exactly,
    delete_returns_zero_and_removes,
    deleting_an_absent_key_is_no_error,
    expect_zero_creates_only_if_absent,
    expect_the_read_revision_swaps,
    stale_revision_conflicts_and_writes_nothing,
    conflict_names_the_key_that_moved,
    expected_revision_of_a_deleted_key_conflicts,
    expect_may_guard_a_key_not_written,
    expect_alone_checks_and_writes_nothing,
    revisions_rise_past_a_deleted_newest_key,
    commit_is_atomic_over_its_keys,
    load_filters_by_prefix_in_key_order,
]
