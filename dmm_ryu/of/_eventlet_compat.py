"""Restore ``eventlet.wsgi.ALREADY_HANDLED`` for Ryu 4.34 on eventlet >= 0.33.

Why this exists: Python 3.11 needs eventlet >= 0.33, and eventlet replaced the
``ALREADY_HANDLED`` sentinel by a thread-local flag (``WSGI_LOCAL.already_handled``).
``ryu.app.wsgi`` still imports the sentinel, and ``ryu-manager`` imports
``ryu.app.wsgi`` before it loads any application, so the application cannot
fix it from its own module.  A one-line ``.pth`` file (see ``install_pth``)
registers the import hook below at interpreter start; the hook only acts when
``eventlet.wsgi`` is imported and only adds the attribute when it is missing.

The sentinel keeps its old meaning: a response body that, when the server
iterates it, tells eventlet the connection was already handled (Ryu uses it
after a websocket session) so nothing more is written.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import sysconfig
from pathlib import Path

PTH_NAME = "dmm_ryu_eventlet_compat.pth"
#: The hook is loaded from this file by path, under a private module name,
#: so interpreter start does not import the ``dmm_ryu`` package itself: a
#: checkout on ``sys.path`` (a git worktree, ``python -m pytest`` from a
#: clone) then imports its own ``dmm_ryu``, not the one the venv was built from.
PTH_LINE = ("import importlib.util as _u; _s = _u.spec_from_file_location("
            "'_dmm_ryu_eventlet_compat', {path!r}); _m = _u.module_from_spec(_s); "
            "_s.loader.exec_module(_m); _m.register()\n")


class AlreadyHandled:
    """Empty WSGI body that raises eventlet's ``already_handled`` flag."""

    def __init__(self, wsgi_local):
        self._wsgi_local = wsgi_local

    def __iter__(self):
        self._wsgi_local.already_handled = True
        return iter(())


def patch(module) -> None:
    """Add the sentinel to an imported ``eventlet.wsgi`` if it lacks it."""
    if not hasattr(module, "ALREADY_HANDLED"):
        module.ALREADY_HANDLED = AlreadyHandled(module.WSGI_LOCAL)


class _EventletWsgiFinder(importlib.abc.MetaPathFinder):
    """Finds ``eventlet.wsgi`` normally, then patches it right after it runs."""

    def find_spec(self, name, path, target=None):
        if name != "eventlet.wsgi":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            patch(module)

        spec.loader.exec_module = exec_and_patch
        return spec


def register() -> None:
    """Install the hook once; patch at once if eventlet.wsgi is loaded."""
    if "eventlet.wsgi" in sys.modules:
        patch(sys.modules["eventlet.wsgi"])
    elif not any(isinstance(f, _EventletWsgiFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _EventletWsgiFinder())


def install_pth(site_packages: str | None = None) -> Path:
    """Write the ``.pth`` file into this environment's site-packages."""
    target = Path(site_packages or sysconfig.get_paths()["purelib"]) / PTH_NAME
    target.write_text(PTH_LINE.format(path=str(Path(__file__).resolve())))
    return target
