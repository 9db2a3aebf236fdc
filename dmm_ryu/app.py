"""The Ryu / os-ken application: ``ryu-manager dmm_ryu.app``.

A thin shell around :class:`dmm_ryu.runtime.controller.DmmController`: it
reads the domain file named by ``[dmm] domain_file`` in the manager's
``--config-file``, forwards switch events to the runtime on the domain
clock, and sends what it returns (:mod:`dmm_ryu.shell`).  The handlers
queue their runtime calls, and one worker runs whatever is queued as one
batch (group commit: one store commit per node per round,
:mod:`dmm_ryu.shell.drain`); the timer thread fires timers outside any
batch, one commit per event.  Every work item and the timer thread are
guarded: an exception is logged and counted, and the controller keeps
serving.  No protocol decision is taken here.
"""
from __future__ import annotations

import logging
import os
import socket
from typing import List, Optional

from dmm_ryu.config.domainfile import InvalidConfigError, load
from dmm_ryu.of import compat
from dmm_ryu.ops.rest import RestApp, RestConfig
from dmm_ryu.ops.runtime_view import ControllerView
from dmm_ryu.ops.server import serve
from dmm_ryu.runtime.controller import DmmController
from dmm_ryu.runtime.directory import CMD
from dmm_ryu.shell.clock import DomainClock
from dmm_ryu.shell.drain import Drain
from dmm_ryu.shell.heap import freeze_loaded_heap
from dmm_ryu.store.base import StoreError
from dmm_ryu.shell.guard import guarded
from dmm_ryu.shell import role as cmd_role
from dmm_ryu.shell.ofevents import error_summary, is_link_down, live_ports
from dmm_ryu.shell.sender import Sender
from dmm_ryu.shell.state import DEFAULT_STATE_DIR, DEFAULT_STATE_STORE, store_factory
from dmm_ryu.shell.timers import run_timers
from dmm_ryu.store.election import Election
from dmm_ryu.store.etcd import EtcdStore

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
        _cfg.StrOpt("state_dir", default=DEFAULT_STATE_DIR,
                    help="directory of the nodes' durable state (one file per node); "
                         "'none' keeps it in memory only"),
        _cfg.StrOpt("state_store", default=DEFAULT_STATE_STORE, choices=["journal", "sqlite"],
                    help="backend of the files in state_dir: 'sqlite' (WAL, <node>.sqlite) "
                         "or 'journal' (append-only, <node>.journal)"),
        _cfg.BoolOpt("log_signalling", default=False,
                     help="log every PBU/PBA sent and received (one line each, at INFO)"),
        _cfg.ListOpt("nodes", default=[],
                     help="the nodes this process serves, e.g. 'cmd' or 'maar1,maar2' "
                          "(default: every node of the domain)"),
        _cfg.ListOpt("etcd_endpoints", default=[],
                     help="etcd client URLs; with them the CMD campaigns for leadership "
                          "and takes the OpenFlow MASTER role on its switch only as leader"),
        _cfg.StrOpt("etcd_prefix", default="dmm/", help="prefix of this domain's etcd keys"),
        _cfg.StrOpt("instance_id", default=None,
                    help="this CMD instance's name in the election (default: host-pid)"),
        _cfg.IntOpt("election_ttl", default=2, min=2,
                    help="seconds of the CMD leader's etcd lease: a dead leader is "
                         "replaced within about ttl + 1 s"),
    ],
    group="dmm",
)


def served_nodes(names: List[str], domain) -> Optional[List[str]]:
    """The ``[dmm] nodes`` option checked against the domain: None (every
    node) when empty; an unknown name is a configuration error."""
    if not names:
        return None
    known = set(domain.maars) | {CMD}
    unknown = sorted(set(names) - known)
    if unknown:
        raise InvalidConfigError(f"[dmm] nodes: {', '.join(unknown)} not in the domain "
                                 f"(its nodes: {', '.join(sorted(known))})")
    return sorted(set(names))


