"""The forwarding state a MAAR wants for one MN, and the actions that move
the installed state there.

Computing the wanted state from the BCE and emitting only the difference
makes every transition (handover, moving back, ping-pong, session end) the
same code path, and makes re-applying an event idempotent.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import Dict, FrozenSet, List, Optional

from dmm_ryu.core.actions import (
    ANCHOR,
    SERVING,
    Action,
    InstallLocalRoute,
    InstallTunnel,
    RemoveLocalRoute,
    RemoveTunnel,
)
from dmm_ryu.wire.mh.model import ProxyBindingUpdate


@dataclass(eq=False)
class MaarBce:
    """A MAAR's binding cache entry for one MN.

    ``serving`` is None while the MN is attached here (this MAAR is its
    S-MAAR; ``p_maars`` maps prefixes anchored elsewhere to their P-MAAR);
    otherwise this MAAR is a P-MAAR and ``serving`` points at the S-MAAR
    (draft Appendix B: a P-MAAR keeps only that pointer).  ``final`` is
    False for the temporal BCE of draft 3.1, until the CMD's PBA.
    """

    __slots__ = ("mn_id", "mac", "port", "local", "serving", "p_maars", "final",
                 "leaving", "seq", "ts", "lifetime", "pending", "installed")

    mn_id: str
    mac: str
    port: int
    local: Optional[IPv6Network]
    serving: Optional[IPv6Address]
    p_maars: Dict[IPv6Network, IPv6Address]
    final: bool
    leaving: bool
    seq: int
    ts: int
    lifetime: int
    pending: Optional[ProxyBindingUpdate]
    installed: FrozenSet

    @classmethod
    def temporal(cls, mn_id: str, local: Optional[IPv6Network]) -> "MaarBce":
        return cls(mn_id, "", 0, local, None, {}, False, False, 0, 0, 0, None, frozenset())

    @property
    def is_serving(self) -> bool:
        """The MN is (believed) attached here and not leaving the domain."""
        return self.serving is None and not self.leaving


def wanted(bce: MaarBce) -> Optional[FrozenSet]:
    """The Install* actions the BCE calls for; None keeps the installed
    state (a temporal BCE changes nothing until its registration is accepted)."""
    if bce.leaving:
        return frozenset()
    if bce.serving is not None:
        if bce.local is None:
            return frozenset()
        return frozenset({InstallTunnel(bce.mn_id, bce.local, bce.serving, ANCHOR)})
    if not bce.final:
        return None
    routes = {InstallTunnel(bce.mn_id, prefix, peer, SERVING, bce.mac, bce.port)
              for prefix, peer in bce.p_maars.items()}
    if bce.local is not None:
        routes.add(InstallLocalRoute(bce.mn_id, bce.local, bce.mac, bce.port))
    return frozenset(routes)


def undo(install) -> Action:
    """The Remove* action that reverses one Install* action."""
    if isinstance(install, InstallTunnel):
        return RemoveTunnel(install.mn_id, install.prefix, install.peer, install.role)
    return RemoveLocalRoute(install.mn_id, install.prefix)


def sync(bce: MaarBce) -> List[Action]:
    """Removals first (a prefix that becomes local again drops its tunnel
    before its local route appears), then installs, each in a stable order."""
    target = wanted(bce)
    if target is None or target == bce.installed:
        return []
    gone = sorted(bce.installed - target, key=_order)
    new = sorted(target - bce.installed, key=_order)
    bce.installed = target
    return [undo(install) for install in gone] + new


def _order(install) -> tuple:
    """A sort key that is cheap (``repr`` of a dataclass formats every
    field, prefixes as text) and still total: local routes before tunnels,
    then by prefix, role and peer."""
    prefix = install.prefix
    peer = getattr(install, "peer", None)
    return (type(install).__name__, int(prefix.network_address), prefix.prefixlen,
            getattr(install, "role", ""), 0 if peer is None else int(peer))
