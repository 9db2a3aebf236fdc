"""OpenFlow messages to and from wire bytes for the fake switches: what the
packed path (dmm_ryu/of/packed.py) sends can be decoded and applied to a
:class:`~dmm_ryu.testbed.fakeswitch.FakeOFTable`, and what the framework
builds can be checked to encode.
"""
from __future__ import annotations

import functools
import struct
from typing import List

from dmm_ryu.of import bundle, compat, ofwire

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
    reads FlowMods and bundle controls; it has no packet-out or meter-mod
    parser and leaves a bundle add as a bare experimenter message, so those
    are unpacked here with its pack strings and action/band parsers.  A
    message nothing here can read raises ValueError."""
    datapath = FakeDatapath(parser)
    out, offset = [], 0
    while offset < len(wire):
        version, msg_type, length, xid = parser.ofproto_parser.header(wire[offset:])
        buf, offset = wire[offset:offset + length], offset + length
        reader = _READERS.get(msg_type)
        msg = (reader(datapath, buf, parser) if reader else
               parser.ofproto_parser.msg(datapath, version, msg_type, length, xid, buf))
        if msg is None:
            raise ValueError(f"cannot decode OpenFlow message type {msg_type} ({length} bytes)")
        if getattr(msg, "exp_type", None) == OFP.ONF_ET_BUNDLE_ADD_MESSAGE:
            msg = _bundle_add(datapath, msg, parser)
        msg.xid = xid
        out.append(msg)
    return out


def _packet_out(datapath, buf: bytes, parser):
    buffer_id, in_port, actions_len = struct.unpack_from(
        OFP.OFP_PACKET_OUT_PACK_STR, buf, OFP.OFP_HEADER_SIZE)
    actions, at = [], OFP.OFP_PACKET_OUT_SIZE
    while at < OFP.OFP_PACKET_OUT_SIZE + actions_len:
        actions.append(parser.OFPAction.parser(buf, at))
        at += actions[-1].len
    return parser.OFPPacketOut(datapath, buffer_id, in_port, actions, buf[at:])


def _meter_mod(datapath, buf: bytes, parser):
    command, flags, meter_id = struct.unpack_from(OFP.OFP_METER_MOD_PACK_STR, buf,
                                                  OFP.OFP_HEADER_SIZE)
    bands, at = [], OFP.OFP_METER_MOD_SIZE
    while at < len(buf):
        bands.append(parser.OFPMeterBandHeader.parser(buf, at))
        at += bands[-1].len
    return parser.OFPMeterMod(datapath, command, flags, meter_id, bands)


def _bundle_add(datapath, msg, parser):
    bundle_id, flags = struct.unpack_from(OFP.ONF_BUNDLE_ADD_MSG_PACK_STR, msg.data)
    head = struct.calcsize(OFP.ONF_BUNDLE_ADD_MSG_PACK_STR)
    (inner,) = decode(bytes(msg.data[head:]), parser)
    return parser.ONFBundleAddMsg(datapath, bundle_id, flags, inner, [])


_READERS = {OFP.OFPT_PACKET_OUT: _packet_out, OFP.OFPT_METER_MOD: _meter_mod}


def output_messages(out, parser=compat.ofproto_v1_3_parser) -> list:
    """What the switch receives for one runtime Output, as framework
    objects: its framework messages, then its packed ones decoded, wrapped
    in one bundle when atomic (as shell/sender.py sends them).  A rule
    message (FlowMod, meter mod) is decoded once per content: a fake
    domain re-applies the same rules on every rebuild it checks."""
    msgs = [_rule_message(ofwire.with_xid(m, 0), parser) if m[1] in _RULE_TYPES
            else decode(m, parser)[0] for m in out.raw]
    if out.atomic and len(msgs) > 1:
        msgs = bundle.bundle(msgs, FakeDatapath(parser), 1, parser)
    return list(out.msgs) + msgs


_RULE_TYPES = (OFP.OFPT_FLOW_MOD, OFP.OFPT_METER_MOD)


@functools.lru_cache(maxsize=1 << 15)
def _rule_message(wire: bytes, parser):
    (msg,) = decode(wire, parser)
    return msg
