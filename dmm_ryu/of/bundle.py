"""Atomic changes: wrap FlowMods in an OVS bundle (ONF extension 230 for
OpenFlow 1.3, ``ONFBundleCtrlMsg``/``ONFBundleAddMsg`` in both Ryu and
os-ken).

A handover removes an MN's old rules and adds new ones; sent one by one the
switch would forward with half of them for a moment.  In an atomic, ordered
bundle the switch applies all or none, in the order given, so a rebuild's
delete-all and re-adds never leave the MAAR empty.
"""
from __future__ import annotations

from typing import Iterable, List

from dmm_ryu.of import compat

OFP = compat.ofproto_v1_3
FLAGS = OFP.ONF_BF_ATOMIC | OFP.ONF_BF_ORDERED


def bundle(msgs: Iterable, datapath, bundle_id: int,
           parser=compat.ofproto_v1_3_parser) -> List:
    """Open, add each message, commit: the messages to send, in order.

    Binds every inner message to ``datapath`` (they are built unbound), as
    an add message serialises its inner message with the outer xid.
    """
    def control(kind):
        return parser.ONFBundleCtrlMsg(datapath, bundle_id, kind, FLAGS, [])

    adds = []
    for msg in msgs:
        msg.datapath = datapath
        adds.append(parser.ONFBundleAddMsg(datapath, bundle_id, FLAGS, msg, []))
    return [control(OFP.ONF_BCT_OPEN_REQUEST), *adds, control(OFP.ONF_BCT_COMMIT_REQUEST)]
