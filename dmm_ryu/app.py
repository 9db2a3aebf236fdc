"""The Ryu / os-ken application: ``ryu-manager dmm_ryu.app``.

A thin shell around :class:`dmm_ryu.runtime.controller.DmmController`: it reads the
domain file named by ``[dmm] domain_file`` in the manager's ``--config-file``,
forwards switch connections and packet-ins to the controller, sends what it
returns (flow changes as OVS bundles) and runs one green thread for the
protocol timers.  No protocol decision is taken here.
"""
from __future__ import annotations

import itertools
import time

from dmm_ryu.of import compat
from dmm_ryu.config.domainfile import InvalidConfigError, load
from dmm_ryu.runtime.controller import DmmController
from dmm_ryu.ops.runtime_view import ControllerView
from dmm_ryu.of.bundle import bundle
from dmm_ryu.ops.rest import RestApp, RestConfig

DEFAULT_DOMAIN_FILE = "/etc/dmm-ryu/dmm.yaml"
TIMER_TICK = 0.005  # s: the longest a due protocol timer waits (relay aggregation)

_cfg = compat.cfg
_cfg.CONF.register_opts(
    [
        _cfg.StrOpt("domain_file", default=DEFAULT_DOMAIN_FILE,
                    help="YAML file describing the mobility domain (MAARs, CMD, mode)"),
        _cfg.StrOpt("rest_host", default="127.0.0.1",
                    help="address the REST API and /metrics listen on"),
        _cfg.IntOpt("rest_port", default=8080, min=0, max=65535,
                    help="port of the REST API and /metrics; 0 disables them"),
        _cfg.BoolOpt("rest_dereg_enabled", default=False,
                     help="allow DELETE /dmm/v1/cmd/bindings/{mn_id} (needs rest_token)"),
        _cfg.StrOpt("rest_token", default=None, secret=True,
                    help="bearer token required by forced de-registration"),
    ],
    group="dmm",
)


class DmmApp(compat.RyuApp):
    """Mobility domain controller: CMD and MAAR logic behind OpenFlow 1.3."""

    OFP_VERSIONS = [compat.ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        conf = compat.cfg.CONF.dmm
        path = conf.domain_file
        try:
            self.dmm = DmmController(load(path))
            rest = RestConfig(conf.rest_host, conf.rest_port or 1, conf.rest_dereg_enabled,
                              conf.rest_token)
        except InvalidConfigError as err:
            self.logger.error("dmm: invalid domain file: %s", err)
            raise
        except ValueError as err:
            self.logger.error("dmm: invalid [dmm] REST options: %s", err)
            raise
        for note in self.dmm.notes:
            self.logger.warning("dmm: %s", note)
        self.datapaths = {}
        self._bundle_ids = itertools.count(1)
        self.logger.info(
            "dmm: %s loaded (%s mode, %d MAARs, framework %s)",
            path, self.dmm.domain.mode, len(self.dmm.maar_nodes), compat.FRAMEWORK,
        )
        self._timer_thread = compat.hub.spawn(self._timer_loop)
        if conf.rest_port:
            self._serve_rest(rest)

    def _serve_rest(self, rest: RestConfig) -> None:
        """REST API and /metrics in a green thread of the manager."""
        app = RestApp(ControllerView(self.dmm, self._send), rest)
        server = compat.hub.WSGIServer((rest.host, rest.port), app)
        self._rest_thread = compat.hub.spawn(server.serve_forever)
        self.logger.info("dmm: REST API on http://%s:%d/dmm/v1/", rest.host, rest.port)

    def _send(self, outputs) -> None:
        for out in outputs:
            datapath = self.datapaths.get(out.dpid)
            if datapath is None:
                self.dmm.stats.error("tx_switch_down")
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
        if self.dmm.switch_name(datapath.id) is None:
            self.logger.warning("dmm: datapath %#x is not a configured MAAR or CMD switch; "
                                "ignored", datapath.id)
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
        name = self.dmm.switch_name(datapath.id) or "unconfigured"
        kind = "MAAR" if self.dmm.is_maar(datapath.id) else "switch"
        if ev.state == compat.MAIN_DISPATCHER:
            self.logger.info("dmm: %s %s (dpid %#x) joined", kind, name, datapath.id)
            return
        self.logger.info("dmm: %s %s (dpid %#x) left", kind, name, datapath.id)
        if self.datapaths.get(datapath.id) is datapath:
            del self.datapaths[datapath.id]
            self.dmm.switch_disconnected(datapath.id)

    @compat.set_ev_cls(compat.ofp_event.EventOFPPortStatus, compat.MAIN_DISPATCHER)
    def port_status(self, ev):
        """An access link going down may be an MN leaving (after a guard)."""
        msg = ev.msg
        ofp = msg.datapath.ofproto
        down = msg.reason == ofp.OFPPR_DELETE or msg.desc.state & ofp.OFPPS_LINK_DOWN
        if down:
            self._send(self.dmm.port_down(msg.datapath.id, msg.desc.port_no, time.time()))

    @compat.set_ev_cls(compat.ofp_event.EventOFPPacketIn, compat.MAIN_DISPATCHER)
    def packet_in(self, ev):
        """Punted signalling; packets whose hop limit expired in a MAAR are
        counted and dropped (no ICMPv6 Time Exceeded is generated)."""
        msg = ev.msg
        if msg.reason == msg.datapath.ofproto.OFPR_INVALID_TTL:
            self.dmm.stats.error("hop_limit_expired")
            return
        self._send(self.dmm.packet_in(msg.datapath.id, msg.match["in_port"], msg.data,
                                      time.time()))
