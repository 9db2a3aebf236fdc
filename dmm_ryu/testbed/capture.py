"""Packet captures on the transport fabric, for Wireshark and for checks.

One ``tcpdump -Q in`` per fabric port records each packet once, as it
enters the fabric from the switch or host that sent it; the per-port files
are merged into ``transport.pcap`` and the Mobility Header messages copied
into ``signalling.pcap``.

``--immediate-mode``: libpcap otherwise hands packets over a ring block at
a time (up to its one-second timeout), and a tcpdump stopped meanwhile
never writes the last block; the leave's messages were lost that way.
"""
from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import List

SNAPLEN = 0  # whole packets: a PBA with Previous MAAR options exceeds 256 octets


def merge_pcaps(files, out: Path) -> None:
    """One pcap of several, in time order (Wireshark's mergecap)."""
    subprocess.run(["mergecap", "-F", "pcap", "-w", str(out), *map(str, files)], check=True)


class Captures:
    """Captures on every port of the fabric switch ``t0``."""

    def __init__(self, net, out: Path, fabric: str = "t0"):
        self.out = out
        self.ports = [str(i) for i in net.get(fabric).intfList() if str(i) != "lo"]
        self._procs: List[subprocess.Popen] = []
        self.files: List[Path] = []

    def start(self) -> None:
        for port in self.ports:
            path = self.out / f"capture-{port}.pcap"
            self.files.append(path)
            self._procs.append(subprocess.Popen(
                ["tcpdump", "--immediate-mode", "-Q", "in", "-U", "-s", str(SNAPLEN),
                 "-i", port, "-w", str(path)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def stop(self) -> None:
        """Flush and merge; idempotent."""
        for proc in self._procs:
            proc.send_signal(signal.SIGINT)
        for proc in self._procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._procs = []
        files = [str(f) for f in self.files if f.exists() and f.stat().st_size > 24]
        if not files:
            return
        transport = self.out / "transport.pcap"
        merge_pcaps(files, transport)
        subprocess.run(["tshark", "-r", str(transport), "-Y", "mipv6", "-F", "pcap",
                        "-w", str(self.out / "signalling.pcap")],
                       check=True, capture_output=True)
        for f in self.files:
            f.unlink(missing_ok=True)
        self.files = []
