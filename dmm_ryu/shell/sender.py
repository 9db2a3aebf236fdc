"""Sends the runtime's outputs to the connected switches: flow changes of
one event as one OVS bundle, packet-outs as they are.

An :class:`~dmm_ryu.runtime.node.Output` carries messages already packed
by :mod:`dmm_ryu.of.packed` / :mod:`dmm_ryu.of.packed_state` (``raw``:
FlowMods, meter mods and packet-outs whose xids are placeholders; what the
nodes send) or framework message objects (``msgs``, for any cold path
that builds them).  Packed
messages of one call are numbered from the datapath's own xid counter and
written with a single ``datapath.send`` per switch, after any framework
message queued before them, so the order the node chose is the order on
the wire.
"""
from __future__ import annotations

import itertools
from typing import Dict, List

from dmm_ryu.of import ofwire, packed
from dmm_ryu.of.bundle import bundle
from dmm_ryu.runtime.stats import Stats


class Sender:
    """Holds the connected datapaths by dpid; counts what cannot be sent."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.datapaths: Dict[int, object] = {}
        self._bundle_ids = itertools.count(1)

    def send(self, outputs) -> None:
        pending: Dict[int, List[bytes]] = {}
        for out in outputs or ():
            datapath = self.datapaths.get(out.dpid)
            if datapath is None:
                self.stats.error("tx_switch_down")
                continue
            if out.msgs:
                _flush(datapath, pending.pop(out.dpid, None))
                self._send_objects(datapath, out)
            if out.raw:
                pending.setdefault(out.dpid, []).extend(
                    self._number(datapath, out.raw, out.atomic))
        for dpid, chunks in pending.items():
            _flush(self.datapaths[dpid], chunks)

    def _send_objects(self, datapath, out) -> None:
        msgs = out.msgs
        if out.atomic and len(msgs) > 1:
            msgs = bundle(msgs, datapath, self._next_bundle_id())
        for msg in msgs:
            msg.datapath = datapath
            datapath.send_msg(msg)

    def _number(self, datapath, raw: List[bytes], atomic: bool) -> List[bytes]:
        """Packed messages under xids taken from ``datapath`` (as send_msg
        would take them); several atomic ones wrapped in one bundle."""
        if atomic and len(raw) > 1:
            first = packed.reserve_xids(datapath, len(raw) + 2)
            return packed.bundle(raw, self._next_bundle_id(), first)
        first = packed.reserve_xids(datapath, len(raw))
        return [ofwire.with_xid(msg, first + i) for i, msg in enumerate(raw)]

    def _next_bundle_id(self) -> int:
        return next(self._bundle_ids) & 0xFFFFFFFF


def _flush(datapath, chunks) -> None:
    """One socket write for everything packed for ``datapath`` so far."""
    if chunks:
        datapath.send(b"".join(chunks))
