"""The election's fence and degraded state against a real 3-member etcd
(no OVS needed): writes carry the leader's term; with the quorum lost the
leader is degraded and its store refuses writes before sending them; with
the quorum back it leads on and writes again; the CMD node on that store
refuses what it cannot store and resumes by itself."""
import time
import uuid

import pytest

from dmm_ryu.store.base import MemoryStore, StoreUnavailable
from dmm_ryu.store.election import Election
from dmm_ryu.store.etcd import EtcdStore
from dmm_ryu.testbed.etcd import EtcdMembers
from dmm_ryu.testbed.fakedomain import FakeDomain, domain_text
from dmm_ryu.testbed.ovs import wait_for
from tests.unit.test_controller import MN_ID, attach

from tests.conftest import require_etcd

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

require_etcd()


@pytest.fixture
def leading(tmp_path):
    """A 3-member cluster and an elected instance on it: (members, store, election)."""
    members = EtcdMembers(tmp_path / "etcd", "cluster").start()
    store = EtcdStore(members.endpoints(), f"test/{uuid.uuid4().hex}/", 2.0)
    election = Election(store, "cmd", "a").start()
    try:
        assert wait_for(lambda: election.is_leader, timeout=5, interval=0.05)
        yield members, store, election
    finally:
        election.resign()
        members.stop()


def test_writes_carry_the_term_and_a_stale_term_is_refused(leading):
    _, store, election = leading
    assert election.term > 0
    store.commit({"mn/x": b"1"}, {"mn/x": 0})
    election.term += 1000  # as if our term had ended and another begun
    with pytest.raises(StoreUnavailable, match="term has ended"):
        store.commit({"mn/y": b"1"}, {"mn/y": 0})
    assert store.get("mn/y") is None


def test_quorum_lost_degrades_refuses_at_once_and_recovers(leading, capsys):
    members, store, election = leading
    lost = time.monotonic()
    members.stop("m0", "m1")
    assert wait_for(lambda: election.degraded, timeout=election.ttl + 3, interval=0.05)
    degraded_after = time.monotonic() - lost
    assert not store.writable()
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="degraded"):
        store.commit({"mn/x": b"1"}, {"mn/x": 0})
    assert time.monotonic() - started < 0.1, "refused before sending"
    back = time.monotonic()
    members.start()
    assert wait_for(lambda: election.is_leader and not election.degraded, timeout=20,
                    interval=0.05)
    recovered_after = time.monotonic() - back
    store.commit({"mn/x": b"1"}, {"mn/x": 0})
    with capsys.disabled():
        print(f"\nquorum lost: degraded after {degraded_after:.2f} s; members "
              f"restarted: leading again after {recovered_after:.2f} s")


SECOND_MAC = "0a:00:00:00:00:02"
SECOND_ID = "0a0000000002@dmm.example"


def test_the_cmd_on_a_quorumless_etcd_refuses_at_once_keeps_its_cache_and_resumes(leading):
    """The runtime's CMD on the real fenced store (the switches are fakes):
    a registration during the outage is refused with 128 without waiting
    for etcd, the registered MN stays in the cache, and once the quorum is
    back the refused MN's next attempt registers."""
    members, store, election = leading
    dom = FakeDomain(domain_text(), store_of=lambda n: store if n == "cmd" else MemoryStore())
    attach(dom, "maar1")
    assert store.get(f"mn/{MN_ID}") is not None
    members.stop("m0", "m1")
    assert wait_for(lambda: election.degraded, timeout=election.ttl + 3, interval=0.05)
    started = time.monotonic()
    attach(dom, "maar1", port=3, mac=SECOND_MAC)
    assert time.monotonic() - started < 0.5, "refused without waiting for etcd"
    assert dom.dmm.stats.errors()["cmd_store_unavailable"] == 1
    assert dom.dmm.cmd_node.binding(SECOND_ID) is None
    assert dom.dmm.cmd_node.binding(MN_ID) is not None
    members.start()
    assert wait_for(lambda: election.is_leader, timeout=20, interval=0.05)
    dom.advance(1.5)  # past the MAAR's hold-down
    attach(dom, "maar1", port=3, mac=SECOND_MAC)
    assert dom.dmm.cmd_node.binding(SECOND_ID) is not None
    assert store.get(f"mn/{SECOND_ID}") is not None
