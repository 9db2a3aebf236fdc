"""Sends the runtime's outputs to the connected switches: flow changes of
one event as one OVS bundle, packet-outs as they are."""
from __future__ import annotations

import itertools
from typing import Dict

from dmm_ryu.of.bundle import bundle
from dmm_ryu.runtime.stats import Stats


class Sender:
    """Holds the connected datapaths by dpid; counts what cannot be sent."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.datapaths: Dict[int, object] = {}
        self._bundle_ids = itertools.count(1)

    def send(self, outputs) -> None:
        for out in outputs or ():
            datapath = self.datapaths.get(out.dpid)
            if datapath is None:
                self.stats.error("tx_switch_down")
                continue
            msgs = out.msgs
            if out.atomic and len(msgs) > 1:
                msgs = bundle(msgs, datapath, next(self._bundle_ids) & 0xFFFFFFFF)
            for msg in msgs:
                msg.datapath = datapath
                datapath.send_msg(msg)
