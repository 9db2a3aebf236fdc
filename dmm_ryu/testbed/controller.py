"""Run the controller under ``ryu-manager`` or ``osken-manager`` as a child process.

Used by the demo and the integration/e2e tests: the real manager, the real
app, a log file to read, and a guaranteed stop.
"""
from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path

from mininet_topos.dmm import CMD_DPID

MANAGERS = ("ryu-manager", "osken-manager")


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


def start_manager(manager: str, domain_file: Path, workdir: Path, port: int,
                  rest_port: int = 0, extra_conf: str = "",
                  log_name: str = "") -> "tuple[subprocess.Popen, Path]":
    """Start ``<manager> dmm_ryu.app`` on ``port`` and wait until it listens;
    returns the process and its log (``log_name``, default ``<manager>.log``).

    The manager comes from this interpreter's environment (the venv).
    ``rest_port`` 0 keeps the REST API off; ``extra_conf`` adds ``[dmm]`` lines.
    The nodes' state lives in ``workdir/state``: a manager started again on
    the same ``workdir`` restarts warm.
    """
    conf = workdir / "dmm.conf"
    conf.write_text(f"[dmm]\ndomain_file = {domain_file}\nrest_port = {rest_port}\n"
                    f"state_dir = {workdir / 'state'}\nlog_signalling = true\n{extra_conf}")
    log = workdir / (log_name or f"{manager}.log")
    exe = Path(sys.executable).parent / manager
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(exe), "--ofp-listen-host", "127.0.0.1", "--ofp-tcp-listen-port", str(port),
             "--config-file", str(conf), "dmm_ryu.app"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    _wait_listening(port, proc, log)
    return proc, log


@contextlib.contextmanager
def running_manager(manager: str, domain_file: Path, workdir: Path, port: int,
                    rest_port: int = 0, extra_conf: str = ""):
    """:func:`start_manager` as a context: yields the log path, always stops."""
    proc, log = start_manager(manager, domain_file, workdir, port, rest_port, extra_conf)
    try:
        yield log
    finally:
        stop(proc)


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
