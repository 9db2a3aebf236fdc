"""A CMD that cannot store a registration refuses it with a clear status
(128, a WARNING line, the ``cmd_store_unavailable`` counter) instead of
staying silent, and the domain recovers by itself once the store writes
again: the S-MAAR drops the MN, and its next frame after the hold-down
registers.  Store faults are faked (disk full, etcd quorum lost)."""
import logging
from ipaddress import IPv6Address

import pytest

from dmm_ryu.store.base import MemoryStore, StoreUnavailable
from dmm_ryu.testbed.fakedomain import FakeDomain, domain_text
from dmm_ryu.wire.mh.model import Status
from tests.unit.test_controller import MN_ID, attach

MAAR1 = IPv6Address("2001:db8:ffff::1")
UNSTORED_STATUS = Status.REASON_UNSPECIFIED  # 128, as README documents


class FailingStore(MemoryStore):
    """Refuses to write once ``broken``; with ``reads_fail`` reads fail too
    (etcd without quorum); with ``fenced`` it says so before any write (a
    fenced etcd store of a degraded instance)."""

    broken = reads_fail = fenced = False
    commits = 0

    def commit(self, writes, expect={}):
        self.commits += 1
        if self.broken or self.fenced:
            raise StoreUnavailable("the disk is full")
        return super().commit(writes, expect)

    def get(self, key):
        if self.reads_fail:
            raise StoreUnavailable("etcd: no leader")
        return super().get(key)

    def writable(self):
        return not self.fenced


@pytest.fixture
def stores():
    return {}


@pytest.fixture
def dom(stores):
    return FakeDomain(domain_text(), store_of=lambda name: stores.setdefault(name, FailingStore()))


def refused(dom) -> int:
    """PBAs with the unstored status the CMD sent."""
    return sum(n for k, n in dom.dmm.stats.messages().items()
               if k.direction == "tx" and k.type == "PBA" and k.status == UNSTORED_STATUS)


def test_a_pbu_whose_write_fails_is_refused_with_128_and_a_warning(dom, stores, caplog):
    stores["cmd"].broken = True
    with caplog.at_level(logging.WARNING, logger="dmm"):
        attach(dom, "maar1")
    assert dom.dmm.cmd_node.count() == 0
    assert refused(dom) == 1
    assert dom.dmm.stats.errors()["cmd_store_unavailable"] == 1
    assert dom.dmm.nodes["maar1"].core.counters[f"rejected_{int(UNSTORED_STATUS)}"] == 1
    assert f"cmd refuses the PBU of {MN_ID} from {MAAR1} with status 128" in caplog.text
    assert MN_ID not in dom.dmm.nodes["maar1"].core.bces, "the S-MAAR dropped the MN"


def test_service_resumes_by_itself_when_the_store_writes_again(dom, stores):
    stores["cmd"].broken = True
    attach(dom, "maar1")
    stores["cmd"].broken = False
    dom.advance(1.5)  # the hold-down passes; the MN's next RS registers
    attach(dom, "maar1")
    assert dom.dmm.cmd_node.binding(MN_ID).serving == MAAR1
    assert refused(dom) == 1


def test_a_store_that_refuses_writes_in_advance_is_not_even_tried(dom, stores):
    stores["cmd"].fenced = True
    before = stores["cmd"].commits
    attach(dom, "maar1")
    assert refused(dom) == 1 and stores["cmd"].commits == before
    assert dom.dmm.cmd_node.core.counters["pbu_received"] == 0


def test_a_failed_read_back_still_refuses_and_nothing_escapes(dom, stores):
    stores["cmd"].broken = stores["cmd"].reads_fail = True
    attach(dom, "maar1")
    assert refused(dom) == 1
    assert dom.dmm.stats.errors()["store_rollback_failed"] == 1


def test_a_standby_cmd_answers_nothing(dom, stores):
    stores["cmd"].fenced = True
    dom.dmm.deactivate("cmd")
    attach(dom, "maar1")
    assert refused(dom) == 0
    assert dom.dmm.stats.errors()["event_at_standby_node"] == 1


def test_a_timer_whose_write_fails_retries_once_a_second_and_logs_rarely(dom, stores, caplog):
    """Undone timers are re-armed no sooner than STORE_RETRY: not at their
    past deadline, which re-fired them at every tick with an ERROR each."""
    attach(dom, "maar1")
    maar1 = stores["maar1"]
    maar1.broken = True
    with caplog.at_level(logging.ERROR, logger="dmm"):
        before = maar1.commits
        for _ in range(400):  # 40 s in 100 ms ticks: lifetime refreshes come due
            dom.advance(0.1)
    attempts = maar1.commits - before
    assert 0 < attempts <= 45  # about one a second, not one a tick
    errors = [r for r in caplog.records if "could not store" in r.getMessage()]
    assert 1 <= len(errors) <= 2


def test_a_maar_whose_write_and_read_back_fail_sends_nothing_and_raises_nothing(dom, stores):
    """Regression: only the CMD caught a failed roll-back; at a MAAR the
    StoreError escaped the event handler."""
    stores["maar1"].broken = stores["maar1"].reads_fail = True
    attach(dom, "maar1")
    assert dom.dmm.stats.errors()["store_rollback_failed"] == 1
    assert dom.dmm.cmd_node.count() == 0, "no PBU left a MAAR that could not store"
