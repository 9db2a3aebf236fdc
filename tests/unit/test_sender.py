"""The shell's sender: packed messages numbered from the datapath's xid
counter, bundled when atomic, one write per switch, order kept."""
import struct
from types import SimpleNamespace

from dmm_ryu.of import packed
from dmm_ryu.of.compat import ofproto_v1_3 as OFP
from dmm_ryu.runtime.stats import Stats
from dmm_ryu.shell.ofevents import error_summary
from dmm_ryu.shell.sender import Sender
from dmm_ryu.testbed.fakedomain import FakeDomain, domain_text
from dmm_ryu.testbed.ofdecode import decode


class RecordingDatapath:
    """Records writes (``send``) and framework messages (``send_msg``) in order."""

    def __init__(self, xid=41):
        self.xid = xid
        self.log = []

    def send(self, buf):
        self.log.append(("send", buf))

    def send_msg(self, msg):
        self.log.append(("send_msg", msg))


def out(dpid, raw=(), msgs=(), atomic=False):
    return SimpleNamespace(dpid=dpid, raw=list(raw), msgs=list(msgs), atomic=atomic)


FRAME = bytes(range(64))


def test_atomic_packed_messages_leave_as_one_bundle_in_one_write():
    dp = RecordingDatapath()
    sender = Sender(Stats())
    sender.datapaths[1] = dp
    pos = [packed.packet_out(port, FRAME) for port in (2, 3, 4)]
    sender.send([out(1, pos, atomic=True), out(1, [packed.packet_out(5, FRAME)])])
    (kind, wire), = dp.log
    assert kind == "send"
    msgs = decode(wire)
    assert [m.xid for m in msgs] == [42, 43, 44, 45, 46, 47]
    assert msgs[0].type == OFP.ONF_BCT_OPEN_REQUEST and msgs[4].type == OFP.ONF_BCT_COMMIT_REQUEST
    assert [m.message.actions[0].port for m in msgs[1:4]] == [2, 3, 4]
    assert msgs[5].actions[0].port == 5
    assert dp.xid == 47  # the next send_msg takes 48: no xid shared


def test_framework_messages_do_not_overtake_packed_ones_queued_before_them():
    dp = RecordingDatapath()
    sender = Sender(Stats())
    sender.datapaths[1] = dp
    framework_msg = SimpleNamespace()
    sender.send([out(1, [packed.packet_out(2, FRAME)]), out(1, msgs=[framework_msg]),
                 out(1, [packed.packet_out(3, FRAME)])])
    assert [kind for kind, _ in dp.log] == ["send", "send_msg", "send"]
    assert framework_msg.datapath is dp
    assert [decode(dp.log[i][1])[0].actions[0].port for i in (0, 2)] == [2, 3]


def test_each_switch_gets_its_own_single_write_and_a_missing_one_is_counted():
    one, two = RecordingDatapath(), RecordingDatapath(xid=0)
    stats = Stats()
    sender = Sender(stats)
    sender.datapaths.update({1: one, 2: two})
    sender.send([out(1, [packed.packet_out(2, FRAME)]), out(2, [packed.packet_out(3, FRAME)]),
                 out(1, [packed.packet_out(4, FRAME)]), out(9, [packed.packet_out(2, FRAME)])])
    assert len(one.log) == len(two.log) == 1
    assert [m.xid for m in decode(one.log[0][1])] == [42, 43]
    assert [m.xid for m in decode(two.log[0][1])] == [1]
    assert stats.errors() == {"tx_switch_down": 1}


def test_an_error_for_a_packed_message_names_what_was_sent_under_its_xid():
    """A MAAR's reconnect (meters, then the rebuild bundle) leaves packed;
    every message has its own xid from the datapath, so the error a switch
    returns (the refused message's xid and first bytes) maps to it."""
    dom = FakeDomain(domain_text("proxy"))
    dp = RecordingDatapath(xid=7)
    sender = Sender(Stats())
    sender.datapaths[1] = dp
    outputs = dom.dmm.switch_connected(1)
    assert all(o.raw and not o.msgs for o in outputs)
    sender.send(outputs)
    (kind, wire), = dp.log
    sent = decode(wire)
    by_xid = {m.xid: m for m in sent}
    assert len(by_xid) == len(sent) and min(by_xid) == 8 and max(by_xid) == dp.xid
    add = next(m for m in sent if type(m).__name__ == "ONFBundleAddMsg")
    error = SimpleNamespace(type=OFP.OFPET_BAD_MATCH, code=3, xid=add.xid,
                            data=_wire_of(wire, add.xid)[24:88])
    reason, text = error_summary(error)
    assert reason == "of_error_4_3" and f"xid {add.xid} " in text and "FLOW_MOD" in text
    assert by_xid[error.xid] is add


def _wire_of(wire: bytes, xid: int) -> bytes:
    """The bytes of the message sent under ``xid``."""
    offset = 0
    while offset < len(wire):
        length, got = struct.unpack_from("!HI", wire, offset + 2)
        if got == xid:
            return wire[offset:offset + length]
        offset += length
    raise KeyError(xid)
