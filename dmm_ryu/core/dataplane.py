"""What the Install*/Remove* actions leave in each node, and whether a
prefix is reachable through it: the simulator's stand-in for the OpenFlow
tables, so tests check forwarding, not lists of actions."""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from typing import Dict, List, Optional

from dmm_ryu.core.actions import (
    ANCHOR,
    SERVING,
    InstallLocalRoute,
    InstallTunnel,
    RemoveLocalRoute,
)


@dataclass
class Tables:
    """One node's forwarding state for MN prefixes."""

    local: Dict[IPv6Network, InstallLocalRoute] = field(default_factory=dict)
    tunnels: Dict[IPv6Network, InstallTunnel] = field(default_factory=dict)


class Dataplane:
    """Per-node tables; ``anomalies`` lists actions that made no sense
    (removing what is not there, overwriting without removing)."""

    def __init__(self) -> None:
        self.tables: Dict[IPv6Address, Tables] = {}
        self.anomalies: List[str] = []

    def apply(self, node: IPv6Address, action) -> None:
        tables = self.tables.setdefault(node, Tables())
        local = isinstance(action, (InstallLocalRoute, RemoveLocalRoute))
        table = tables.local if local else tables.tunnels
        if isinstance(action, (InstallLocalRoute, InstallTunnel)):
            if action.prefix in table and table[action.prefix] != action:
                self.anomalies.append(f"{node}: {action} overwrites {table[action.prefix]}")
            table[action.prefix] = action
        elif table.pop(action.prefix, None) is None:
            self.anomalies.append(f"{node}: {action} removes nothing")

    def entries(self):
        """(node, install action) for every installed entry."""
        for node, tables in self.tables.items():
            for install in list(tables.local.values()) + list(tables.tunnels.values()):
                yield node, install

    def _tunnel(self, node: IPv6Address, prefix: IPv6Network, role: str) -> Optional[InstallTunnel]:
        tunnel = self.tables.get(node, Tables()).tunnels.get(prefix)
        return tunnel if tunnel is not None and tunnel.role == role else None

    def _local(self, node: IPv6Address, prefix: IPv6Network) -> Optional[InstallLocalRoute]:
        return self.tables.get(node, Tables()).local.get(prefix)

    def downlink(self, anchor: IPv6Address, prefix: IPv6Network, mn_id: str,
                 at: IPv6Address, mac: str) -> bool:
        """A packet to ``prefix`` entering at its anchor reaches the MN
        attached at ``at``: a local route there, or the anchor's tunnel to
        ``at`` and ``at``'s serving end delivering to the MN."""
        route = self._local(anchor, prefix)
        if route is not None:
            return anchor == at and (route.mn_id, route.mac) == (mn_id, mac)
        out = self._tunnel(anchor, prefix, ANCHOR)
        back = self._tunnel(at, prefix, SERVING)
        return (out is not None and back is not None and out.peer == at
                and back.peer == anchor and (back.mn_id, back.mac) == (mn_id, mac))

    def uplink(self, anchor: IPv6Address, prefix: IPv6Network, at: IPv6Address) -> bool:
        """A packet sourced from ``prefix`` by the MN at ``at`` leaves the
        domain at the anchor (the only router that may source it)."""
        if self._local(at, prefix) is not None:
            return at == anchor
        out = self._tunnel(at, prefix, SERVING)
        back = self._tunnel(anchor, prefix, ANCHOR)
        return out is not None and back is not None and out.peer == anchor and back.peer == at