class DmmApp(compat.RyuApp):
    """Mobility domain controller: CMD and MAAR logic behind OpenFlow 1.3."""

    OFP_VERSIONS = [compat.ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        conf = compat.cfg.CONF.dmm
        self.clock = DomainClock()
        try:
            domain = load(conf.domain_file)
            self.dmm = DmmController(domain, nodes=served_nodes(conf.nodes, domain))
            self.etcd = EtcdStore(conf.etcd_endpoints, conf.etcd_prefix) \
                if conf.etcd_endpoints and self.dmm.cmd_node is not None else None
            self.dmm.attach_stores(self._store_of(conf), self.clock.now())
            rest = RestConfig(conf.rest_host, conf.rest_port or 1, conf.rest_dereg_enabled,
                              conf.rest_token)
        except InvalidConfigError as err:
            self.logger.error("dmm: invalid domain file or [dmm] nodes: %s", err)
            raise
        except StoreError as err:
            self.logger.error("dmm: cannot open the state in %s: %s", conf.state_dir, err)
            raise
        except ValueError as err:
            self.logger.error("dmm: invalid [dmm] REST options: %s", err)
            raise
        logging.getLogger("dmm.signalling").setLevel(
            logging.INFO if conf.log_signalling else logging.WARNING)
        for note in self.dmm.notes:
            self.logger.warning("dmm: %s", note)
        self.sender = Sender(self.dmm.stats)
        self._resynced = {}
        self.logger.info("dmm: %s loaded (%s mode, %d MAARs, framework %s %s, %s hub); "
                         "serving %s", conf.domain_file, self.dmm.domain.mode,
                         len(self.dmm.maar_nodes), compat.FRAMEWORK, compat.VERSION,
                         compat.HUB_TYPE, self._serving())
        self.drain = Drain(self.dmm, self.sender.send, compat.hub.Queue(), compat.hub.QueueEmpty)
        compat.spawn(self.drain.run)
        self.role = self._cmd_role(conf) if conf.etcd_endpoints else None
        self._timer_thread = compat.spawn(run_timers, self.dmm, self.sender.send,
                                          self.clock.now, compat.sleep)
        self.rest = self._serve_rest(rest) if conf.rest_port else None
        self.logger.info("dmm: %d objects of the loaded controller frozen out of full "
                         "collections", freeze_loaded_heap())

    def _store_of(self, conf):
        """Every node's store: a file under state_dir, except the CMD's on
        etcd when etcd_endpoints are set (shared by the CMD instances; the
        CMD stays on standby until this instance leads)."""
        local = store_factory(conf.state_dir, conf.state_store)
        if self.etcd is None:
            return local
        self.dmm.deactivate(CMD)
        return lambda node: self.etcd if node == CMD else local(node)

    def _serving(self) -> str:
        return ", ".join(sorted(self.dmm.nodes)) or "no node"

    def _cmd_role(self, conf):
        """CMD high availability: campaign in etcd, and hold the MASTER role
        on the CMD's switch only while leading (:mod:`dmm_ryu.shell.role`)."""
        cmd = self.dmm.cmd_node
        if cmd is None:
            self.logger.info("dmm: etcd_endpoints ignored: this process serves no CMD")
            return None
        if self.dmm.is_maar(cmd.info.dpid):
            raise InvalidConfigError("[dmm] etcd_endpoints: the CMD's MASTER role would take "
                                     "its MAAR's switch along; give the CMD its own dpid")
        store = self.etcd
        instance = conf.instance_id or f"{socket.gethostname()}-{os.getpid()}"
        election = Election(store, CMD, instance, ttl=conf.election_ttl)
        keeper = cmd_role.CmdRole(
            cmd.info.dpid, election, lambda: cmd_role.election_term(store.client, election.key),
            self._took_master, self._lost_master, self.dmm.stats.error)
        election.start()
        compat.spawn(cmd_role.run, keeper, compat.sleep,
                         guarded("cmd_role", self.dmm.stats.error))
        self.logger.info("dmm: CMD instance %s campaigns on etcd %s", instance,
                         ", ".join(conf.etcd_endpoints))
        return keeper

    def _took_master(self, datapath) -> None:
        """Leader and MASTER: serve the bindings etcd holds (written by the
        previous leader), send to the CMD's switch and rebuild it."""
        guarded("activate", self.dmm.stats.error)(self.dmm.activate)(CMD, self.clock.now())
        self.sender.datapaths[datapath.id] = datapath
        self._run("switch_features", self.dmm.switch_connected, datapath.id)

    def _lost_master(self, datapath) -> None:
        """SLAVE again: nothing more reaches the switch from here, and the
        CMD stands by (it neither answers nor writes)."""
        self.dmm.deactivate(CMD)
        if self.sender.datapaths.get(datapath.id) is datapath:
            del self.sender.datapaths[datapath.id]
        self.dmm.switch_disconnected(datapath.id)

    def _held_back(self, dpid: int) -> bool:
        """The CMD's switch while this instance is not its MASTER."""
        return self.role is not None and dpid == self.role.dpid and not self.role.is_master

    def _serve_rest(self, rest: RestConfig):
        """REST API and /metrics, on a server with timeouts and a connection bound."""
        view = ControllerView(self.dmm, self.sender.send, self.clock.now,
                              leadership=self.role.leadership if self.role else None)
        server = serve(RestApp(view, rest), rest.host, rest.port, spawn=compat.spawn,
                       count=self.dmm.stats.error)
        self.logger.info("dmm: REST API on http://%s:%d/dmm/v1/", rest.host, rest.port)
        return server

    def _run(self, name: str, function, *args) -> None:
        """Queue a runtime call for the next round (its outputs are sent
        with the round's, in order; an exception is logged and counted)."""
        self.drain.put(name, function, *args)

    @compat.set_ev_cls(compat.ofp_event.EventOFPSwitchFeatures, compat.CONFIG_DISPATCHER)
    def switch_features(self, ev):
        """A switch (re)connects: its nodes rebuild its rule set from state."""
        datapath = ev.msg.datapath
        if self.dmm.switch_name(datapath.id) is None:
            self.logger.warning("dmm: datapath %#x refused: not the switch of a node this "
                                "process serves (%s)", datapath.id, self._serving())
            return
        if self.role is not None and datapath.id == self.role.dpid:
            self.role.connected(datapath)  # its thread asks MASTER (and rebuilds) if leading
            return
        self.sender.datapaths[datapath.id] = datapath
        self._run("switch_features", self.dmm.switch_connected, datapath.id)
        datapath.send_msg(datapath.ofproto_parser.OFPPortDescStatsRequest(datapath, 0))

    @compat.set_ev_cls(compat.ofp_event.EventOFPPortDescStatsReply, compat.MAIN_DISPATCHER)
    def port_description(self, ev):
        """Ports that went down while the controller was away count as link
        down now (the MNs on them get their detach guard)."""
        msg = ev.msg
        self._run("port_description", self.dmm.ports_seen, msg.datapath.id,
                  live_ports(msg.body, msg.datapath.ofproto), self.clock.now())

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
        if not joined and self.role is not None:
            self.role.disconnected(datapath)
        if not joined:
            self._run("state_change", self._switch_left, datapath)

    def _switch_left(self, datapath) -> None:
        """After the events queued before it: nothing more is sent there."""
        if self.sender.datapaths.get(datapath.id) is datapath:
            del self.sender.datapaths[datapath.id]
            self.dmm.switch_disconnected(datapath.id)

    @compat.set_ev_cls(compat.ofp_event.EventOFPPortStatus, compat.MAIN_DISPATCHER)
    def port_status(self, ev):
        """An access link going down may be an MN leaving (after a guard);
        one coming up (or added) may be an MN arriving (issue 14)."""
        msg = ev.msg
        handler = self.dmm.port_down if is_link_down(msg) else self.dmm.port_up
        self._run("port_status", handler, msg.datapath.id, msg.desc.port_no, self.clock.now())

    @compat.set_ev_cls(compat.ofp_event.EventOFPFlowStatsReply, compat.MAIN_DISPATCHER)
    def flow_stats(self, ev):
        """The tunnels' packet counters, for prefix GC (runtime/traffic.py)."""
        msg = ev.msg
        more = bool(msg.flags & msg.datapath.ofproto.OFPMPF_REPLY_MORE)
        self._run("flow_stats", self.dmm.flow_stats, msg.datapath.id,
                  [(stat.cookie, stat.packet_count) for stat in msg.body], more, self.clock.now())

    @compat.set_ev_cls(compat.ofp_event.EventOFPPacketIn, compat.MAIN_DISPATCHER)
    def packet_in(self, ev):
        """Punted signalling and ND; packets whose hop limit expired in a MAAR
        are counted and dropped (no ICMPv6 Time Exceeded is generated)."""
        msg = ev.msg
        if msg.reason == msg.datapath.ofproto.OFPR_INVALID_TTL:
            self.dmm.stats.error("hop_limit_expired")
            return
        if self._held_back(msg.datapath.id):  # an EQUAL connection before our SLAVE request
            self.dmm.stats.error("packet_in_not_master")
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
        if self.role is not None and msg.type == msg.datapath.ofproto.OFPET_ROLE_REQUEST_FAILED:
            self.role.refused(text)
            return
        if self._held_back(dpid):
            return  # refused because we are SLAVE: nothing to resync
        self.logger.error("dmm: switch %s refused a message: %s", self.dmm.switch_name(dpid), text)
        now = self.clock.now()
        if dpid in self.sender.datapaths and now - self._resynced.get(dpid, -RESYNC_HOLDOFF) \
                >= RESYNC_HOLDOFF:
            self._resynced[dpid] = now
            self.dmm.stats.error("of_resync")
            self._run("resync", self.dmm.switch_connected, dpid)
