"""No exception escapes a handler or a thread (Faucet's kill_on_exception,
without the kill): a failing event is logged with its traceback, counted by
handler, and the controller keeps serving every other MN."""
from __future__ import annotations

import functools
import logging
from typing import Callable

LOG = logging.getLogger("dmm")


def guarded(name: str, count: Callable[[str], None]) -> Callable:
    """Wrap a function so an exception is logged and counted as
    ``exception_<name>`` instead of propagating."""
    def wrap(function):
        @functools.wraps(function)
        def safe(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except Exception:  # the last line of defence: keep serving
                count(f"exception_{name}")
                LOG.exception("dmm: %s failed; the controller keeps serving", name)
                return None
        return safe
    return wrap
