"""Events fed to the protocol state machines: ``handle(event, now)``.

Events are small immutable values so the same core runs under the Ryu
adapter, under the simulator and under unit tests.  ``now`` (seconds, float)
is always passed in by the caller: the core never reads a clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import Hashable

from dmm_ryu.wire.mh.model import Message


@dataclass(frozen=True)
class MessageReceived:
    """A decoded PBU/PBA arrived from ``src`` addressed to ``dst``."""

    src: IPv6Address
    dst: IPv6Address
    message: Message


@dataclass(frozen=True)
class MnAttached:
    """A frame from an MN on an access port of this MAAR: its RS, its DAD
    probe or any first frame.  The MAAR decides whether that is a new
    attachment or a repeat (see :mod:`dmm_ryu.core.attach`).

    ``mn_id`` is the NAI the runtime mapped from the link-layer address;
    ``port`` is opaque to the core and echoed back in routes and RAs.
    """

    mn_id: str
    mac: str
    port: int = 0
    #: An RS or DAD probe (asks for the RA), not just any frame of the MN.
    solicited: bool = True


@dataclass(frozen=True)
class LinkDown:
    """An access link of this MAAR went down (or its port was removed):
    the MNs on it may be leaving; the detach guard starts."""

    port: int


@dataclass(frozen=True)
class MnDetached:
    """The MN left this MAAR's access link for good (operator or domain exit)."""

    mn_id: str


@dataclass(frozen=True)
class TimerFired:
    """A timer started by a ``StartTimer`` action expired."""

    key: Hashable


@dataclass(frozen=True)
class Revoke:
    """The operator ends the MN's session at the CMD: every MAAR of the
    session is de-registered (lifetime-0 PBUs), the S-MAAR included."""

    mn_id: str


@dataclass(frozen=True)
class TunnelTraffic:
    """The S-MAAR's switch counted ``packets`` (since its tunnel rules for
    ``prefix`` were installed) on the serving end of the MN's tunnel: the
    runtime reads the flow-stats counters and the core decides whether the
    anchored prefix is idle (:mod:`dmm_ryu.core.maar_gc`)."""

    mn_id: str
    prefix: IPv6Network
    packets: int
