"""What every node of the runtime shares: carrying out its core's actions.

A node (:class:`~dmm_ryu.runtime.maar_node.MaarNode`,
:class:`~dmm_ryu.runtime.cmd_node.CmdNode`) owns one protocol core and turns
what it returns into OpenFlow messages for its own switch: a PBU/PBA leaves
as a real IPv6 packet through the transport (packet-out), timers go to the
process's timer queue under the node's name.  Nothing is sent from here:
the returned :class:`Output` values are sent by the adapter, so the same
nodes run under Ryu/os-ken and under the fake switches of the tests.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, List, Optional

from dmm_ryu.core import actions as act
from dmm_ryu.of import packed
from dmm_ryu.store.base import KvStore, StoreError
from dmm_ryu.runtime.directory import Directory, NodeInfo
from dmm_ryu.runtime.group import Round
from dmm_ryu.runtime.persistence import NodeState
from dmm_ryu.runtime.stats import Stats
from dmm_ryu.runtime.timers import TimerQueue
from dmm_ryu.wire import inet, ndp
from dmm_ryu.wire.mh import codec
from dmm_ryu.wire.mh.options import DEFAULT_OPTION_TYPES, OptionTypes
from dmm_ryu.wire.mh.model import message_name

LOG = logging.getLogger("dmm")
#: Seconds before a timer whose event could not be stored fires again.  Its
#: deadline has passed: re-armed there, it would fire at once, forever (the
#: timer loop never idles while the store is down).
STORE_RETRY = 1.0
#: A failed write is logged on the first failure and every this many after.
STORE_LOG_EVERY = 1000
#: One line per PBU/PBA sent or received; off unless ``[dmm] log_signalling``.
SIGNALLING = logging.getLogger("dmm.signalling")


@dataclass
class Output:
    """OpenFlow messages for one switch: framework objects (``msgs``, cold
    paths) and packed bytes (``raw``, of/packed.py, xids left to the
    sender).  ``atomic``: send as one bundle."""

    dpid: int
    msgs: list
    atomic: bool = False
    raw: list = field(default_factory=list)


@dataclass(frozen=True)
class NodeEnv:
    """What the nodes of one process share: who is who, one timer queue,
    one stats recorder, the domain's mode, the OpenFlow classes and the
    round of group commit."""

    directory: Directory
    timers: TimerQueue
    stats: Stats
    mode: str
    parser: Any
    ofproto: Any
    option_types: OptionTypes = DEFAULT_OPTION_TYPES
    #: The round whose events commit together (runtime/group.py).
    round: Round = field(default_factory=Round)


class Node:
    """One protocol core behind one switch."""

    def __init__(self, info: NodeInfo, core, env: NodeEnv) -> None:
        self.info, self.core, self.env = info, core, env
        self.connected = False
        self.state: Optional[NodeState] = None
        #: False while another instance serves this node (a standby CMD):
        #: events are ignored, and becoming active reloads from the store.
        self.active = True
        #: The last event left the core with nothing to do (counted by the caller).
        self.idle = False
        self._store_failures = 0  # failed writes since the last good one

    @property
    def name(self) -> str:
        return self.info.name

    def attach_store(self, store: KvStore, now: float) -> int:
        """Persist this node in ``store`` from now on, after restoring what
        it holds (a warm restart); returns how many MNs were restored."""
        self.state = NodeState(store, self.core)
        return self.reload(now)

    def reload(self, now: float) -> int:
        """Replace the node's state by what its store holds (the store may
        have been written by another instance meanwhile); returns how many
        MN records there were."""
        self.env.timers.cancel_owner(self.name)
        for timer in self.state.load(now):
            self.env.timers.start(self.name, timer.key, timer.at)
        return len(self.state.deadlines)

    def handle(self, event, now: float) -> List[Output]:
        """Feed one event to the core and track its timers; a stored node
        then commits and carries it out (nothing leaves before its state is
        stored), at once or, inside a round, when the round settles
        (runtime/group.py: the outputs are then a placeholder)."""
        self.idle = False
        if not self.active:
            self.env.stats.error("event_at_standby_node")
            return []
        actions = self.core.handle(event, now)
        self.idle = not actions
        if self.state is None:
            return self.carry_out(event, actions, now)
        mn_ids, sends = self.state.track(event, actions)
        return self.env.round.defer(self, event, actions, now, mn_ids, sends)

    def carry_out(self, event, actions: list, now: float) -> List[Output]:
        """Turn the stored actions of ``event`` into outputs (MaarNode adds
        the admission rules of the MNs the event touched)."""
        return self.execute(actions, now)

    def unstored(self, event, why: str, now: float) -> List[Output]:
        """What to send when ``event``'s state could not be stored (it was
        undone): nothing here; the CMD refuses the PBU (cmd_node.py)."""
        return []

    def commit(self, mn_ids, fence: bool, now: float) -> Optional[str]:
        """Store ``mn_ids`` in one commit (``fence``: messages depend on it);
        None if stored, else why not.  On failure the MNs are reloaded from
        the store and their timers re-armed, none before ``now`` +
        STORE_RETRY: the events that touched them are undone."""
        try:
            self.state.save(mn_ids, fence=fence)
            self._store_failures = 0
            return None
        except StoreError as err:
            self._store_failed(err)
        try:
            self.state.roll_back(mn_ids)
        except StoreError as err:  # the roll-back could not read the store either
            self.env.stats.error("store_rollback_failed")
            LOG.error("dmm: %s could not reload its state after a failed write (%s); it is "
                      "reloaded when the store answers", self.name, err)
            return f"the write failed and so did the read-back ({err})"
        for mn_id in mn_ids:
            for key, at in self.state.deadlines.get(mn_id, {}).items():
                self.env.timers.start(self.name, key, max(at, now + STORE_RETRY))
        return "the write failed"

    def _store_failed(self, err: StoreError) -> None:
        """Counted each time; logged on the first of a run of failures and
        every STORE_LOG_EVERY-th after (an outage must not flood the log)."""
        self.env.stats.error("store_failed")
        self._store_failures += 1
        if self._store_failures % STORE_LOG_EVERY == 1:
            LOG.error("dmm: %s could not store its state (%s); event undone, nothing sent "
                      "(%d failed writes in a row)", self.name, err, self._store_failures)

    def execute(self, actions: list, now: float) -> List[Output]:
        out: List[Output] = []
        for action in actions:
            if isinstance(action, act.SendMessage):
                out.append(self._send(action))
            elif isinstance(action, act.StartTimer):
                self.env.timers.start(self.name, action.key, action.at)
            elif isinstance(action, act.CancelTimer):
                self.env.timers.cancel(self.name, action.key)
            else:
                out += self.local_action(action, now)
        return out

    def local_action(self, action, now: float) -> List[Output]:
        """An action only some nodes have (flows, RAs): MaarNode overrides."""
        raise TypeError(f"{self.name} cannot carry out {action!r}")

    def _send(self, action: act.SendMessage) -> Output:
        """A PBU/PBA as a real IPv6 packet leaving this node's switch.

        When the addressee sits on the same switch (the CMD beside its
        MAAR) the packet re-enters the pipeline as if it had arrived on the
        uplink, and is punted from there.
        """
        self.env.stats.count("tx", *message_kind(action.message))
        SIGNALLING.info("dmm: %s tx %s", self.name, Described(action.src, action.dst, action.message))
        dst = self.env.directory.at(action.dst)
        if dst is None:
            self.env.stats.error("tx_unknown_destination")
            return Output(self.info.dpid, [])
        frame = inet.ethernet(dst.mac, self.info.mac,
                              codec.encode_packet(action.message, action.src, action.dst,
                                                  option_types=self.env.option_types))
        if dst.dpid == self.info.dpid:
            return Output(self.info.dpid, [], raw=[self.packet_out(self.env.ofproto.OFPP_TABLE,
                                                                   frame, self.info.uplink)])
        return Output(self.info.dpid, [], raw=[self.packet_out(self.info.uplink, frame)])

    def answer_neighbour(self, nd: ndp.NdPacket, port: int, mac: str) -> Output:
        """A Neighbour Advertisement for ``nd``'s target, from ``mac``."""
        frame = ndp.neighbor_advertisement(mac, nd.target, nd.eth_src, nd.src)
        return Output(self.info.dpid, [], raw=[self.packet_out(port, frame)])

    @staticmethod
    def packet_out(port: int, frame: bytes, in_port: Optional[int] = None) -> bytes:
        """``frame`` out of ``port`` (from the controller unless ``in_port``),
        packed: a packet-out for Output.raw."""
        return packed.packet_out(port, frame, in_port)


def message_kind(message) -> tuple:
    """Stats key of a message: type and, for a PBA or BRA, its status."""
    return message_name(message), getattr(message, "status", None)


class Described:
    """One log line's worth of a PBU/PBA (who, which MN, what, which
    prefixes), formatted only if the line is actually logged: the
    signalling path must not pay for text nobody reads."""

    __slots__ = ("src", "dst", "message")

    def __init__(self, src, dst, message) -> None:
        self.src, self.dst, self.message = src, dst, message

    def __str__(self) -> str:
        src, dst, message = self.src, self.dst, self.message
        opts = message.options
        text = (f"{message_kind(message)[0]} {src} -> {dst} mn={opts.mn_id} "
                f"seq={message.sequence} lifetime={getattr(message, 'lifetime', '-')} "
                f"hnp={','.join(map(str, opts.hnps)) or '-'}")
        for name in ("status", "trigger"):  # PBA and BRA; BRI
            if hasattr(message, name):
                text += f" {name}={getattr(message, name)}"
        if opts.serving_maar:
            text += f" serving_maar={opts.serving_maar}"
        for pm in opts.previous_maars:
            text += f" previous_maar={pm.address}:{pm.prefix}"
        return text
