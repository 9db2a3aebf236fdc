"""The etcd store and election against real etcd members (no OVS needed).

Each module-scoped fixture starts its own members on free ports in
23790-23999 under a temporary directory and stops them afterwards.
"""
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from dmm_ryu.store.base import StoreConflict, StoreUnavailable
from dmm_ryu.store.election import Election
from dmm_ryu.store.etcd import EtcdStore
from dmm_ryu.testbed.etcd import EtcdMembers, free_ports
from dmm_ryu.testbed.ovs import wait_for
from tests.unit.store_contract import CONTRACT

from tests.conftest import require_etcd

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 2.0

require_etcd()


def _members(tmp_path_factory, kind):
    return EtcdMembers(tmp_path_factory.mktemp(f"etcd-{kind}"), kind).start()


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    members = _members(tmp_path_factory, "single")
    yield members
    members.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    members = _members(tmp_path_factory, "cluster")
    yield members
    members.stop()


def _store(members, prefix=None):
    return EtcdStore(members.endpoints(), prefix or f"test/{uuid.uuid4().hex}/", TIMEOUT)


@pytest.mark.parametrize("check", CONTRACT, ids=lambda check: check.__name__)
def test_etcd_store_contract(check, single):
    store = _store(single)
    check(store)
    store.close()


def test_two_clients_cannot_both_swap_one_revision(single):
    prefix = f"test/{uuid.uuid4().hex}/"
    first, second = _store(single, prefix), _store(single, prefix)
    base = first.commit({"bce/mn1": b"at maar1"})["bce/mn1"]
    read = second.get("bce/mn1").revision
    won = first.commit({"bce/mn1": b"at maar2"}, expect={"bce/mn1": base})["bce/mn1"]
    with pytest.raises(StoreConflict) as caught:
        second.commit({"bce/mn1": b"at maar3"}, expect={"bce/mn1": read})
    assert caught.value.actual == won
    assert second.get("bce/mn1").value == b"at maar2"
    second.commit({"bce/mn1": b"at maar3"}, expect={"bce/mn1": won})
    assert first.get("bce/mn1").value == b"at maar3"


def test_a_dead_endpoint_is_skipped(single):
    dead = f"http://127.0.0.1:{free_ports(1)}"
    store = EtcdStore([dead, *single.endpoints()], f"test/{uuid.uuid4().hex}/", TIMEOUT)
    assert store.commit({"k": b"v"})["k"] > 0
    assert store.get("k").value == b"v"


def test_no_reachable_endpoint_is_unavailable_at_once():
    store = EtcdStore([f"http://127.0.0.1:{free_ports(1)}"], "test/", TIMEOUT)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        store.commit({"k": b"v"})
    assert time.monotonic() - started < TIMEOUT


def _commit_latency_us(store, count=200):
    started = time.perf_counter()
    for n in range(count):
        store.commit({f"bce/mn{n % 20}": b"x" * 64})
    return (time.perf_counter() - started) / count * 1e6


def test_commit_latency_is_reported(single, cluster, capsys):
    """Figures for the report (µs per sequential commit, fsync included)."""
    figures = {kind: _commit_latency_us(_store(members))
               for kind, members in (("single", single), ("cluster", cluster))}
    with capsys.disabled():
        print("\netcd commit latency: " + ", ".join(f"{k} {v:.0f} us" for k, v in figures.items()))
    assert all(v < 200_000 for v in figures.values()), figures


def _commits(store, writes):
    try:
        return store.commit(writes)
    except StoreUnavailable:
        return None


def test_cluster_serves_without_one_member(cluster):
    cluster.start()
    store = _store(cluster)
    revision = store.commit({"bce/mn1": b"1"})["bce/mn1"]
    cluster.stop("m0")
    try:
        # m0 is the first endpoint: the client must move on to m1/m2.
        assert wait_for(lambda: _commits(store, {"bce/mn1": b"2"}), timeout=10)
        assert store.get("bce/mn1").revision > revision
    finally:
        cluster.start()


def test_cluster_without_quorum_refuses_then_recovers(cluster):
    cluster.start()
    store = _store(cluster)
    store.commit({"bce/mn1": b"1"})
    cluster.stop("m1", "m2")
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            store.commit({"bce/mn1": b"2"})
        assert time.monotonic() - started < TIMEOUT + 0.5
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            store.get("bce/mn1")
        assert time.monotonic() - started < TIMEOUT + 0.5
    finally:
        cluster.start()
    assert wait_for(lambda: _commits(store, {"bce/mn1": b"3"}), timeout=15)
    assert store.get("bce/mn1").value == b"3"


def _elections(members, prefix, *ids, changes=None):
    """Started elections; ``changes`` collects (instance, leading) events."""
    store = _store(members, prefix)
    return [Election(store, "cmd", i, on_change=None if changes is None else
                     (lambda now, i=i: changes.append((i, now)))).start() for i in ids]


def _sole_leader(elections):
    leaders = [e for e in elections if e.is_leader]
    return leaders[0] if len(leaders) == 1 else None


def test_one_of_two_leads_and_resigning_hands_over(single):
    changes = []
    a, b = _elections(single, f"test/{uuid.uuid4().hex}/", "a", "b", changes=changes)
    try:
        leader = wait_for(lambda: _sole_leader([a, b]), timeout=5, interval=0.05)
        assert leader is not None
        follower = b if leader is a else a
        assert wait_for(lambda: follower.leader() == leader.instance_id, timeout=2)
        leader.resign()
        assert wait_for(lambda: follower.is_leader, timeout=1, interval=0.05)
        assert follower.leader() == follower.instance_id and not leader.is_leader
        assert changes == [(leader.instance_id, True), (leader.instance_id, False),
                           (follower.instance_id, True)]
    finally:
        a.resign()
        b.resign()


def test_killed_leader_is_replaced_within_ttl_plus_one_second(single, capsys):
    """The leader runs under eventlet in its own process, as ryu-manager
    would; kill -9 it and time the follower's takeover."""
    prefix = f"test/{uuid.uuid4().hex}/"
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("election_child.py")),
         single.endpoints()[0], prefix, "cmd-a"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = child.stdout.readline()
        assert line.startswith("leading revision=") and "green=True" in line, \
            line + child.stderr.read()
        (follower,) = _elections(single, prefix, "cmd-b")
        assert wait_for(lambda: follower.leader() == "cmd-a", timeout=2)
        assert not follower.is_leader
        child.kill()
        killed = time.monotonic()
        assert wait_for(lambda: follower.is_leader, timeout=follower.ttl + 2, interval=0.02)
        failover = time.monotonic() - killed
    finally:
        child.kill()
        child.wait()
    records = EtcdStore(single.endpoints(), prefix).load()
    follower.resign()
    with capsys.disabled():
        print(f"\nelection failover after kill -9: {failover:.2f} s (ttl {follower.ttl} s)")
    assert failover < follower.ttl + 1
    # The dead leader's record stays; the election key is not a record.
    assert [(r.key, r.value) for r in records] == [("bce/cmd-a", b"registered")]
