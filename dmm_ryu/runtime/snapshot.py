"""Immutable snapshots of the nodes' state: all that REST, metrics and
dmmctl may see.  Built by the node that owns the state, at the moment they
are asked for (under the runtime's lock), with addresses, never names:
the operator-facing layer resolves names through the directory."""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import Tuple


@dataclass(frozen=True)
class CmdBinding:
    """The CMD's BCE of one MN: ``anchors`` pairs each prefix (in order)
    with the MAAR anchoring it; ``serving`` is the S-MAAR (Proxy-CoA)."""

    mn_id: str
    serving: IPv6Address
    anchors: Tuple[Tuple[IPv6Network, IPv6Address], ...]
    lifetime: int
    registered: float


@dataclass(frozen=True)
class TunnelState:
    """One tunnel end installed on a MAAR (role ``anchor`` or ``serving``)."""

    prefix: IPv6Network
    peer: IPv6Address
    role: str
    mn_id: str


@dataclass(frozen=True)
class MaarState:
    """One MAAR as its own node knows it.  ``bindings`` counts its
    registered BCEs (serving or anchoring; a temporal BCE awaiting the
    CMD's PBA is not counted, as the CMD does not list it yet);
    ``attached`` the MNs on its access links."""

    name: str
    address: IPv6Address
    pool_size: int
    pool_used: int
    connected: bool
    bindings: int
    attached: int
    tunnels: Tuple[TunnelState, ...]
