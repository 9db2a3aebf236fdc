"""OpenFlow messages to and from wire bytes for the fake switches: what the
packed path (dmm_ryu/of/packed.py) sends can be decoded and applied to a
:class:`~dmm_ryu.testbed.fakeswitch.FakeOFTable`, and what the framework
builds can be checked to encode.
"""
from __future__ import annotations

import struct
from typing import List

from dmm_ryu.of import compat

OFP = compat.ofproto_v1_3


class FakeDatapath:
    """Just enough of a Ryu datapath to serialise messages."""

    def __init__(self, parser=compat.ofproto_v1_3_parser, ofproto=OFP) -> None:
        self.ofproto = ofproto
        self.ofproto_parser = parser
        self.id = 1


def serialise(msgs, parser=compat.ofproto_v1_3_parser) -> List[bytes]:
    """The wire bytes of each message (raises if one does not encode)."""
    datapath = FakeDatapath(parser)
    out = []
    for msg in msgs:
        msg.datapath = datapath
        msg.serialize()
        out.append(bytes(msg.buf))
    return out


def decode(wire: bytes, parser=compat.ofproto_v1_3_parser) -> list:
    """Framework message objects from wire bytes (messages back to back, as
    one socket write carries them), so the fake switch can apply what the
    packed path (dmm_ryu/of/packed.py) sends.  The framework's own parser
    reads FlowMods and bundle controls; it has no packet-out parser and
    leaves a bundle add as a bare experimenter message, so those two are
    unpacked here with its pack strings and action parser."""
    datapath = FakeDatapath(parser)
    out, offset = [], 0
    while offset < len(wire):
        version, msg_type, length, xid = parser.ofproto_parser.header(wire[offset:])
        buf, offset = wire[offset:offset + length], offset + length
        if msg_type == OFP.OFPT_PACKET_OUT:
            buffer_id, in_port, actions_len = struct.unpack_from(
                OFP.OFP_PACKET_OUT_PACK_STR, buf, OFP.OFP_HEADER_SIZE)
            start = OFP.OFP_PACKET_OUT_SIZE
            actions, at = [], start
            while at < start + actions_len:
                actions.append(parser.OFPAction.parser(buf, at))
                at += actions[-1].len
            msg = parser.OFPPacketOut(datapath, buffer_id, in_port, actions, buf[at:])
            msg.xid = xid
        else:
            msg = parser.ofproto_parser.msg(datapath, version, msg_type, length, xid, buf)
            if getattr(msg, "exp_type", None) == OFP.ONF_ET_BUNDLE_ADD_MESSAGE:
                bundle_id, flags = struct.unpack_from(OFP.ONF_BUNDLE_ADD_MSG_PACK_STR, msg.data)
                head = struct.calcsize(OFP.ONF_BUNDLE_ADD_MSG_PACK_STR)
                (inner,) = decode(bytes(msg.data[head:]), parser)
                msg = parser.ONFBundleAddMsg(datapath, bundle_id, flags, inner, [])
                msg.xid = xid
        out.append(msg)
    return out
