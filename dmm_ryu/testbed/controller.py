"""Run the controller under ``ryu-manager`` or ``osken-manager`` as a child process.

Used by the demo and the integration/e2e tests: the real manager, the real
app, a log file to read, and a guaranteed stop.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

from mininet_topos.dmm import CMD_DPID

MANAGERS = ("ryu-manager", "osken-manager")
#: os-ken 4's hubs (``OSKEN_HUB_TYPE``); Ryu has only eventlet.
OSKEN_HUBS = ("native", "eventlet")


@dataclass(frozen=True)
class Runtime:
    """One way to run the app: a manager and, for os-ken, its hub
    (``None``: whatever ``OSKEN_HUB_TYPE`` this process has, native if unset)."""

    manager: str
    hub: Optional[str] = None

    def __str__(self) -> str:
        return f"{self.manager}[{self.hub}]" if self.hub else self.manager

    @property
    def framework(self) -> str:
        """The package the app binds to (``compat.FRAMEWORK``) under this manager."""
        return "ryu" if self.manager == "ryu-manager" else "os_ken"

    def env(self) -> Dict[str, str]:
        """This process's environment with the hub chosen."""
        env = dict(os.environ)
        if self.hub:
            env["OSKEN_HUB_TYPE"] = self.hub
        return env


#: Every runtime the integration tests cover: Ryu, and os-ken 4 on both hubs.
RUNTIMES = (Runtime("ryu-manager"),) + tuple(Runtime("osken-manager", hub) for hub in OSKEN_HUBS)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen, log: Path, timeout: float = 20.0):
    """Block until the manager accepts OpenFlow connections (or died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)


@contextlib.contextmanager
def running_manager(manager: Union[str, Runtime], domain_file: Path, workdir: Path, port: int,
                    rest_port: int = 0, extra_conf: str = ""):
    """Start ``<manager> dmm_ryu.app`` on ``port``; yields the log path.

    ``manager`` is a name from :data:`MANAGERS` or a :class:`Runtime` (a
    manager and its hub).  The manager comes from this interpreter's
    environment (the venv).  ``rest_port`` 0 keeps the REST API off;
    ``extra_conf`` adds ``[dmm]`` lines.
    """
    conf = workdir / "dmm.conf"
    conf.write_text(f"[dmm]\ndomain_file = {domain_file}\nrest_port = {rest_port}\n"
                    f"log_signalling = true\n{extra_conf}")
    proc, log = start_manager(manager, conf, workdir, port)
    try:
        _wait_listening(port, proc, log)
        yield log
    finally:
        stop(proc)


def start_manager(manager: Union[str, Runtime], conf: Path, workdir: Path,
                  port: int) -> Tuple[subprocess.Popen, Path]:
    """Start ``<manager> --config-file conf dmm_ryu.app`` listening for
    OpenFlow on 127.0.0.1:``port``; returns the process and its log file."""
    runtime = manager if isinstance(manager, Runtime) else Runtime(manager)
    log = workdir / f"{runtime}.log"
    exe = Path(sys.executable).parent / runtime.manager
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(exe), "--ofp-listen-host", "127.0.0.1", "--ofp-tcp-listen-port", str(port),
             "--config-file", str(conf), "dmm_ryu.app"],
            stdout=out, stderr=subprocess.STDOUT, env=runtime.env(),
        )
    return proc, log


def all_joined(log: Path, maars: int, cmd_dpid: int = CMD_DPID) -> bool:
    """The controller logged the join of maar1..maarN and of the CMD's switch."""
    text = log.read_text() if log.exists() else ""
    return (all(f"MAAR maar{i} (dpid {i:#x}) joined" in text for i in range(1, maars + 1))
            and f"switch cmd (dpid {cmd_dpid:#x}) joined" in text)


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Terminate, and kill if it does not end within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
