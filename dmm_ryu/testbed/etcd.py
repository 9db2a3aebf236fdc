"""etcd members for tests and the demo, run by scripts/etcd.sh.

The script does the work (pid files, logs and data under one directory, each
command idempotent); this wrapper finds free loopback ports and gives the
client endpoints as EtcdStore wants them.
"""
from __future__ import annotations

import random
import socket
import subprocess
from pathlib import Path
from typing import List

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "etcd.sh"
# Ports this project's etcd members use, away from etcd's 2379/2380.
PORT_RANGE = range(23790, 24000)


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free ports in PORT_RANGE."""
    starts = list(range(PORT_RANGE.start, PORT_RANGE.stop - count + 1))
    random.shuffle(starts)
    for start in starts:
        if all(_bindable(port) for port in range(start, start + count)):
            return start
    raise RuntimeError(f"no {count} consecutive free ports in {PORT_RANGE}")


class EtcdMembers:
    """One etcd member (``single``) or three (``cluster``) under ``directory``."""

    MEMBERS = {"single": ["s0"], "cluster": ["m0", "m1", "m2"]}

    def __init__(self, directory: Path, kind: str = "single") -> None:
        self.directory = Path(directory)
        self.kind = kind
        self.names = self.MEMBERS[kind]
        self.base_port = free_ports(2 * len(self.names))

    def _script(self, *args: str) -> str:
        result = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True,
                                timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"etcd.sh {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def start(self) -> "EtcdMembers":
        """Start the members not running; return once each has a leader."""
        self._script(f"start-{self.kind}", str(self.directory), str(self.base_port))
        return self

    def stop(self, *names: str) -> None:
        """Stop the named members (default: all)."""
        self._script("stop", str(self.directory), *names)

    def endpoints(self) -> List[str]:
        """Client URLs, in member order."""
        return [f"http://127.0.0.1:{self.base_port + 2 * i}" for i in range(len(self.names))]
