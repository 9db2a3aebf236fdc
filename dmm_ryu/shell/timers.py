"""The thread that fires protocol timers.  Each round is guarded on its
own: an action that raises is logged and counted, and the next round runs,
so one bad timer never ends retransmissions and expiries for every MN."""
from __future__ import annotations

from typing import Callable

from dmm_ryu.runtime.controller import DmmController
from dmm_ryu.shell.guard import guarded

TICK = 0.005  # s: the longest a due protocol timer waits (relay aggregation)


def timer_round(controller: DmmController, send: Callable, now: Callable[[], float]) -> None:
    """Fire what is due and send what it produced."""
    send(controller.expire(now()))


def run_timers(controller: DmmController, send: Callable, now: Callable[[], float],
               sleep: Callable[[float], None], rounds: int = -1) -> None:
    """Forever (or ``rounds`` times, for tests): fire due timers, then sleep."""
    safe_round = guarded("timer", controller.stats.error)(timer_round)
    while rounds != 0:
        safe_round(controller, send, now)
        sleep(TICK)
        rounds -= 1
