"""Group commit (runtime/group.py): the events of one DmmController.batch()
commit once per node, nothing they produce leaves before, a node whose
commit fails is rolled back and answers every event as unstored (the CMD
refuses each PBU with 128) while the other nodes' outputs still leave, and
the outputs come out in the order the events went in."""
import pytest

from dmm_ryu.store.base import MemoryStore
from dmm_ryu.testbed.fakedomain import FakeDomain, domain_text
from tests.unit.test_cmd_unstored import FailingStore, refused
from tests.unit.test_controller import rs

MACS = [f"0a:00:00:00:00:0{n}" for n in (1, 2, 3)]


class WatchedStore(FailingStore):
    """Records, at each commit, what the domain had sent by then."""

    def __init__(self) -> None:
        super().__init__()
        self.watch, self.seen = None, []

    def commit(self, writes, expect={}):
        if self.watch is not None:
            self.seen.append(self.watch())
        return super().commit(writes, expect)


@pytest.fixture
def stores():
    return {}


@pytest.fixture
def dom(stores):
    return FakeDomain(domain_text(), store_of=lambda name: stores.setdefault(name, WatchedStore()))


def mn_id(mac: str) -> str:
    return mac.replace(":", "") + "@dmm.example"


def commits(stores) -> dict:
    return {name: store.commits for name, store in stores.items()}


def delta(before: dict, stores) -> dict:
    return {name: n - before[name] for name, n in commits(stores).items() if n != before[name]}


def solicit(dom, maar: str, macs) -> None:
    """Router Solicitations of ``macs`` at ``maar``'s port 2 (inside a batch: queued)."""
    for mac in macs:
        dom.dmm.packet_in(dom.dpid(maar), 2, rs(mac), dom.now)


def one_round(dom, outputs=(), maar="maar1", macs=()) -> list:
    """Send ``outputs`` (what they punt is handled) and solicit ``macs``, all
    in one batch; the batch's outputs."""
    with dom.dmm.batch() as batch:
        dom.run(outputs)
        solicit(dom, maar, macs)
    return batch.outputs


def run_rounds(dom, outputs) -> int:
    """Until quiet, as the shell drains: what one round punts is the next
    round; how many rounds."""
    rounds = 0
    while outputs:
        outputs, rounds = one_round(dom, outputs), rounds + 1
    return rounds


def test_the_events_of_one_batch_commit_once_per_node(dom, stores):
    before = commits(stores)
    pbus = one_round(dom, macs=MACS)
    assert delta(before, stores) == {"maar1": 1}, "three attachments, one commit"
    before = commits(stores)
    pbas = one_round(dom, pbus)
    assert delta(before, stores) == {"cmd": 1}, "three PBUs, one commit"
    run_rounds(dom, pbas)
    assert dom.dmm.cmd_node.count() == 3
    assert all(mn_id(m) in dom.dmm.nodes["maar1"].core.bces for m in MACS)


def test_outside_a_batch_every_event_commits_on_its_own(dom, stores):
    before = commits(stores)
    dom.run([out for mac in MACS
             for out in dom.dmm.packet_in(dom.dpid("maar1"), 2, rs(mac), dom.now)])
    assert delta(before, stores) == {"maar1": 6, "cmd": 3}


def test_nothing_of_a_batch_leaves_before_its_commits(dom, stores):
    sent = lambda: (len(dom.wire), len(dom.to_mns), dom.flow_mods)  # noqa: E731
    for store in stores.values():
        store.watch = sent
    before = sent()
    pbus = one_round(dom, macs=MACS)
    assert stores["maar1"].seen == [before]
    dom.run(pbus)  # sent now, one event at a time
    assert sent()[0] > before[0]
    stores["maar1"].seen.clear()
    one_round(dom, macs=["0a:00:00:00:00:09"])
    assert stores["maar1"].seen == [sent()], "the commit came before anything of its round"


def test_a_failed_commit_refuses_every_pbu_of_the_batch_and_spares_the_others(dom, stores):
    pbus = one_round(dom, macs=MACS)
    stores["cmd"].broken = True
    outputs = one_round(dom, pbus, maar="maar2", macs=["0a:00:00:00:00:04"])
    assert refused(dom) == 3, "each PBU of the round refused with 128"
    assert dom.dmm.cmd_node.count() == 0 and len(stores["cmd"].load("")) == 0
    assert [o.dpid for o in outputs if o.raw].count(dom.dpid("maar2")) >= 1, \
        "maar2 committed: its PBU leaves"
    wire = len(dom.wire)
    dom.run(outputs)
    assert len(dom.wire) > wire
    assert all(mn_id(m) not in dom.dmm.nodes["maar1"].core.bces for m in MACS), \
        "the S-MAAR dropped the refused MNs"


def test_a_failed_commit_rolls_the_node_back_to_what_its_store_holds(dom, stores):
    run_rounds(dom, one_round(dom, macs=MACS[:1]))
    cmd = dom.dmm.cmd_node
    bound, timers = cmd.binding(mn_id(MACS[0])), dict(cmd.state.deadlines[mn_id(MACS[0])])
    dom.now += 1
    stores["cmd"].broken = True
    run_rounds(dom, one_round(dom, maar="maar2", macs=MACS[:1]))  # a handover to maar2
    assert cmd.binding(mn_id(MACS[0])) == bound, "the CMD still holds the stored binding"
    assert cmd.state.deadlines[mn_id(MACS[0])] == timers, "and the stored timers"


def test_a_batch_sends_what_the_same_calls_send_one_by_one_in_the_same_order():
    frames = [("maar1", MACS[0]), ("maar2", MACS[1]), ("maar1", MACS[2])]
    single, grouped = (FakeDomain(domain_text(), store_of=lambda _: MemoryStore())
                       for _ in range(2))
    one_by_one = [out for maar, mac in frames
                  for out in single.dmm.packet_in(single.dpid(maar), 2, rs(mac), single.now)]
    with grouped.dmm.batch() as batch:
        for maar, mac in frames:
            assert grouped.dmm.packet_in(grouped.dpid(maar), 2, rs(mac), grouped.now) == []
    assert [(o.dpid, o.raw, o.atomic) for o in batch.outputs] == \
        [(o.dpid, o.raw, o.atomic) for o in one_by_one]


def test_nested_batches_are_one(dom, stores):
    before = commits(stores)
    with dom.dmm.batch() as outer:
        with dom.dmm.batch() as inner:
            solicit(dom, "maar1", MACS[:2])
        assert delta(before, stores) == {} and inner is outer
        solicit(dom, "maar1", MACS[2:])
    assert delta(before, stores) == {"maar1": 1}
    assert len([o for o in outer.outputs if o.dpid == dom.dpid("maar1") and o.raw]) >= 3


def test_expire_inside_a_batch_carries_out_the_events_before_it_first(dom, stores):
    """A timer may be armed or cancelled by an earlier event of the round:
    expire settles the round first, then commits each timer's event."""
    run_rounds(dom, one_round(dom, macs=MACS[:1]))
    dom.now = dom.dmm.next_deadline()  # maar1's refresh of the first MN
    with dom.dmm.batch() as batch:
        solicit(dom, "maar2", MACS[1:2])
        before = commits(stores)
        dom.dmm.expire(dom.now)
        assert set(delta(before, stores)) == {"maar1", "maar2"}, "both committed by now"
    run_rounds(dom, batch.outputs)
    assert dom.dmm.cmd_node.binding(mn_id(MACS[0])).registered == dom.now, "refreshed"
    assert dom.dmm.cmd_node.binding(mn_id(MACS[1])) is not None
