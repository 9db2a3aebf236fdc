"""A deterministic discrete-event network for the core: a virtual clock,
links with delay, jitter (hence reordering) and loss drawn from a seeded
RNG, MAARs, one CMD and MNs that move.  It carries out the actions the
nodes return, so tests and benchmarks exercise exactly the code the Ryu
adapter runs."""
from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from typing import Dict, Hashable, List, Optional, Set, Tuple

from dmm_ryu.core.actions import (
    CancelTimer,
    SendMessage,
    SendRouterAdvert,
    StartTimer,
)
from dmm_ryu.core.dataplane import Dataplane
from dmm_ryu.core.events import LinkDown, MessageReceived, MnAttached, MnDetached, TimerFired


@dataclass(frozen=True)
class Link:
    """One-way delay = ``delay`` + uniform(0, ``jitter``); ``loss`` is the
    probability a message is dropped."""

    delay: float = 0.005
    jitter: float = 0.0
    loss: float = 0.0


@dataclass(frozen=True)
class Sent:
    """A message as it left a node (``lost`` if the link dropped it)."""

    time: float
    src: IPv6Address
    dst: IPv6Address
    message: object
    lost: bool


@dataclass
class MobileNode:
    """Where the MN is (None: outside the domain) and the prefixes it holds
    from the RAs it received (a valid lifetime of 0 withdraws one), each
    until its valid lifetime runs out (``valid_until``)."""

    mn_id: str
    mac: str
    port: int
    at: Optional[IPv6Address] = None
    prefixes: Set[IPv6Network] = field(default_factory=set)
    valid_until: Dict[IPv6Network, float] = field(default_factory=dict)

    def expire(self, now: float) -> None:
        """Forget the prefixes whose valid lifetime ran out (RFC 4862)."""
        for prefix in [p for p in self.prefixes if self.valid_until.get(p, now) <= now]:
            self.prefixes.discard(prefix)


class Network:
    """Nodes are anything with ``address`` and ``handle(event, now)``."""

    def __init__(self, seed: int = 0, link: Link = Link()) -> None:
        self.now = 0.0
        self.rng = random.Random(seed)
        self.default_link = link
        self.links: Dict[Tuple[IPv6Address, IPv6Address], Link] = {}
        self.nodes: Dict[IPv6Address, object] = {}
        self.mns: Dict[str, MobileNode] = {}
        self.dataplane = Dataplane()
        self.log: List[Sent] = []
        self.adverts: List[Tuple[IPv6Address, SendRouterAdvert]] = []
        self._queue: list = []
        self._order = itertools.count()
        self._timers: Dict[Tuple[IPv6Address, Hashable], int] = {}
        self._in_flight = 0

    def add(self, *nodes) -> None:
        for node in nodes:
            self.nodes[node.address] = node

    def set_link(self, a: IPv6Address, b: IPv6Address, link: Link) -> None:
        """Both directions between ``a`` and ``b``."""
        self.links[(a, b)] = self.links[(b, a)] = link

    # -- the MNs -----------------------------------------------------------

    def attach(self, mn_id: str, maar: IPv6Address) -> None:
        """The MN's link comes up on ``maar`` (leaving wherever it was)."""
        mn = self.mns.get(mn_id)
        if mn is None:
            mn = self.mns[mn_id] = MobileNode(mn_id, f"02:00:00:00:{len(self.mns) // 256:02x}:"
                                              f"{len(self.mns) % 256:02x}", len(self.mns) + 1)
        if mn.at is None:
            mn.prefixes.clear()
        else:
            self._deliver(mn.at, LinkDown(mn.port))
        mn.at = maar
        self._deliver(maar, MnAttached(mn_id, mn.mac, mn.port))

    def detach(self, mn_id: str) -> None:
        """The MN leaves the domain from its current MAAR."""
        mn = self.mns[mn_id]
        at, mn.at = mn.at, None
        mn.prefixes.clear()
        if at is not None:
            self._deliver(at, MnDetached(mn_id))

    def chatter(self) -> None:
        """Every MN on a MAAR's link that holds no prefix sends a frame (an
        RS, or any first frame): its MAAR must register it, however its
        last registration ended.  A stranded MN shows up as a violation."""
        for mn in self.mns.values():
            mn.expire(self.now)
            if mn.at is not None and not mn.prefixes:
                self._deliver(mn.at, MnAttached(mn.mn_id, mn.mac, mn.port))

    # -- running -----------------------------------------------------------

    def run_until(self, when: float) -> None:
        while self._queue and self._queue[0][0] <= when:
            self._step()
        self.now = max(self.now, when)

    def run_for(self, duration: float) -> None:
        self.run_until(self.now + duration)

    def settle(self, limit: float = 300.0) -> bool:
        """Run until no message is in flight and no node awaits an answer;
        False if that did not happen within ``limit`` seconds."""
        deadline = self.now + limit
        while self._queue and self._queue[0][0] <= deadline:
            if not self._in_flight and not any(node.busy for node in self.nodes.values()):
                return True
            self._step()
        return not self._in_flight and not any(node.busy for node in self.nodes.values())

    def _step(self) -> None:
        when, _, kind, target, payload = heapq.heappop(self._queue)
        self.now = when
        if kind == "msg":
            self._in_flight -= 1
            self._deliver(target, payload)
        elif self._timers.get((target, payload[0])) == payload[1]:
            del self._timers[(target, payload[0])]
            self._deliver(target, TimerFired(payload[0]))

    def _push(self, when: float, kind: str, target, payload) -> None:
        heapq.heappush(self._queue, (when, next(self._order), kind, target, payload))

    def inject(self, address: IPv6Address, event) -> None:
        """Hand ``event`` to the node at ``address`` now and carry out what it
        returns: a forged message, as an attacker on the transport sends it."""
        self._deliver(address, event)

    def _deliver(self, address: IPv6Address, event) -> None:
        node = self.nodes[address]
        for action in node.handle(event, self.now):
            self._execute(address, action)

    # -- carrying out actions ----------------------------------------------

    def _execute(self, node: IPv6Address, action) -> None:
        if isinstance(action, SendMessage):
            self._send(action)
        elif isinstance(action, StartTimer):
            token = next(self._order)
            self._timers[(node, action.key)] = token
            self._push(action.at, "timer", node, (action.key, token))
        elif isinstance(action, CancelTimer):
            self._timers.pop((node, action.key), None)
        elif isinstance(action, SendRouterAdvert):
            self._advertise(node, action)
        else:
            self.dataplane.apply(node, action)

    def _send(self, action: SendMessage) -> None:
        link = self.links.get((action.src, action.dst), self.default_link)
        lost = action.dst not in self.nodes or self.rng.random() < link.loss
        self.log.append(Sent(self.now, action.src, action.dst, action.message, lost))
        if not lost:
            self._in_flight += 1
            delay = link.delay + self.rng.uniform(0, link.jitter)
            self._push(self.now + delay, "msg", action.dst,
                       MessageReceived(action.src, action.dst, action.message))

    def _advertise(self, node: IPv6Address, ra: SendRouterAdvert) -> None:
        """The RA reaches the MN only if it is still on that access link."""
        self.adverts.append((node, ra))
        mn = self.mns.get(ra.mn_id)
        if mn is None or mn.at != node:
            return
        for info in ra.prefixes:
            if info.valid_lifetime:
                mn.prefixes.add(info.prefix)
                mn.valid_until[info.prefix] = self.now + info.valid_lifetime
            else:
                mn.prefixes.discard(info.prefix)
