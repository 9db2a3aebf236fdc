"""Actions returned by the protocol state machines.

The core never performs I/O: it returns these values and an adapter (the Ryu
app, the simulator) carries them out.  Actions concern the node that returned
them, so they do not name it; peers are named by their global address, the
way they are known on the wire.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import Hashable, Tuple, Union

from dmm_ryu.wire.mh.model import Message
from dmm_ryu.wire.ndp import AdvertisedPrefix


@dataclass(frozen=True, slots=True)
class SendMessage:
    """Send a Mobility Header message from ``src`` to ``dst``."""

    src: IPv6Address
    dst: IPv6Address
    message: Message


@dataclass(frozen=True, slots=True)
class InstallLocalRoute:
    """Route ``prefix`` plainly to the MN at ``mac`` on access ``port``."""

    mn_id: str
    prefix: IPv6Network
    mac: str
    port: int


@dataclass(frozen=True, slots=True)
class RemoveLocalRoute:
    """Forget the local route for ``prefix``."""

    mn_id: str
    prefix: IPv6Network


#: Tunnel roles.  At the ANCHOR (P-MAAR) downlink for the prefix enters the
#: tunnel towards the serving MAAR and uplink leaves it towards the Internet.
#: At the SERVING MAAR uplink sourced from the prefix enters the tunnel
#: towards the anchor and downlink leaves it towards the MN.
ANCHOR = "anchor"
SERVING = "serving"


@dataclass(frozen=True, slots=True)
class InstallTunnel:
    """Set up the tunnel-equivalent path for ``prefix`` with ``peer``."""

    mn_id: str
    prefix: IPv6Network
    peer: IPv6Address
    role: str
    #: Where the MN sits, so the SERVING end can deliver downlink (and a
    #: PMIPv6 MAG, which has no local route, still knows the access port).
    #: Empty/0 at the ANCHOR end.
    mac: str = ""
    port: int = 0


@dataclass(frozen=True, slots=True)
class RemoveTunnel:
    """Tear down the tunnel-equivalent path for ``prefix`` with ``peer``."""

    mn_id: str
    prefix: IPv6Network
    peer: IPv6Address
    role: str


@dataclass(frozen=True, slots=True)
class SendRouterAdvert:
    """Unicast an RA to the MN: the local prefix preferred, anchored ones
    with preferred lifetime 0 (draft A.2)."""

    mn_id: str
    mac: str
    port: int
    prefixes: Tuple[AdvertisedPrefix, ...]


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Fire ``TimerFired(key)`` at absolute time ``at``; replaces a pending
    timer with the same key."""

    key: Hashable
    at: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """Cancel the pending timer ``key`` (no-op when none)."""

    key: Hashable


Action = Union[
    SendMessage, InstallLocalRoute, RemoveLocalRoute, InstallTunnel,
    RemoveTunnel, SendRouterAdvert, StartTimer, CancelTimer,
]
"""Any value a state machine's ``handle`` may return."""
