"""Which MNs are on which access port of one MAAR, and the detach guard.

The MAAR core decides what a frame from an MN means, not the runtime: the
first frame (RS, DAD probe, or any frame of an MN without a session here)
starts a registration; a repeat on the same port while the MN never left
only gets the Router Advertisement again; a frame after the port went down
is a new attachment (the MN may have been elsewhere meanwhile: ping-pong).
A port going down is no detachment by itself (draft 3.5: the MN may be
moving); the guard timer ``("detach", mn_id)`` ends the session only if the
MN is not seen again in time.  A registration that failed (refused, gave up,
pool exhausted) holds the MN down briefly so a chatty MN cannot turn every
frame into a PBU, and then any frame registers it again: no MN is stranded.
"""
from __future__ import annotations

from enum import Enum
from typing import Dict, List, Tuple

from dmm_ryu.core.actions import Action, CancelTimer, StartTimer


#: The most MNs held down at once (see :meth:`Attachments.hold`).
MAX_HELD = 4096


class Seen(Enum):
    """What a frame from an MN means at this MAAR."""

    NEW = "new"          # register (first time, other port, or after link down)
    REPEAT = "repeat"    # already here: answer with the RA again
    HELD = "held"        # its last registration failed moments ago: ignore


class Attachments:
    """MN-ID -> (MAC, port) of the MNs on this MAAR's access links.

    ``present`` MNs are on their port; ``absent`` ones had their port go
    down and their detach guard runs; ``held`` maps an MN whose registration
    failed to its port and the time it may try again (a link flap on that
    port, or another port, is a real new attachment and ends the hold).
    """

    __slots__ = ("guard", "holddown", "present", "absent", "held")

    def __init__(self, guard: float, holddown: float) -> None:
        self.guard, self.holddown = guard, holddown
        self.present: Dict[str, Tuple[str, int]] = {}
        self.absent: Dict[str, Tuple[str, int]] = {}
        self.held: Dict[str, Tuple[int, float]] = {}

    def seen(self, mn_id: str, mac: str, port: int, now: float) -> Seen:
        if self.present.get(mn_id) == (mac, port):
            return Seen.REPEAT
        held_port, until = self.held.get(mn_id, (port, now))
        if held_port == port and until > now:
            return Seen.HELD
        self.held.pop(mn_id, None)
        return Seen.NEW

    def arrived(self, mn_id: str, mac: str, port: int) -> List[Action]:
        """The MN is on ``port`` now; its guard (if any) stops."""
        self.absent.pop(mn_id, None)
        self.present[mn_id] = (mac, port)
        return [CancelTimer(("detach", mn_id))]

    def link_down(self, port: int, now: float) -> List[Action]:
        """Every MN on ``port`` may be leaving: start its guard."""
        for mn_id in [m for m, (p, _) in self.held.items() if p == port]:
            del self.held[mn_id]
        leaving = [m for m, (_, p) in self.present.items() if p == port]
        for mn_id in leaving:
            self.absent[mn_id] = self.present.pop(mn_id)
        return [StartTimer(("detach", m), now + self.guard) for m in leaving]

    def gone(self, mn_id: str) -> List[Action]:
        """Forget the MN here (session over, or it is served elsewhere)."""
        self.present.pop(mn_id, None)
        was_absent = self.absent.pop(mn_id, None) is not None
        return [CancelTimer(("detach", mn_id))] if was_absent else []

    def hold(self, mn_id: str, port: int, now: float) -> None:
        """Its registration failed: ignore its frames on ``port`` until the
        hold-down ends.  At most :data:`MAX_HELD` MNs are held (a flood of
        fresh MACs cannot grow the table): the oldest hold goes first."""
        self.present.pop(mn_id, None)
        self.absent.pop(mn_id, None)
        self.held.pop(mn_id, None)
        if len(self.held) >= MAX_HELD:
            del self.held[next(iter(self.held))]
        self.held[mn_id] = (port, now + self.holddown)

    def guard_expired(self, mn_id: str) -> bool:
        """The guard ran out and the MN was not seen again: it left."""
        return self.absent.pop(mn_id, None) is not None
