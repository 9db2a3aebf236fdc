"""The CMD's slice of one MN is found by that MN alone (issue 13): its
record is written after every event of the MN, and a scan of every PBU in
flight and every de-registration owed (thousands during a long MAAR
outage) would make each of those events pay for all the others."""
from ipaddress import IPv6Address

from dmm_ryu.core import slices
from dmm_ryu.sim.domain import build
from tests.unit.test_core_lma import pbu

PEER = IPv6Address("2001:db8:ffff::2")
OTHERS = 500


class CountedId(str):
    """An MN-ID that counts how often it is compared with another."""

    compared = 0

    def __eq__(self, other):
        CountedId.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def in_flight(mn_id: str) -> slices.CmdSlice:
    """An MN with a PBU awaiting its PBA and a de-registration owed."""
    return slices.CmdSlice(mn_id, None, ((PEER, pbu(mn_id=mn_id, lifetime=3600)),),
                           ((PEER, pbu(mn_id=mn_id, lifetime=0)),),
                           None, None, ())


def test_a_slice_holds_its_mns_entries_and_visits_no_other_mns():
    cmd = build().cmd
    for i in range(OTHERS):
        slices.restore_cmd(cmd, in_flight(CountedId(f"other{i}")))
    slices.restore_cmd(cmd, in_flight("mn"))
    CountedId.compared = 0
    piece = slices.cmd_slice(cmd, "mn")
    assert [(peer, p.options.mn_id, p.lifetime) for peer, p in piece.outbox] == \
        [(PEER, "mn", 3600)]
    assert [(peer, p.lifetime) for peer, p in piece.owed] == [(PEER, 0)]
    assert CountedId.compared <= 2


def test_forgetting_an_mn_keeps_every_other_mns_entries():
    cmd = build().cmd
    for name in ("a", "b", "c"):
        slices.restore_cmd(cmd, in_flight(name))
    slices.forget_cmd(cmd, "b")
    assert slices.cmd_slice(cmd, "b") is None
    assert [len(slices.cmd_slice(cmd, n).outbox + slices.cmd_slice(cmd, n).owed)
            for n in ("a", "c")] == [2, 2]
