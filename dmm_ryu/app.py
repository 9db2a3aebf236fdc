"""The Ryu / os-ken application: ``ryu-manager dmm_ryu.app``.

A thin shell around :class:`dmm_ryu.runtime.controller.DmmController`: it
reads the domain file named by ``[dmm] domain_file`` in the manager's
``--config-file``, forwards switch events to the runtime on the domain
clock, and sends what it returns (:mod:`dmm_ryu.shell`).  Every handler
and the timer thread are guarded: an exception is logged and counted, and
the controller keeps serving.  No protocol decision is taken here.
"""
from __future__ import annotations

import logging

from dmm_ryu.config.domainfile import InvalidConfigError, load
from dmm_ryu.of import compat
from dmm_ryu.ops.rest import RestApp, RestConfig
from dmm_ryu.ops.runtime_view import ControllerView
from dmm_ryu.ops.server import serve
from dmm_ryu.runtime.controller import DmmController
from dmm_ryu.shell.clock import DomainClock
from dmm_ryu.shell.guard import guarded
from dmm_ryu.shell.ofevents import error_summary, is_link_down
from dmm_ryu.shell.sender import Sender
from dmm_ryu.shell.timers import run_timers

DEFAULT_DOMAIN_FILE = "/etc/dmm-ryu/dmm.yaml"
#: Seconds between two resyncs of one switch after OpenFlow errors.
RESYNC_HOLDOFF = 5.0

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
        _cfg.BoolOpt("log_signalling", default=False,
                     help="log every PBU/PBA sent and received (one line each, at INFO)"),
    ],
    group="dmm",
)


class DmmApp(compat.RyuApp):
    """Mobility domain controller: CMD and MAAR logic behind OpenFlow 1.3."""

    OFP_VERSIONS = [compat.ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        conf = compat.cfg.CONF.dmm
        try:
            self.dmm = DmmController(load(conf.domain_file))
            rest = RestConfig(conf.rest_host, conf.rest_port or 1, conf.rest_dereg_enabled,
                              conf.rest_token)
        except InvalidConfigError as err:
            self.logger.error("dmm: invalid domain file: %s", err)
            raise
        except ValueError as err:
            self.logger.error("dmm: invalid [dmm] REST options: %s", err)
            raise
        logging.getLogger("dmm.signalling").setLevel(
            logging.INFO if conf.log_signalling else logging.WARNING)
        for note in self.dmm.notes:
            self.logger.warning("dmm: %s", note)
        self.clock = DomainClock()
        self.sender = Sender(self.dmm.stats)
        self._resynced = {}
        self.logger.info("dmm: %s loaded (%s mode, %d MAARs, framework %s %s, %s hub)",
                         conf.domain_file, self.dmm.domain.mode, len(self.dmm.maar_nodes),
                         compat.FRAMEWORK, compat.VERSION, compat.HUB_TYPE)
        self._timer_thread = compat.spawn(run_timers, self.dmm, self.sender.send,
                                          self.clock.now, compat.sleep)
        self.rest = self._serve_rest(rest) if conf.rest_port else None

    def _serve_rest(self, rest: RestConfig):
        """REST API and /metrics, on a server with timeouts and a connection bound."""
        view = ControllerView(self.dmm, self.sender.send, self.clock.now)
        server = serve(RestApp(view, rest), rest.host, rest.port, spawn=compat.spawn,
                       count=self.dmm.stats.error)
        self.logger.info("dmm: REST API on http://%s:%d/dmm/v1/", rest.host, rest.port)
        return server

    def _run(self, name: str, function, *args) -> None:
        """Call the runtime under the guard and send what it returns."""
        guarded(name, self.dmm.stats.error)(lambda: self.sender.send(function(*args)))()

    @compat.set_ev_cls(compat.ofp_event.EventOFPSwitchFeatures, compat.CONFIG_DISPATCHER)
    def switch_features(self, ev):
        """A switch (re)connects: its nodes rebuild its rule set from state."""
        datapath = ev.msg.datapath
        if self.dmm.switch_name(datapath.id) is None:
            self.logger.warning("dmm: datapath %#x is not a MAAR or CMD switch served here; "
                                "ignored", datapath.id)
            return
        self.sender.datapaths[datapath.id] = datapath
        self._run("switch_features", self.dmm.switch_connected, datapath.id)

    @compat.set_ev_cls(
        compat.ofp_event.EventOFPStateChange, [compat.MAIN_DISPATCHER, compat.DEAD_DISPATCHER]
    )
    def state_change(self, ev):
        """Log switch joins and leaves by their configured name."""
        datapath = ev.datapath
        if datapath.id is None:
            return
        name = self.dmm.switch_name(datapath.id) or "unconfigured"
        joined = ev.state == compat.MAIN_DISPATCHER
        kind = "MAAR" if self.dmm.is_maar(datapath.id) else "switch"
        self.logger.info("dmm: %s %s (dpid %#x) %s", kind, name, datapath.id,
                         "joined" if joined else "left")
        if not joined and self.sender.datapaths.get(datapath.id) is datapath:
            del self.sender.datapaths[datapath.id]
            self.dmm.switch_disconnected(datapath.id)

    @compat.set_ev_cls(compat.ofp_event.EventOFPPortStatus, compat.MAIN_DISPATCHER)
    def port_status(self, ev):
        """An access link going down may be an MN leaving (after a guard)."""
        msg = ev.msg
        if is_link_down(msg):
            self._run("port_status", self.dmm.port_down, msg.datapath.id, msg.desc.port_no,
                      self.clock.now())

    @compat.set_ev_cls(compat.ofp_event.EventOFPPacketIn, compat.MAIN_DISPATCHER)
    def packet_in(self, ev):
        """Punted signalling and ND; packets whose hop limit expired in a MAAR
        are counted and dropped (no ICMPv6 Time Exceeded is generated)."""
        msg = ev.msg
        if msg.reason == msg.datapath.ofproto.OFPR_INVALID_TTL:
            self.dmm.stats.error("hop_limit_expired")
            return
        self._run("packet_in", self.dmm.packet_in, msg.datapath.id, msg.match["in_port"],
                  msg.data, self.clock.now())

    @compat.set_ev_cls(compat.ofp_event.EventOFPErrorMsg,
                       [compat.CONFIG_DISPATCHER, compat.MAIN_DISPATCHER])
    def error(self, ev):
        """A switch refused something we sent: count it by type and code,
        log what it was, and resync that switch from state (at most once per
        RESYNC_HOLDOFF seconds, so a refused rebuild cannot loop)."""
        msg = ev.msg
        reason, text = error_summary(msg)
        self.dmm.stats.error(reason)
        dpid = msg.datapath.id
        self.logger.error("dmm: switch %s refused a message: %s", self.dmm.switch_name(dpid), text)
        now = self.clock.now()
        if dpid in self.sender.datapaths and now - self._resynced.get(dpid, -RESYNC_HOLDOFF) \
                >= RESYNC_HOLDOFF:
            self._resynced[dpid] = now
            self.dmm.stats.error("of_resync")
            self._run("resync", self.dmm.switch_connected, dpid)
