"""The CMD's OpenFlow role follows its election (dmm_ryu.shell.role), on a
fake election and a datapath that records what it is sent."""

import pytest

from dmm_ryu.of import compat
from dmm_ryu.shell.role import MASTER, SLAVE, CmdRole
from dmm_ryu.store.base import StoreUnavailable

OFP, PARSER = compat.ofproto_v1_3, compat.ofproto_v1_3_parser
WIRE = {OFP.OFPCR_ROLE_MASTER: MASTER, OFP.OFPCR_ROLE_SLAVE: SLAVE}


class FakeElection:
    def __init__(self, instance_id):
        self.instance_id, self.is_leader, self.holder = instance_id, False, None
        self.degraded = False

    def leader(self):
        return self.holder


class Switch:
    """A datapath: the role requests it got, as (role, generation id)."""

    ofproto, ofproto_parser = OFP, PARSER

    def __init__(self, dpid=0x100):
        self.id, self.requests = dpid, []

    def send_msg(self, msg):
        self.requests.append((WIRE[msg.role], msg.generation_id))


class Harness:
    """One instance: its election, the term etcd shows, the callbacks seen."""

    def __init__(self, instance="a"):
        self.election = FakeElection(instance)
        self.term = None
        self.events, self.errors = [], []
        self.role = CmdRole(0x100, self.election, self._read,
                            lambda dp: self.events.append(("master", dp.id)),
                            lambda dp: self.events.append(("slave", dp.id)),
                            self.errors.append)
        self.switch = Switch()

    def _read(self):
        if isinstance(self.term, Exception):
            raise self.term
        return self.term() if callable(self.term) else self.term

    def win(self, generation):
        self.election.is_leader, self.election.holder = True, self.election.instance_id
        self.term = (self.election.instance_id, generation)


def connect(h):
    """The switch connects; the keeper's thread polls."""
    h.role.connected(h.switch)
    h.role.poll()


@pytest.fixture
def h():
    return Harness()


def test_a_follower_asks_slave_in_the_leaders_generation(h):
    h.term = ("b", 7)
    connect(h)
    assert h.switch.requests == [(SLAVE, 7)]
    assert not h.role.is_master and h.events == []


def test_a_follower_with_no_leader_known_sends_nothing_until_one_is(h):
    connect(h)
    assert h.switch.requests == []
    h.term = ("b", 9)
    h.role.poll()
    h.role.poll()
    assert h.switch.requests == [(SLAVE, 9)]


def test_the_leader_asks_master_in_its_own_term_then_rebuilds(h):
    connect(h)
    h.win(12)
    h.role.poll()
    h.role.poll()
    assert h.switch.requests == [(MASTER, 12)]
    assert h.events == [("master", 0x100)] and h.role.is_master


def test_the_leader_waits_until_etcd_shows_its_key(h):
    connect(h)
    h.election.is_leader = True
    h.term = ("b", 5)  # an old read: the previous term
    h.role.poll()
    assert h.switch.requests == [] and not h.role.is_master


def test_losing_leadership_steps_down_in_its_own_generation(h):
    connect(h)
    h.win(12)
    h.role.poll()
    h.election.is_leader = False  # lease lapsed; nobody else holds the key yet
    h.term = None
    h.role.poll()
    assert h.switch.requests == [(MASTER, 12), (SLAVE, 12)]
    assert h.events == [("master", 0x100), ("slave", 0x100)]


def test_deposed_leader_follows_the_new_term(h):
    connect(h)
    h.win(12)
    h.role.poll()
    h.election.is_leader, h.term = False, ("b", 20)
    h.role.poll()
    assert h.switch.requests[-1] == (SLAVE, 20)


def test_a_reconnected_switch_is_asked_again(h):
    h.win(3)
    connect(h)
    h.role.disconnected(h.switch)
    assert h.role.datapath is None and not h.role.is_master
    again = Switch()
    h.role.connected(again)
    h.role.poll()
    assert again.requests == [(MASTER, 3)]
    assert h.events == [("master", 0x100), ("master", 0x100)]


def test_etcd_unreachable_keeps_the_role_and_counts(h):
    h.term = ("b", 4)
    connect(h)
    h.term = StoreUnavailable("no leader")
    h.role.poll()
    assert h.switch.requests == [(SLAVE, 4)]
    assert h.errors == ["role_generation_unavailable"]


def test_a_refused_request_is_counted_and_asked_again(h):
    h.term = ("b", 4)
    connect(h)
    h.role.refused("ROLE_REQUEST_FAILED/STALE")
    h.role.poll()
    assert h.switch.requests == [(SLAVE, 4), (SLAVE, 4)]
    assert h.errors == ["role_request_refused"]


def test_a_switch_reconnecting_during_a_read_is_left_to_the_next_poll(h):
    h.win(5)
    h.role.connected(h.switch)
    again = Switch()
    h.term = lambda: (h.role.connected(again), ("a", 5))[1]  # etcd answers after it
    h.role.poll()
    assert h.switch.requests == [] and again.requests == [] and h.events == []


def test_leadership_reports_instance_leader_role_and_generation(h):
    connect(h)
    h.win(12)
    h.role.poll()
    assert h.role.leadership() == {"election": "cmd", "instance": "a", "leader": "a",
                                   "leading": True, "role": MASTER, "generation_id": 12,
                                   "degraded": False}


def degrade(h):
    """Leader and MASTER, then etcd falls silent: the lease lapses with no
    successor seen."""
    connect(h)
    h.win(12)
    h.role.poll()
    h.election.is_leader, h.election.degraded = False, True
    h.term = StoreUnavailable("no leader")
    h.role.poll()
    h.role.poll()


def test_a_degraded_leader_keeps_master_says_so_and_counts_once(h):
    degrade(h)
    assert h.switch.requests == [(MASTER, 12)] and h.events == [("master", 0x100)]
    assert h.role.is_master and h.role.leadership()["degraded"] is True
    assert h.errors == ["cmd_degraded"]


def test_a_degraded_leader_that_leads_again_reloads(h):
    degrade(h)
    h.election.is_leader, h.election.degraded, h.term = True, False, ("a", 12)
    h.role.poll()
    h.role.poll()
    assert h.switch.requests == [(MASTER, 12)]
    assert h.events == [("master", 0x100), ("master", 0x100)]
    assert h.role.leadership()["degraded"] is False


def test_a_degraded_leader_that_sees_a_successor_steps_down(h):
    degrade(h)
    h.election.degraded, h.term = False, ("b", 20)
    h.role.poll()
    assert h.switch.requests[-1] == (SLAVE, 20) and h.events[-1] == ("slave", 0x100)
    assert not h.role.is_master and h.role.leadership()["degraded"] is False
