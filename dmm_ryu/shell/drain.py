"""Natural batching of the OpenFlow handlers' work (group commit, issue 13).

Every handler that calls the runtime queues a work item instead; one worker
takes whatever is queued, runs it inside one ``DmmController.batch()``
(each node commits once for all of it: runtime/group.py) and sends the
batch's outputs, in event order.  At low load a round is one event and
nothing waits; under load the queue fills while a round runs, and the next
round is larger, so the commits per event fall as the load rises.

The queue is the framework hub's (``hub.Queue``: eventlet's LightQueue for
Ryu and os-ken on eventlet, ``queue.Queue`` for os-ken 4's native threads),
so the worker blocks without blocking the other threads of either hub.
Each work item is guarded on its own: one that raises is logged and counted
(``exception_<name>``) and the round goes on with the next.
"""
from __future__ import annotations

import logging
from typing import Callable

from dmm_ryu.shell.guard import guarded

LOG = logging.getLogger("dmm")
#: At most this many work items in one round (bounds how long the first waits).
MAX_ROUND = 256


class Drain:
    """The queue of the handlers' work items and the worker that runs them."""

    def __init__(self, controller, send: Callable, queue, empty: type,
                 max_round: int = MAX_ROUND) -> None:
        self.controller, self.send = controller, send
        self.queue, self._empty, self.max_round = queue, empty, max_round
        self._count = controller.stats.error

    def put(self, name: str, function: Callable, *args) -> None:
        """Queue ``function(*args)``, a runtime call: what it returns (or
        adds to the batch) joins the round's outputs; ``name`` counts its
        exceptions."""
        self.queue.put((name, function, args))

    def run(self, rounds: int = -1) -> None:
        """Forever (or ``rounds`` times, for tests): wait for work, run a round."""
        while rounds != 0:
            self.round(self.queue.get())
            rounds -= 1

    def round(self, first) -> None:
        """``first`` and everything queued behind it, in one batch; then send."""
        items = [first] + self._queued()
        batch = None
        try:
            with self.controller.batch() as batch:
                for name, function, args in items:
                    batch.emit(guarded(name, self._count)(function)(*args))
        except Exception:  # carrying out an event failed: the others' outputs still leave
            self._count("exception_round")
            LOG.exception("dmm: a round of %d events failed; the controller keeps serving",
                          len(items))
        if batch is not None:
            guarded("send", self._count)(self.send)(batch.outputs)

    def _queued(self) -> list:
        items = []
        while len(items) < self.max_round - 1:
            try:
                items.append(self.queue.get_nowait())
            except self._empty:
                break
        return items
