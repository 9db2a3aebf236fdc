"""The one module that knows which OpenFlow framework runs us: Ryu or os-ken.

os-ken is OpenStack's maintained fork of Ryu (the one Faucet uses) and keeps
Ryu's module layout under the ``os_ken`` name.  Whichever manager loaded us
(``ryu-manager`` or ``osken-manager``) has already imported its own
``base.app_manager``; we bind to that one so our application class and event
handlers register with the running manager.  When neither is loaded yet (unit
tests, tools), ``DMM_RYU_FRAMEWORK`` (``ryu`` | ``os_ken``) decides, else Ryu
is preferred when importable.

The hub: Ryu and os-ken 3 run every thread as an eventlet green thread;
os-ken 4 runs native threads by default (``OSKEN_HUB_TYPE=native``) or
eventlet (``OSKEN_HUB_TYPE=eventlet``).  :data:`HUB_TYPE` says which,
:func:`spawn` starts a background thread that fits it, :data:`sleep` sleeps
without blocking the other threads of that hub.
"""
from __future__ import annotations

import importlib
import os
import sys
import threading
from typing import Callable

FRAMEWORKS = ("ryu", "os_ken")


def _running_framework() -> str:
    for name in FRAMEWORKS:
        if f"{name}.base.app_manager" in sys.modules:
            return name
    wanted = os.environ.get("DMM_RYU_FRAMEWORK")
    if wanted:
        if wanted not in FRAMEWORKS:
            raise ImportError(f"DMM_RYU_FRAMEWORK={wanted!r}: expected one of {FRAMEWORKS}")
        return wanted
    for name in FRAMEWORKS:
        try:
            importlib.import_module(name)
            return name
        except ImportError:
            continue
    raise ImportError("neither Ryu (ryu) nor os-ken (os_ken) is installed")


FRAMEWORK = _running_framework()
if FRAMEWORK == "ryu":
    from dmm_ryu.of import _eventlet_compat

    _eventlet_compat.register()


def _mod(path: str):
    return importlib.import_module(f"{FRAMEWORK}.{path}")


app_manager = _mod("base.app_manager")
cfg = _mod("cfg")
hub = _mod("lib.hub")
ofp_event = _mod("controller.ofp_event")
handler = _mod("controller.handler")
ofproto_v1_3 = _mod("ofproto.ofproto_v1_3")
ofproto_v1_3_parser = _mod("ofproto.ofproto_v1_3_parser")

set_ev_cls = handler.set_ev_cls
CONFIG_DISPATCHER = handler.CONFIG_DISPATCHER
MAIN_DISPATCHER = handler.MAIN_DISPATCHER
DEAD_DISPATCHER = handler.DEAD_DISPATCHER
#: The application base class: ``RyuApp`` in Ryu, renamed ``OSKenApp`` in os-ken.
RyuApp = getattr(app_manager, "RyuApp", None) or app_manager.OSKenApp

#: ``eventlet`` (Ryu, os-ken 3, os-ken 4 with ``OSKEN_HUB_TYPE=eventlet``) or ``native``.
HUB_TYPE = getattr(hub, "HUB_TYPE", "eventlet")
#: The framework's version, for the start-up log and /health.
_package = importlib.import_module(FRAMEWORK)
VERSION = str(getattr(_package, "__version__", None) or getattr(_package, "version", "unknown"))
sleep = hub.sleep


def spawn(function: Callable, *args) -> object:
    """Run ``function(*args)`` in the background: a green thread under
    eventlet (whose KeyboardInterrupt reaches the manager), a daemon thread
    under native threads (os-ken 4's
    ``hub.spawn`` makes non-daemon threads, which would keep a stopped
    manager alive; nothing of ours needs to outlive it)."""
    if HUB_TYPE == "eventlet":
        # Not hub.spawn: it logs and drops every exception, Ctrl-C included,
        # and a KeyboardInterrupt lands in whichever green thread runs when
        # the signal arrives; eventlet's own spawn passes it to the manager.
        return importlib.import_module("eventlet").spawn(function, *args)
    thread = threading.Thread(target=function, args=args, daemon=True,
                              name=getattr(function, "__name__", "dmm"))
    thread.start()
    return thread
