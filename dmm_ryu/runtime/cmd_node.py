"""The CMD behind its switch: the core :class:`~dmm_ryu.core.cmd.Cmd` and
the snapshot reads of its binding cache.

The CMD only signals: it has no forwarding state, so a reconnect of a
switch of its own gets the punt rules, and a CMD beside a MAAR leaves the
switch's rules to that MAAR.  Operator actions reach it as core events
(:class:`~dmm_ryu.core.events.Revoke`), never as edits of its store.

A CMD that cannot store never accepts: a PBU whose binding could not be
written (or that arrives while the store already refuses writes: a fenced
etcd store whose instance is degraded, see ``dmm_ryu.store.election``) is
answered with status 128, "reason unspecified" (RFC 5213 8.9: 130 already
means a full binding cache here), one WARNING line and the error counter
``cmd_store_unavailable``.  The S-MAAR then drops the MN and lets its next
frame try again after the hold-down: service resumes by itself when the
store does.
"""
from __future__ import annotations

import logging
from typing import List, Optional

from dmm_ryu.config.domainfile import CmdSection
from dmm_ryu.core.actions import SendMessage
from dmm_ryu.core.cmd import Cmd
from dmm_ryu.core.events import MessageReceived, Revoke
from dmm_ryu.core.messages import answer
from dmm_ryu.core.store import CmdBce, prefix_order
from dmm_ryu.of import flows, packed_state
from dmm_ryu.runtime.directory import NodeInfo
from dmm_ryu.runtime.node import Node, NodeEnv, Output
from dmm_ryu.runtime.snapshot import CmdBinding
from dmm_ryu.wire.mh.model import ProxyBindingUpdate, Status

LOG = logging.getLogger("dmm")
#: The PBA status of a PBU the CMD could not store.
UNSTORED_STATUS = Status.REASON_UNSPECIFIED


class CmdNode(Node):
    """The Central Mobility Database."""

    def __init__(self, info: NodeInfo, core: Cmd, section: CmdSection, env: NodeEnv) -> None:
        super().__init__(info, core, env)
        self.section = section

    @property
    def has_own_switch(self) -> bool:
        return self.section.maar is None

    def switch_connected(self) -> List[Output]:
        self.connected = True
        if not self.has_own_switch:
            return []
        rules = packed_state.serialised(flows.cmd_switch_flows(self.section))
        return [Output(self.info.dpid, [], atomic=True, raw=rules)]

    def handle(self, event, now: float) -> List[Output]:
        """As every node, but a PBU the store already refuses is refused (128)."""
        if self.active and _pbu(event) and self.state is not None \
                and not _writable(self.state.store):
            return self._refuse_unstored(event, "the store refuses writes", now)
        return super().handle(event, now)

    def unstored(self, event, why: str, now: float) -> List[Output]:
        """A PBU whose binding could not be stored is refused (128)."""
        return self._refuse_unstored(event, why, now) if _pbu(event) else []

    def _refuse_unstored(self, event: MessageReceived, why: str, now: float) -> List[Output]:
        """Status 128 to the MAAR: never accept what cannot be stored."""
        pbu = event.message
        self.env.stats.error("cmd_store_unavailable")
        LOG.warning("dmm: %s refuses the PBU of %s from %s with status %d: %s",
                    self.name, pbu.options.mn_id, event.src, int(UNSTORED_STATUS), why)
        pba = answer(pbu, UNSTORED_STATUS, lifetime=0)
        return self.execute([SendMessage(self.core.address, event.src, pba)], now)

    def revoke(self, mn_id: str, now: float) -> Optional[List[Output]]:
        """Operator-forced end of a session; None if the MN has no binding."""
        if self.core.store.get(mn_id) is None:
            return None
        return self.handle(Revoke(mn_id), now)

    # -- snapshot reads --------------------------------------------------------

    def binding(self, mn_id: str) -> Optional[CmdBinding]:
        bce = self.core.store.get(mn_id)
        return None if bce is None else _snapshot(bce)

    def bindings(self, after: Optional[str] = None,
                 limit: Optional[int] = None) -> List[CmdBinding]:
        """BCEs in MN-ID order, starting after ``after``, at most ``limit``."""
        store = self.core.store
        return [_snapshot(store.get(i)) for i in store.ids(after, limit)]

    def count(self) -> int:
        return len(self.core.store)


def _pbu(event) -> bool:
    return isinstance(event, MessageReceived) and isinstance(event.message, ProxyBindingUpdate)


def _writable(store) -> bool:
    """Whether the store already knows a write would fail (only a fenced
    etcd store can tell before trying; others learn it at commit)."""
    writable = getattr(store, "writable", None)
    return True if writable is None else writable()


def _snapshot(bce: CmdBce) -> CmdBinding:
    anchors = tuple(sorted(bce.anchors.items(), key=lambda pa: prefix_order(pa[0])))
    return CmdBinding(bce.mn_id, bce.proxy_coa, anchors, bce.lifetime, bce.registered)


