"""The shell's drain (shell/drain.py): the handlers' work items queued,
run in rounds of everything queued (one batch, one commit per node), sent
in order through the Sender to the datapaths; an item that raises is
counted and the round and the drain go on; green and native threads."""
import queue
import threading

import eventlet
import eventlet.queue
import pytest

from dmm_ryu.shell.drain import Drain
from dmm_ryu.shell.sender import Sender
from dmm_ryu.store.base import MemoryStore
from dmm_ryu.testbed.fakedomain import FakeDomain, domain_text
from tests.unit.test_controller import rs
from tests.unit.test_sender import RecordingDatapath

MACS = [f"0a:00:00:00:00:0{n}" for n in (1, 2, 3)]


class CountingStore(MemoryStore):
    commits = 0

    def commit(self, writes, expect={}):
        self.commits += 1
        return super().commit(writes, expect)


@pytest.fixture
def stores():
    return {}


def shell(stores, q=None, **kwargs):
    """A controller on counting stores, a Sender on recording datapaths,
    and a drain between them on ``q`` (default: a native queue)."""
    dom = FakeDomain(domain_text(), store_of=lambda n: stores.setdefault(n, CountingStore()))
    sender = Sender(dom.dmm.stats)
    for dpid in dom.wires:
        sender.datapaths[dpid] = RecordingDatapath()
    q = queue.Queue() if q is None else q
    empty = queue.Empty if isinstance(q, queue.Queue) else eventlet.queue.Empty
    return dom, sender, Drain(dom.dmm, sender.send, q, empty, **kwargs)


def solicit(dom, drain, maar, mac) -> None:
    drain.put("packet_in", dom.dmm.packet_in, dom.dpid(maar), 2, rs(mac), dom.now)


def writes(sender, dpid) -> list:
    return [buf for kind, buf in sender.datapaths[dpid].log if kind == "send"]


def boom():
    raise RuntimeError("a bad work item")


def test_everything_queued_is_one_round_with_one_commit_per_node(stores):
    dom, sender, drain = shell(stores)
    before = stores["maar1"].commits
    for mac in MACS:
        solicit(dom, drain, "maar1", mac)
    drain.run(rounds=1)
    assert drain.queue.empty()
    assert stores["maar1"].commits - before == 1
    assert len(writes(sender, dom.dpid("maar1"))) == 1, "the round's outputs, one write"


def test_a_round_is_bounded(stores):
    dom, _, drain = shell(stores, max_round=2)
    for mac in MACS:
        solicit(dom, drain, "maar1", mac)
    drain.run(rounds=1)
    assert drain.queue.qsize() == 1


def test_a_raising_item_is_counted_and_the_round_and_the_drain_go_on(stores):
    dom, sender, drain = shell(stores)
    drain.put("boom", boom)
    solicit(dom, drain, "maar1", MACS[0])
    drain.run(rounds=1)
    assert dom.dmm.stats.errors()["exception_boom"] == 1
    assert writes(sender, dom.dpid("maar1")), "the item after it was handled and sent"
    solicit(dom, drain, "maar2", MACS[1])
    drain.run(rounds=1)
    assert writes(sender, dom.dpid("maar2"))


def test_a_failure_carrying_out_one_event_spares_the_others_of_the_round(stores, monkeypatch):
    dom, sender, drain = shell(stores)
    monkeypatch.setattr(dom.dmm.nodes["maar2"], "carry_out", lambda *a: boom())
    solicit(dom, drain, "maar2", MACS[1])
    solicit(dom, drain, "maar1", MACS[0])
    drain.run(rounds=1)
    assert dom.dmm.stats.errors()["exception_round"] == 1
    assert writes(sender, dom.dpid("maar1"))


def test_the_drain_sends_what_direct_calls_send_in_the_same_order(stores):
    dom, sender, drain = shell(stores)
    direct_dom, direct, _ = shell({})
    events = [("maar1", MACS[0]), ("maar2", MACS[1]), ("maar1", MACS[2])]
    for maar, mac in events:
        solicit(dom, drain, maar, mac)
        direct.send(direct_dom.dmm.packet_in(direct_dom.dpid(maar), 2, rs(mac), dom.now))
    drain.run(rounds=1)
    for dpid in dom.wires:
        assert b"".join(writes(sender, dpid)) == b"".join(writes(direct, dpid))


def sent_within(sender, dpid, wait) -> bool:
    for _ in range(200):
        if writes(sender, dpid):
            return True
        wait(0.01)
    return False


def test_native_threads(stores):
    dom, sender, drain = shell(stores)
    threading.Thread(target=drain.run, daemon=True).start()
    solicit(dom, drain, "maar1", MACS[0])
    assert sent_within(sender, dom.dpid("maar1"), threading.Event().wait)


def test_green_threads(stores):
    dom, sender, drain = shell(stores, eventlet.queue.LightQueue())
    worker = eventlet.spawn(drain.run)
    solicit(dom, drain, "maar1", MACS[0])
    try:
        assert sent_within(sender, dom.dpid("maar1"), eventlet.sleep)
    finally:
        worker.kill()


def test_outputs_an_item_returns_join_the_round(stores):
    """A work item that calls a node itself (not through the controller)
    returns the node's placeholders: they are sent once committed."""
    dom, sender, drain = shell(stores)
    node = dom.dmm.nodes["maar1"]
    before = stores["maar1"].commits
    drain.put("direct", lambda: node.mn_frame(2, MACS[0], dom.now))
    drain.run(rounds=1)
    assert stores["maar1"].commits - before == 1
    assert writes(sender, dom.dpid("maar1")), "the PBU left"
