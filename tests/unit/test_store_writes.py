"""How often the nodes write their stores: once per node per event that
changes its state (every record the event dirtied in that one commit),
never for an event that changes nothing.  The store's commits are the
price of durability (issue #13), so their count is asserted here."""
from typing import List, Tuple

import pytest

from dmm_ryu.runtime.node import Node
from dmm_ryu.store.base import MemoryStore, StoreConflict
from dmm_ryu.testbed.fakedomain import FakeDomain, domain_text
from tests.unit.test_controller import MN_ID, attach

OTHER_MAC, OTHER_ID = "0a:00:00:00:00:02", "0a0000000002@dmm.example"

Entry = Tuple[str, ...]


class Journal:
    """The events the nodes handle and the commits their stores make, in order."""

    def __init__(self, monkeypatch) -> None:
        self.entries: List[Entry] = []
        handle = Node.handle

        def logged(node, event, now):
            self.entries.append(("event", node.name))
            return handle(node, event, now)
        monkeypatch.setattr(Node, "handle", logged)

    def store_of(self, name: str) -> MemoryStore:
        journal = self

        class Logged(MemoryStore):
            def commit(self, writes, expect={}):
                journal.entries.append(("commit", name, *sorted(writes)))
                return super().commit(writes, expect)
        return Logged()

    def commits_per_event(self) -> List[Tuple[str, int]]:
        """(node, commits) for every event since the last clear."""
        counts: List[Tuple[str, int]] = []
        for entry in self.entries:
            if entry[0] == "event":
                counts.append((entry[1], 0))
            else:
                assert counts and counts[-1][0] == entry[1], f"commit outside its event: {entry}"
                counts[-1] = (entry[1], counts[-1][1] + 1)
        return counts


@pytest.fixture
def journal(monkeypatch):
    return Journal(monkeypatch)


@pytest.mark.parametrize("mode", ["relay", "locator", "proxy", "pmipv6"])
def test_a_handover_commits_once_per_node_per_event(mode, journal):
    dom = FakeDomain(domain_text(mode), store_of=journal.store_of)
    attach(dom, "maar1")
    journal.entries.clear()
    attach(dom, "maar2")
    counts = journal.commits_per_event()
    assert len(counts) >= 3  # the RS at maar2, the CMD's PBU, its PBA at least
    assert all(n == 1 for _, n in counts), counts


def test_an_event_that_changes_nothing_commits_nothing(journal):
    """A repeated Router Solicitation from a registered MN is answered from
    state (an RA): nothing to store, no commit."""
    dom = FakeDomain(domain_text("proxy"), store_of=journal.store_of)
    attach(dom, "maar1")
    journal.entries.clear()
    attach(dom, "maar1")
    assert journal.commits_per_event() == [("maar1", 0)]
    assert dom.last_ra()[:2] == ("maar1", 2)


def test_a_save_writes_only_the_records_that_changed(journal):
    """Two MNs at maar1; saving both after nothing changed writes nothing,
    and after a change to one writes that one alone."""
    dom = FakeDomain(domain_text("proxy"), store_of=journal.store_of)
    attach(dom, "maar1")
    attach(dom, "maar1", port=3, mac=OTHER_MAC)
    node = dom.dmm.nodes["maar1"]
    journal.entries.clear()
    node.state.save([MN_ID, OTHER_ID])
    assert journal.entries == []
    node.core.attachments.present.pop(OTHER_ID)
    node.state.save([MN_ID, OTHER_ID])
    assert journal.entries == [("commit", "maar1", "mn/" + OTHER_ID)]


def test_state_no_record_can_hold_is_refused_like_a_failed_write(journal):
    """A sequence number beyond 64 bits cannot come back from JSON exactly:
    the event is undone to what the store holds, nothing is sent, counted."""
    dom = FakeDomain(domain_text("proxy"), store_of=journal.store_of)
    attach(dom, "maar1")
    bce = dom.dmm.nodes["maar1"].core.bces[MN_ID]
    seq, bce.seq = bce.seq, 2**70
    sent = len(dom.to_mns)
    attach(dom, "maar1")
    assert dom.dmm.stats.errors()["store_failed"] == 1
    assert len(dom.to_mns) == sent
    assert dom.dmm.nodes["maar1"].core.bces[MN_ID].seq == seq


def test_a_fenced_save_with_nothing_to_write_still_checks_the_revisions():
    """An event that sends a message from state it did not change must not
    answer from a record another instance has rewritten meanwhile."""
    from dmm_ryu.config.domainfile import load_text
    from dmm_ryu.runtime.controller import DmmController
    shared = MemoryStore()
    dom = FakeDomain(domain_text(), store_of=lambda n: shared if n == "cmd" else MemoryStore())
    attach(dom, "maar1")
    other = DmmController(load_text(domain_text()))
    other.attach_stores(lambda n: shared if n == "cmd" else MemoryStore(), dom.now)
    assert other.deregister(MN_ID, dom.now)
    ours = dom.dmm.cmd_node.state
    ours.save([MN_ID])  # nothing changed here, nothing sent: no write, no check
    with pytest.raises(StoreConflict):
        ours.save([MN_ID], fence=True)
