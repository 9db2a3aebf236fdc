"""The messages themselves: they encode under Ryu and os-ken alike, a
bundle wraps them atomically, the renderer and the translators refuse what
they do not know, and the fake switch honours FlowMod semantics."""
import importlib
import pytest

from dmm_ryu.of import compat
from dmm_ryu.core.actions import SERVING, InstallTunnel, StartTimer
from dmm_ryu.of import flows
from dmm_ryu.of.bundle import bundle
from dmm_ryu.of.labels import DataplaneError
from dmm_ryu.of.render import format_flow
from dmm_ryu.testbed.fakeswitch import FakeOFTable
from dmm_ryu.testbed.ofdecode import FakeDatapath, serialise
from tests.unit.test_of_scenarios import ADDR, CTX, MN, NAMES, PREF, STATES, rebuilt, undo

OFP = compat.ofproto_v1_3


def parsers():
    out = []
    for framework in compat.FRAMEWORKS:
        try:
            out.append(importlib.import_module(f"{framework}.ofproto.ofproto_v1_3_parser"))
        except ImportError:
            continue
    return out


def every_message(parser):
    msgs = []
    for state in STATES:
        for name in NAMES:
            msgs += rebuilt(state, name, parser)
            msgs += [m for a in STATES[state][1].get(name, [])
                     for m in flows.flows_for(undo(a), CTX[name], parser)]
    return msgs


@pytest.mark.parametrize("parser", parsers(), ids=lambda p: p.__name__.split(".")[0])
def test_every_message_encodes_and_decodes(parser):
    for wire in serialise(every_message(parser), parser):
        version, msg_type, length, _xid = parser.ofproto_parser.header(wire)
        assert (version, msg_type, length) == (OFP.OFP_VERSION, OFP.OFPT_FLOW_MOD, len(wire))


@pytest.mark.parametrize("parser", parsers(), ids=lambda p: p.__name__.split(".")[0])
def test_bundle_opens_adds_in_order_and_commits(parser):
    msgs = rebuilt("fig2", "maar2", parser)
    wrapped = bundle(msgs, FakeDatapath(parser), 7, parser)
    kinds = [(type(m).__name__, getattr(m, "type", None)) for m in wrapped]
    assert kinds[0] == ("ONFBundleCtrlMsg", OFP.ONF_BCT_OPEN_REQUEST)
    assert kinds[-1] == ("ONFBundleCtrlMsg", OFP.ONF_BCT_COMMIT_REQUEST)
    assert [m.message for m in wrapped[1:-1]] == msgs
    assert {m.bundle_id for m in wrapped} == {7}
    assert all(m.flags == OFP.ONF_BF_ATOMIC | OFP.ONF_BF_ORDERED for m in wrapped)
    for msg in wrapped:
        msg.serialize()


def test_a_bundle_does_to_the_switch_what_its_messages_do():
    direct, bundled = FakeOFTable(), FakeOFTable()
    direct.apply(rebuilt("three", "maar3"))
    bundled.apply(bundle(rebuilt("three", "maar3"), FakeDatapath(), 1))
    assert bundled.snapshot() == direct.snapshot()


def test_only_route_and_tunnel_actions_are_translated():
    with pytest.raises(TypeError, match="StartTimer is not a flow action"):
        flows.flows_for(StartTimer("k", 1.0), CTX["maar1"])


def test_serving_tunnel_without_the_mn_location_is_refused():
    action = InstallTunnel(MN, PREF[1], ADDR[1], SERVING)
    with pytest.raises(DataplaneError, match="needs the MN's mac and port"):
        flows.flows_for(action, CTX["maar2"])


def test_unknown_tunnel_role_is_refused():
    with pytest.raises(DataplaneError, match="unknown role 'middle'"):
        flows.flows_for(InstallTunnel(MN, PREF[1], ADDR[1], "middle"), CTX["maar2"])


def test_delete_ours_spares_other_applications_flows():
    parser = compat.ofproto_v1_3_parser
    table = FakeOFTable()
    foreign = parser.OFPFlowMod(None, cookie=0x42, table_id=0, priority=5, command=OFP.OFPFC_ADD,
                                match=parser.OFPMatch(in_port=9), instructions=[])
    table.apply([foreign, *flows.base_flows(CTX["maar1"]), flows.delete_ours()])
    assert [f.cookie for f in table.flows] == [0x42]
    assert format_flow(flows.delete_ours()) == "delete cookie=0xd300000000000000/0xff00000000000000"


def test_fake_switch_delete_is_by_subset_match_and_cookie_mask():
    parser = compat.ofproto_v1_3_parser

    def mod(command, cookie, priority=10, mask=0, **match):
        return parser.OFPFlowMod(None, cookie=cookie, cookie_mask=mask, table_id=1,
                                 priority=priority, command=command,
                                 match=parser.OFPMatch(**match), instructions=[],
                                 out_port=OFP.OFPP_ANY, out_group=OFP.OFPG_ANY)

    table = FakeOFTable()
    table.apply([mod(OFP.OFPFC_ADD, 1, in_port=1, eth_type=0x86DD),
                 mod(OFP.OFPFC_ADD, 2, in_port=2, eth_type=0x86DD),
                 mod(OFP.OFPFC_ADD, 3, priority=20, in_port=2)])
    table.apply([mod(OFP.OFPFC_DELETE_STRICT, 3, mask=0xFF, in_port=2)])  # wrong priority
    assert len(table.flows) == 3
    table.apply([mod(OFP.OFPFC_DELETE, 2, mask=0xFF, in_port=2)])
    assert sorted(f.cookie for f in table.flows) == [1, 3]
    table.apply([mod(OFP.OFPFC_DELETE, 0, eth_type=0x86DD)])
    assert [f.cookie for f in table.flows] == [3]


def test_rendering_an_unknown_action_says_which():
    parser = compat.ofproto_v1_3_parser
    msg = parser.OFPFlowMod(None, match=parser.OFPMatch(), instructions=[
        parser.OFPInstructionActions(OFP.OFPIT_APPLY_ACTIONS, [parser.OFPActionGroup(1)])])
    with pytest.raises(ValueError, match="cannot render OFPActionGroup"):
        format_flow(msg)



def test_fake_switch_keeps_packet_outs_for_later_decoding():
    parser = compat.ofproto_v1_3_parser
    out = parser.OFPPacketOut(None, buffer_id=OFP.OFP_NO_BUFFER, in_port=OFP.OFPP_CONTROLLER,
                              actions=[parser.OFPActionOutput(2)], data=b"\x33\x33")
    table = FakeOFTable()
    table.apply([out])
    assert table.packet_outs == [out] and table.flows == []
