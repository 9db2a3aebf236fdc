"""The fake switch refuses what OVS would resolve arbitrarily: two flows of
one priority in one table that can both match a packet and do different
things.  Everything else a FlowMod may do (replace an identical match,
overlap at another priority, overlap with the same effect) is accepted."""
import pytest

from dmm_ryu.of import compat
from dmm_ryu.of.bundle import bundle
from dmm_ryu.testbed.fakeoverlap import OverlapError
from dmm_ryu.testbed.fakeswitch import FakeOFTable
from dmm_ryu.testbed.ofdecode import FakeDatapath

OFP = compat.ofproto_v1_3
PARSER = compat.ofproto_v1_3_parser
IPV6, MPLS = 0x86DD, 0x8847


def add(port, priority=1000, cookie=1, table=0, **match):
    """An ADD outputting to ``port``."""
    actions = [PARSER.OFPActionOutput(port)]
    return PARSER.OFPFlowMod(
        None, table_id=table, priority=priority, cookie=cookie, command=OFP.OFPFC_ADD,
        match=PARSER.OFPMatch(**match), out_port=OFP.OFPP_ANY, out_group=OFP.OFPG_ANY,
        instructions=[PARSER.OFPInstructionActions(OFP.OFPIT_APPLY_ACTIONS, actions)])


def route(prefix, mask, port, **more):
    return add(port, eth_type=IPV6, ipv6_dst=(prefix, mask), **more)


WIDE = ("2001:db8:1::", "ffff:ffff:ffff::")
NARROW = ("2001:db8:1:5::", "ffff:ffff:ffff:ffff::")
OTHER = ("2001:db8:2::", "ffff:ffff:ffff::")
PACKET = {"eth_type": IPV6, "ipv6_src": "2001:db8:9::1", "ipv6_dst": "2001:db8:1:5::1"}


def test_nested_prefixes_at_one_priority_are_refused_naming_both_flows():
    table = FakeOFTable()
    table.apply([route(*WIDE, port=1)])
    with pytest.raises(OverlapError) as err:
        table.apply([route(*NARROW, port=2)])
    text = str(err.value)
    assert "ipv6_dst=2001:db8:1::/ffff:ffff:ffff::" in text
    assert "ipv6_dst=2001:db8:1:5::/ffff:ffff:ffff:ffff::" in text
    assert "table=0,priority=1000" in text


def test_a_field_one_flow_leaves_open_does_not_separate_them():
    table = FakeOFTable()
    table.apply([add(1, eth_type=IPV6, in_port=4)])
    with pytest.raises(OverlapError):
        table.apply([add(2, eth_type=IPV6, ipv6_src="2001:db8::1")])


@pytest.mark.parametrize("first,second", [
    (route(*WIDE, port=1), route(*OTHER, port=2)),
    (add(1, eth_type=IPV6, in_port=1), add(2, eth_type=IPV6, in_port=2)),
    (add(1, eth_type=MPLS, mpls_label=16), add(2, ipv6_dst="2001:db8::1")),
    (add(1, eth_type=MPLS, mpls_label=16), add(2, eth_type=MPLS, mpls_label=17)),
    (route(*WIDE, port=1), route(*NARROW, port=2, priority=1001)),
    (route(*WIDE, port=1), add(2, table=2, eth_type=IPV6, ipv6_dst=NARROW)),
    (route(*WIDE, port=1), route(*NARROW, port=1)),
], ids=["disjoint prefixes", "different ports", "implied eth_type", "different labels",
        "other priority", "other table", "same effect"])
def test_flows_that_cannot_conflict_both_stay(first, second):
    table = FakeOFTable()
    table.apply([first, second])
    assert len(table.flows) == 2


def test_an_identical_match_replaces_as_add_does():
    table = FakeOFTable()
    table.apply([route(*WIDE, port=1), route(*WIDE, port=2)])
    assert [port for port, _ in table.forward(9, PACKET)] == [2]


def test_a_bundle_is_checked_at_commit_not_in_between():
    """Only the committed table is ever seen: a rebuild that overwrites a
    wide route before removing its narrow neighbour is fine."""
    table = FakeOFTable()
    table.apply([route(*NARROW, port=1)])
    remove = route(*NARROW, port=1)
    remove.command = OFP.OFPFC_DELETE_STRICT
    table.apply(bundle([route(*WIDE, port=2), remove], FakeDatapath(), 1))
    assert [port for port, _ in table.forward(9, PACKET)] == [2]


def test_a_bundle_that_commits_an_overlap_is_refused():
    table = FakeOFTable()
    with pytest.raises(OverlapError):
        table.apply(bundle([route(*WIDE, port=1), route(*NARROW, port=2)], FakeDatapath(), 1))
