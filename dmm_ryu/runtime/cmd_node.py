"""The CMD behind its switch: the core :class:`~dmm_ryu.core.cmd.Cmd` and
the snapshot reads of its binding cache.

The CMD only signals: it has no forwarding state, so a reconnect of a
switch of its own gets the punt rules, and a CMD beside a MAAR leaves the
switch's rules to that MAAR.  Operator actions reach it as core events
(:class:`~dmm_ryu.core.events.Revoke`), never as edits of its store.
"""
from __future__ import annotations

from typing import List, Optional

from dmm_ryu.config.domainfile import CmdSection
from dmm_ryu.core.cmd import Cmd
from dmm_ryu.core.events import Revoke
from dmm_ryu.core.store import CmdBce, prefix_order
from dmm_ryu.of import flows, packed_state
from dmm_ryu.runtime.directory import NodeInfo
from dmm_ryu.runtime.node import Node, NodeEnv, Output
from dmm_ryu.runtime.snapshot import CmdBinding


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


def _snapshot(bce: CmdBce) -> CmdBinding:
    anchors = tuple(sorted(bce.anchors.items(), key=lambda pa: prefix_order(pa[0])))
    return CmdBinding(bce.mn_id, bce.proxy_coa, anchors, bce.lifetime, bce.registered)


