"""Group commit: one store commit per node for all the events of a round.

Store-before-send (runtime/node.py) committed each event alone: a handover
is ~8 events, so ~8 commits.  Inside a round (:meth:`DmmController.batch`,
what the shell opens around every event queued since its last drain) a
stored node runs its core for each event and tracks its timers, but neither
commits nor carries the event out: :meth:`Round.defer` hands back a
:class:`Deferred` placeholder that travels in the output lists like any
:class:`~dmm_ryu.runtime.node.Output`.  When the round settles, each node
with pending work commits once, over the union of its events' MNs (fenced
if any of them sends), and only then are the events carried out, in event
order; the round's outputs come out of :meth:`Round.end` with each
placeholder replaced by its event's outputs.  A node whose commit fails has
rolled its MNs back (:meth:`Node.commit`) and answers each of its events
with ``Node.unstored`` (the CMD refuses each PBU with 128); other nodes
are not affected.  An event handled outside any round is a round of one:
one commit, then its outputs, as before.
"""
from __future__ import annotations

from typing import Dict, List, Optional



class Deferred:
    """One event of a stored node, waiting for its node's commit; once the
    round settled, ``outputs`` holds what the event sends."""

    __slots__ = ("node", "event", "actions", "now", "outputs")

    def __init__(self, node, event, actions: list, now: float) -> None:
        self.node, self.event, self.actions, self.now = node, event, actions, now
        self.outputs: list = []

    def resolve(self, why: Optional[str]) -> None:
        """Carry the event out if its node's commit succeeded, else answer
        it as unstored (``why``: the failure)."""
        if why is None:
            self.outputs = self.node.carry_out(self.event, self.actions, self.now)
        else:
            self.outputs = self.node.unstored(self.event, why, self.now)


class _Work:
    """What one node must commit at the end of the round."""

    __slots__ = ("mn_ids", "fence", "now")

    def __init__(self) -> None:
        self.mn_ids: set = set()
        self.fence, self.now = False, float("-inf")

    def add(self, mn_ids: set, sends: bool, now: float) -> None:
        self.mn_ids |= mn_ids
        self.fence = self.fence or sends
        self.now = max(self.now, now)


class Batch:
    """The caller's view of a round: its ``outputs``, in event order, once
    the outermost :meth:`DmmController.batch` has ended."""

    def __init__(self, round_: "Round") -> None:
        self.outputs: list = []
        self._round = round_

    def emit(self, outputs) -> None:
        """Outputs the caller got inside the batch other than from the
        controller's methods (which add theirs and return []), e.g. from a
        node's ``handle`` called directly: they join the batch's, in order."""
        self._round.emit(outputs)


class Round:
    """The open round of one controller (re-entrant: nested rounds are one)."""

    def __init__(self) -> None:
        self.depth = 0
        self._batch = Batch(self)
        self._pending: Dict[object, _Work] = {}  # in the order nodes first deferred
        self._deferred: List[Deferred] = []
        self._out: list = []

    def begin(self) -> Batch:
        if not self.depth:
            self._batch = Batch(self)
        self.depth += 1
        return self._batch

    def end(self) -> Optional[list]:
        """Close one level; the outermost settles and returns the round's
        outputs (also left in its Batch), inner levels return None."""
        self.depth -= 1
        if self.depth:
            return None
        try:
            self.settle()
        finally:
            out, self._out = self._out, []
            self._batch.outputs = expand(out)
        return self._batch.outputs

    def emit(self, outputs) -> None:
        """Outputs of one call inside the round (placeholders included), in call order."""
        self._out.extend(outputs or ())

    def defer(self, node, event, actions: list, now: float, mn_ids: set, sends: bool) -> list:
        """``node`` handled ``event`` (core run, timers tracked; ``mn_ids``
        the MNs it concerns, ``sends`` whether it sends: NodeState.track):
        in a round, a placeholder for its outputs; outside, a round of one
        (committed and carried out now)."""
        self._pending.setdefault(node, _Work()).add(mn_ids, sends, now)
        item = Deferred(node, event, actions, now)
        self._deferred.append(item)
        if self.depth:
            return [item]
        self.settle()
        return item.outputs

    def settle(self) -> None:
        """Commit once per node with pending work, then carry out (or answer
        as unstored) every deferred event in order.  An exception from one
        event's carrying out does not cost the others theirs: the first is
        raised once all are resolved."""
        pending, self._pending = self._pending, {}
        deferred, self._deferred = self._deferred, []
        why = {node: node.commit(work.mn_ids, work.fence, work.now)
               for node, work in pending.items()}
        error: Optional[Exception] = None
        for item in deferred:
            try:
                item.resolve(why[item.node])
            except Exception as exc:  # re-raised below, after the other events
                error = error or exc
        if error is not None:
            raise error


def expand(outputs) -> list:
    """``outputs`` with every placeholder replaced by its event's outputs."""
    flat: list = []
    for out in outputs:
        if isinstance(out, Deferred):
            flat += out.outputs
        else:
            flat.append(out)
    return flat
