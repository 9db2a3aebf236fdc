"""``osken-manager`` for os-ken 4: the command os-ken itself no longer ships.

os-ken 4.0 removed its CLI (``osken``, ``osken-manager``; commit d8589788,
Launchpad bug 2100268: Neutron, its only maintained user, embeds the
library and never used the scripts).  This is os-ken 3.1's manager, same
options and behaviour, with one addition the native hub needs: os-ken 4's
threads cannot be stopped (``hub.kill`` is a no-op under native threads and
the OpenFlow listener blocks in ``accept()`` in a non-daemon thread), so
after the orderly close on Ctrl-C / SIGTERM (bounded: os-ken's own close
joins that listener) the process ends with ``os._exit`` instead of waiting
for them for ever.

The hub is imported and, under eventlet, patched before anything else, as
os-ken 3.1's manager did: ``OSKEN_HUB_TYPE`` (``native``, the default, or
``eventlet``) must be decided before sockets and threads are created.
"""
# The import order is the point of this module (hub, then patch, then the rest).
# pylint: disable=wrong-import-position
from __future__ import annotations

import os
import signal
import threading

from os_ken.lib import hub

hub.patch(thread=False)

import logging  # noqa: E402

from os_ken import cfg, log  # noqa: E402

log.early_init_log(logging.DEBUG)

from os_ken import __version__ as VERSION  # noqa: E402
from os_ken.base.app_manager import AppManager  # noqa: E402
from os_ken.controller import controller  # noqa: E402,F401  (registers --ofp-* options)

CONF = cfg.CONF
CONF.register_cli_opts([
    cfg.ListOpt("app-lists", default=[], help="application module name to run"),
    cfg.MultiStrOpt("app", positional=True, default=[], help="application module name to run"),
    cfg.StrOpt("pid-file", default=None, help="pid file name"),
])
LOG = logging.getLogger("dmm.manager")
#: Seconds the orderly close may take under native threads before the process ends.
CLOSE_TIMEOUT = 2.0


def _stop(signum, _frame) -> None:
    """SIGTERM ends the manager as Ctrl-C does (orderly close, status 0)."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _run(app_lists) -> None:
    """Load and start the apps; block until one stops or we are interrupted."""
    app_mgr = AppManager.get_instance()
    app_mgr.load_apps(app_lists)
    services = app_mgr.instantiate_apps(**app_mgr.create_contexts())
    try:
        hub.joinall(services)
    except KeyboardInterrupt:
        LOG.info("dmm: interrupted; closing the os-ken application manager")
    _close(app_mgr)


def _close(app_mgr: AppManager) -> None:
    """Stop every app; under native threads give up after CLOSE_TIMEOUT
    seconds (the OpenFlow listener's ``stop`` joins a thread that never
    ends) and end the process, whose other threads cannot be stopped."""
    if hub.HUB_TYPE != "native":
        app_mgr.close()
        return
    closer = threading.Thread(target=app_mgr.close, daemon=True, name="close")
    closer.start()
    closer.join(CLOSE_TIMEOUT)
    logging.shutdown()
    os._exit(0)


def main(args=None, prog=None) -> None:
    """``osken-manager [--config-file F] [--ofp-tcp-listen-port P] app...``."""
    CONF(args=args, prog=prog, project="os_ken", version=f"osken-manager {VERSION}")
    log.init_log()
    hub.patch(thread=True)
    signal.signal(signal.SIGTERM, _stop)
    if CONF.pid_file:
        with open(CONF.pid_file, "w") as pid_file:
            pid_file.write(str(os.getpid()))
    _run(CONF.app_lists + CONF.app or ["os_ken.controller.ofp_handler"])


if __name__ == "__main__":
    main()
