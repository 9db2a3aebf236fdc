"""The runtime of one controller process: its nodes, and a thin dispatcher
that routes switch events to them by datapath id (Faucet's one Valve per
datapath).

Each node (:class:`~dmm_ryu.runtime.maar_node.MaarNode`,
:class:`~dmm_ryu.runtime.cmd_node.CmdNode`) owns its core and its switch;
they never call each other: every PBU/PBA leaves one switch as a real IPv6
packet and reaches its addressee through the data plane and a packet-in,
so a process may serve any subset of the domain's nodes.  Nothing is sent
from here: the Ryu/os-ken adapter (``dmm_ryu.app``) sends what the methods
return, and the tests drive the same methods through fake flow tables.

Thread safety: every public method runs under :attr:`DmmController.lock`
(one re-entrant lock: the OpenFlow handlers, the timer thread and REST
reads and commands are serialised by it), and reads return immutable
snapshots, so the runtime is safe under green and native threads alike.

Group commit: the calls made inside :meth:`DmmController.batch` are one
round (runtime/group.py): each node commits once for all their events,
then their outputs come out of the batch, in call order.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import threading
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from dmm_ryu.config.domainfile import DomainFile
from dmm_ryu.core.cmd import Cmd
from dmm_ryu.core.events import MessageReceived, TimerFired
from dmm_ryu.core.maar import Maar
from dmm_ryu.of import compat
from dmm_ryu.of.context import MaarDataplane
from dmm_ryu.runtime.assembly import build
from dmm_ryu.runtime.cmd_node import CmdNode
from dmm_ryu.runtime.directory import CMD, Directory
from dmm_ryu.runtime.frames import MIN_FRAME, is_ipv6, is_mobility_header
from dmm_ryu.runtime.group import Batch
from dmm_ryu.runtime.maar_node import MaarNode
from dmm_ryu.runtime.node import SIGNALLING, Described, Node, NodeEnv, Output, message_kind
from dmm_ryu.runtime.stats import Stats
from dmm_ryu.runtime.timers import TimerQueue
from dmm_ryu.store.base import KvStore
from dmm_ryu.wire import inet, ndp
from dmm_ryu.wire.mh import codec
from dmm_ryu.wire.mh.errors import MHDecodeError

LOG = logging.getLogger("dmm")

__all__ = ["DmmController", "Output", "CMD"]


def _serialised(method):
    """Run ``method`` under the controller's lock (see the module docstring)."""
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self.lock:
            return method(self, *args, **kwargs)
    return locked


def _emitting(method):
    """Run ``method``, which returns outputs, under the lock as part of a
    round: inside :meth:`DmmController.batch` its outputs join the batch's
    (in call order) and [] is returned; outside, the call is a round of
    one and returns its outputs, committed."""
    @functools.wraps(method)
    def in_round(self, *args, **kwargs):
        with self.lock:
            self.round.begin()
            try:
                self.round.emit(method(self, *args, **kwargs))
            finally:
                outputs = self.round.end()
            return [] if outputs is None else outputs
    return in_round


