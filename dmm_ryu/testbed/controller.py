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


class Manager:
    """One started manager process: its process, log and ports."""

    def __init__(self, manager: str, domain_file: Path, workdir: Path, port: int,
                 rest_port: int = 0, extra_conf: str = "", name: str = "") -> None:
        self.port, self.rest_port = port, rest_port
        stem = f"{manager}{'-' + name if name else ''}"
        conf = workdir / f"{'dmm-' + name if name else 'dmm'}.conf"
        state = workdir / f"state{'-' + name if name else ''}"
        conf.write_text(f"[dmm]\ndomain_file = {domain_file}\nrest_port = {rest_port}\n"
                        f"state_dir = {state}\nlog_signalling = true\n{extra_conf}")
        self.log = workdir / f"{stem}.log"
        exe = Path(sys.executable).parent / manager
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                [str(exe), "--ofp-listen-host", "127.0.0.1", "--ofp-tcp-listen-port", str(port),
                 "--config-file", str(conf), "dmm_ryu.app"],
                stdout=out, stderr=subprocess.STDOUT,
            )
        _wait_listening(port, self.proc, self.log)

    def stop(self) -> None:
        if self.proc.poll() is None:
            stop(self.proc)


@contextlib.contextmanager
def running_manager(manager: str, domain_file: Path, workdir: Path, port: int,
                    rest_port: int = 0, extra_conf: str = ""):
    """Start ``<manager> dmm_ryu.app`` on ``port``; yields the log path.

    The manager comes from this interpreter's environment (the venv).
    ``rest_port`` 0 keeps the REST API off; ``extra_conf`` adds ``[dmm]`` lines.
    The nodes' state lives in ``workdir/state``: a manager started again on
    the same ``workdir`` restarts warm.
    """
    with running_managers(manager, domain_file, workdir, {"": (port, rest_port, extra_conf)}
                          ) as managers:
        yield managers[""].log


@contextlib.contextmanager
def running_managers(manager: str, domain_file: Path, workdir: Path, plan: dict):
    """Several managers on one domain file, ``plan``: {name: (OpenFlow port,
    REST port, extra ``[dmm]`` lines)}; yields {name: Manager}, each with its
    own config file and log (``<manager>-<name>.log``), all stopped on exit."""
    started = {}
    try:
        for name, (port, rest_port, extra) in plan.items():
            started[name] = Manager(manager, domain_file, workdir, port, rest_port, extra, name)
        yield started
    finally:
        for each in started.values():
            each.stop()


def joined(log: Path, node: str, cmd_dpid: int = CMD_DPID) -> bool:
    """The controller logged the join of ``node``'s switch (``maarN`` or ``cmd``)."""
    text = log.read_text() if log.exists() else ""
    if node == "cmd":
        return f"switch cmd (dpid {cmd_dpid:#x}) joined" in text
    return f"MAAR {node} (dpid {int(node[4:]):#x}) joined" in text


def all_joined(log: Path, maars: int, cmd_dpid: int = CMD_DPID) -> bool:
    """The controller logged the join of maar1..maarN and of the CMD's switch."""
    return all(joined(log, f"maar{i}") for i in range(1, maars + 1)) \
        and joined(log, "cmd", cmd_dpid)


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Terminate, and kill if it does not end within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
