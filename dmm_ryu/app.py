"""The Ryu / os-ken application: ``ryu-manager dmm_ryu.app``.

A thin shell around :class:`dmm_ryu.controller.DmmController`: it reads the
domain file named by ``[dmm] domain_file`` in the manager's ``--config-file``,
forwards switch connections and packet-ins to the controller, sends what it
returns (flow changes as OVS bundles) and runs one green thread for the
protocol timers.  No protocol decision is taken here.
"""
from __future__ import annotations

import itertools
import time

from dmm_ryu import compat
from dmm_ryu.config import InvalidConfigError, load
from dmm_ryu.controller import DmmController
from dmm_ryu.of.bundle import bundle

DEFAULT_DOMAIN_FILE = "/etc/dmm-ryu/dmm.yaml"
TIMER_TICK = 0.02  # s: the longest a due protocol timer waits

compat.cfg.CONF.register_opts(
    [
        compat.cfg.StrOpt(
            "domain_file",
            default=DEFAULT_DOMAIN_FILE,
            help="YAML file describing the mobility domain (MAARs, CMD, mode)",
        ),
    ],
    group="dmm",
)


class DmmApp(compat.RyuApp):
    """Mobility domain controller: CMD and MAAR logic behind OpenFlow 1.3."""

    OFP_VERSIONS = [compat.ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        path = compat.cfg.CONF.dmm.domain_file
        try:
            self.dmm = DmmController(load(path))
        except InvalidConfigError as err:
            self.logger.error("dmm: invalid domain file: %s", err)
            raise
        self.datapaths = {}
        self._bundle_ids = itertools.count(1)
        self.logger.info(
            "dmm: %s loaded (%s mode, %d MAARs, framework %s)",
            path, self.dmm.domain.mode, len(self.dmm.maars), compat.FRAMEWORK,
        )
        self._timer_thread = compat.hub.spawn(self._timer_loop)

    def _send(self, outputs) -> None:
        for out in outputs:
            datapath = self.datapaths.get(out.dpid)
            if datapath is None:
                self.dmm.counters["tx_switch_down"] += 1
                continue
            msgs = out.msgs
            if out.atomic and len(msgs) > 1:
                msgs = bundle(msgs, datapath, next(self._bundle_ids) & 0xFFFFFFFF)
            for msg in msgs:
                msg.datapath = datapath
                datapath.send_msg(msg)

    def _timer_loop(self):
        while True:
            self._send(self.dmm.expire(time.time()))
            compat.hub.sleep(TIMER_TICK)

    @compat.set_ev_cls(compat.ofp_event.EventOFPSwitchFeatures, compat.CONFIG_DISPATCHER)
    def switch_features(self, ev):
        """A MAAR (re)connects: rebuild its whole rule set from state."""
        datapath = ev.msg.datapath
        if self.dmm.maar_name(datapath.id) is None:
            self.logger.warning("dmm: datapath %#x is not a configured MAAR; ignored", datapath.id)
            return
        self.datapaths[datapath.id] = datapath
        self._send(self.dmm.switch_connected(datapath.id))

    @compat.set_ev_cls(
        compat.ofp_event.EventOFPStateChange, [compat.MAIN_DISPATCHER, compat.DEAD_DISPATCHER]
    )
    def state_change(self, ev):
        """Log MAAR joins and leaves by their configured name."""
        datapath = ev.datapath
        if datapath.id is None:
            return
        name = self.dmm.maar_name(datapath.id) or "unconfigured"
        if ev.state == compat.MAIN_DISPATCHER:
            self.logger.info("dmm: MAAR %s (dpid %#x) joined", name, datapath.id)
            return
        self.logger.info("dmm: MAAR %s (dpid %#x) left", name, datapath.id)
        if self.datapaths.get(datapath.id) is datapath:
            del self.datapaths[datapath.id]
            self.dmm.switch_disconnected(datapath.id)

    @compat.set_ev_cls(compat.ofp_event.EventOFPPacketIn, compat.MAIN_DISPATCHER)
    def packet_in(self, ev):
        msg = ev.msg
        self._send(self.dmm.packet_in(msg.datapath.id, msg.match["in_port"], msg.data,
                                      time.time()))