class DmmController:
    """The nodes of one domain that this process serves, behind OpenFlow."""

    def __init__(self, domain: DomainFile, parser=compat.ofproto_v1_3_parser,
                 ofproto=compat.ofproto_v1_3, nodes: Optional[Iterable[str]] = None) -> None:
        configs = build(domain)
        self.domain, self.notes = domain, configs.notes
        self.directory = Directory.from_domain(domain)
        self.stats, self.timers = Stats(), TimerQueue()
        self.lock = threading.RLock()
        self.env = NodeEnv(self.directory, self.timers, self.stats, domain.mode, parser, ofproto,
                           domain.option_types)
        self.round = self.env.round
        served = set(nodes) if nodes is not None else {n.name for n in self.directory}
        self.nodes: Dict[str, Node] = {}
        for name in sorted(served - {CMD}):
            self.nodes[name] = MaarNode(
                self.directory.named(name), Maar(configs.maars[name]),
                MaarDataplane.for_maar(domain, name, domain.upstream_mac), self.env,
                domain.mn_id_for)
        if CMD in served:
            self.nodes[CMD] = CmdNode(self.directory.named(CMD), Cmd(configs.cmd), domain.cmd,
                                      self.env)
        self._on_dpid: Dict[int, List[Node]] = {}
        for node in self.nodes.values():  # MAARs first: they own their switch's rules
            self._on_dpid.setdefault(node.info.dpid, []).append(node)

    @contextlib.contextmanager
    def batch(self) -> Iterator[Batch]:
        """Group commit (runtime/group.py): the events handled inside are
        committed once per node when the outermost batch ends, and nothing
        they produce leaves before; the Batch yielded then holds every
        output of the calls made inside, in call order (the calls
        themselves return []).  The lock is held throughout; nested
        batches are one."""
        with self.lock:
            batch = self.round.begin()
            try:
                yield batch
            finally:
                self.round.end()

    @_serialised
    def attach_stores(self, store_of: Callable[[str], KvStore], now: float) -> int:
        """Give every node its store (``store_of(name)``), restoring what each
        holds; returns how many MN records were restored."""
        restored = sum(node.attach_store(store_of(node.name), now) for node in self.nodes.values())
        if restored:
            LOG.info("dmm: restored the state of %d MN records", restored)
        return restored

    @_serialised
    def activate(self, name: str, now: float) -> int:
        """``name`` is served by this instance from now on (a standby CMD
        became leader): reload its state from its shared store."""
        node = self.nodes[name]
        restored = node.reload(now) if node.state is not None else 0
        node.active = True
        LOG.info("dmm: %s active, %d MN records loaded", name, restored)
        return restored

    @_serialised
    def deactivate(self, name: str) -> None:
        """Another instance serves ``name`` now: ignore its events."""
        self.nodes[name].active = False

    # -- who is here -----------------------------------------------------------

    @property
    def cmd_node(self) -> Optional[CmdNode]:
        node = self.nodes.get(CMD)
        return node if isinstance(node, CmdNode) else None

    @property
    def maar_nodes(self) -> List[MaarNode]:
        return [n for n in self.nodes.values() if isinstance(n, MaarNode)]

    def _maar_on(self, dpid: int) -> Optional[MaarNode]:
        return next((n for n in self._on_dpid.get(dpid, ()) if isinstance(n, MaarNode)), None)

    def switch_name(self, dpid: int) -> Optional[str]:
        """The node (a MAAR, else ``cmd``) served here behind a datapath id."""
        nodes = self._on_dpid.get(dpid)
        return nodes[0].name if nodes else None

    def is_maar(self, dpid: int) -> bool:
        return self._maar_on(dpid) is not None

    def node_name(self, address) -> str:
        return self.directory.name_of(address)

    # -- switches ----------------------------------------------------------------

    @_emitting
    def switch_connected(self, dpid: int) -> List[Output]:
        """Rebuild the switch's whole rule set from the state of its nodes
        (inside a batch, after the events before it were carried out)."""
        self.round.settle()
        nodes = self._on_dpid.get(dpid)
        if not nodes:
            self.stats.error("unknown_datapath")
            return []
        return [out for node in nodes for out in node.switch_connected()]

    @_serialised
    def switch_disconnected(self, dpid: int) -> None:
        for node in self._on_dpid.get(dpid, ()):
            node.connected = False

    @_emitting
    def port_down(self, dpid: int, port: int, now: float) -> List[Output]:
        """An access link went down: that MAAR's detach guard may start."""
        maar = self._maar_on(dpid)
        return [] if maar is None else maar.link_down(port, now)

    @_emitting
    def ports_seen(self, dpid: int, live: Iterable[int], now: float) -> List[Output]:
        """The switch's port description after it (re)connected: an access
        port that went down while we were away starts the detach guard of
        the MNs on it, as if its link-down had been seen."""
        maar = self._maar_on(dpid)
        if maar is None:
            return []
        live = set(live)
        return [out for port in maar.access_ports if port not in live
                for out in maar.link_down(port, now)]

    @_emitting
    def port_up(self, dpid: int, port: int, now: float) -> List[Output]:
        """An access link came up (or a port was added): detection armed."""
        maar = self._maar_on(dpid)
        return [] if maar is None else maar.link_up(port, now)

    # -- packet-in ---------------------------------------------------------------

    @_emitting
    def packet_in(self, dpid: int, in_port: int, frame: bytes, now: float) -> List[Output]:
        """A punted frame: Mobility Header for a node here, ND, or (on an
        access port) IPv6 from an MN with no session at that MAAR."""
        if dpid not in self._on_dpid or len(frame) < MIN_FRAME:
            self.stats.error("packet_in_ignored")
            return []
        if is_mobility_header(frame):
            return self._mobility_header(dpid, in_port, frame, now)
        nd = ndp.parse_nd(frame)
        maar = self._maar_on(dpid)
        access = maar is not None and in_port in maar.access_ports
        if nd is None and access and is_ipv6(frame):
            return maar.data_frame(in_port, frame, now)
        if nd is None:
            self.stats.error("packet_in_ignored")
            return []
        if access:
            return maar.access_frame(in_port, nd, now)
        return self._transport_neighbour(dpid, in_port, nd)

    def _mobility_header(self, dpid: int, in_port: int, frame: bytes,
                         now: float) -> List[Output]:
        """Decode and hand to the addressee.  Signalling is believed only
        from a configured node, entering the addressee's switch on one of
        its signalling ports, from the sender's transport MAC."""
        try:
            src, dst, message = codec.decode_packet(frame[14:], self.env.option_types)
        except MHDecodeError as err:
            self.stats.error(f"mh_malformed_{err.reason.value}")
            LOG.warning("dmm: malformed Mobility Header at dpid %#x: %s", dpid, err)
            return []
        sender, addressee = self.directory.at(src), self.directory.at(dst)
        reason = self._refusal(dpid, in_port, frame, sender, addressee)
        if reason is not None:
            self.stats.error(reason)
            LOG.warning("dmm: Mobility Header %s -> %s dropped: %s", src, dst, reason)
            return []
        kind = message_kind(message)
        self.stats.count("rx", *kind)
        SIGNALLING.info("dmm: %s rx %s", addressee.name, Described(src, dst, message))
        node = self.nodes[addressee.name]
        outputs = node.handle(MessageReceived(src, dst, message), now)
        if node.idle:  # stale, duplicate or unexpected: the core had nothing to do
            self.stats.error(f"{kind[0].lower()}_ignored")
        return outputs

    def _refusal(self, dpid, in_port, frame, sender, addressee) -> Optional[str]:
        """Why a decoded Mobility Header is not believed, or None."""
        if sender is None or addressee is None:
            return "mh_from_unknown_node"
        if addressee.dpid != dpid or addressee.name not in self.nodes:
            return "mh_wrong_switch"
        if in_port not in addressee.signalling_ports:
            return "mh_wrong_port"
        if inet.mac_text(frame[6:12]) != sender.mac:
            return "mh_wrong_source_mac"
        return None

    def _transport_neighbour(self, dpid: int, in_port: int, nd: ndp.NdPacket) -> List[Output]:
        """An NS on the transport side for the address of a node here."""
        target = self.directory.at(nd.target) if nd.target is not None else None
        if (nd.icmp_type == ndp.NEIGHBOR_SOLICITATION and target is not None
                and target.dpid == dpid and in_port in target.signalling_ports
                and target.name in self.nodes):
            return [self.nodes[target.name].answer_neighbour(nd, in_port, target.mac)]
        self.stats.error("ns_ignored" if nd.icmp_type == ndp.NEIGHBOR_SOLICITATION
                         else "packet_in_ignored")
        return []

    # -- tunnel counters (prefix GC) -------------------------------------------------

    @_emitting
    def flow_stats(self, dpid: int, entries: Iterable[Tuple[int, int]], more: bool,
                   now: float) -> List[Output]:
        """A flow-stats reply (or one part of it) from switch ``dpid``: its
        MAAR node's tunnel readings (runtime/traffic.py), each an event."""
        node = self._maar_on(dpid)
        if node is None or node.traffic is None:
            self.stats.error("flow_stats_unexpected")
            return []
        out: List[Output] = []
        for event in node.traffic.readings(entries, more):
            out += node.handle(event, now)
        return out

    # -- operator commands ---------------------------------------------------------

    @_serialised
    def deregister(self, mn_id: str, now: float) -> Optional[List[Output]]:
        """Operator-forced end of a session, carried out by the CMD (it
        de-registers every MAAR of the session).  None: no such binding."""
        cmd = self.cmd_node
        if cmd is None or cmd.binding(mn_id) is None:
            return None
        LOG.info("dmm: forced de-registration of MN %s", mn_id)
        return self._revoke(mn_id, now)

    @_emitting
    def _revoke(self, mn_id: str, now: float) -> List[Output]:
        return self.cmd_node.revoke(mn_id, now)

    # -- timers --------------------------------------------------------------------

    @_serialised
    def next_deadline(self) -> Optional[float]:
        return self.timers.next_deadline()

    @_emitting
    def expire(self, now: float) -> List[Output]:
        """Fire every timer due at ``now``, each event committed on its own
        (one may arm or cancel a timer due now, which this loop must see
        before it pops the next; inside a batch, the events before are
        carried out first for the same reason)."""
        out: List[Output] = []
        self.round.settle()
        due = self.timers.pop_due(now)
        while due is not None:
            name, key = due
            out += self.nodes[name].handle(TimerFired(key), now)
            self.round.settle()
            due = self.timers.pop_due(now)
        return out
