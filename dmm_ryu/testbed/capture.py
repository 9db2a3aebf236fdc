"""Packet captures on the transport fabric, for Wireshark and for checks.

One ``tcpdump -Q in`` per fabric port records each packet once, as it
enters the fabric from the switch or host that sent it; the per-port files
are merged into ``transport.pcap`` and the Mobility Header messages copied
into ``signalling.pcap``.

``--immediate-mode``: libpcap otherwise hands packets over a ring block at
a time (up to its one-second timeout), and a tcpdump stopped meanwhile
never writes the last block; the leave's messages were lost that way.

The Mobility Header messages get a capture of their own per port, filtered
in the kernel (IPv6 next header 135): the whole-traffic capture shares its
ring buffer with the demo's TCP flows at full speed, and under load it
dropped one PBA of a handover that both controllers logged.
"""
from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import List

SNAPLEN = 0  # whole packets: a PBA with Previous MAAR options exceeds 256 octets
#: Kernel filter of the signalling captures: IPv6 whose next header is MH.
MH_FILTER = "ip6 and ip6[6] == 135"
#: Ring buffer of the whole-traffic captures, KiB (tcpdump's default is 2 MiB).
BUFFER_KIB = 32768


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
            self._tcpdump(port, self.out / f"capture-{port}.pcap", ["-B", str(BUFFER_KIB)])
            self._tcpdump(port, self.out / f"mh-{port}.pcap", [MH_FILTER])

    def _tcpdump(self, port: str, path: Path, extra: List[str]) -> None:
        self.files.append(path)
        self._procs.append(subprocess.Popen(
            ["tcpdump", "--immediate-mode", "-Q", "in", "-U", "-s", str(SNAPLEN),
             "-i", port, "-w", str(path)] + extra,
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
        files = [f for f in self.files if f.exists() and f.stat().st_size > 24]
        whole = [f for f in files if f.name.startswith("capture-")]
        signalling = [f for f in files if f.name.startswith("mh-")]
        if whole:
            merge_pcaps(whole, self.out / "transport.pcap")
        if signalling:
            merge_pcaps(signalling, self.out / "signalling.pcap")
        for f in self.files:
            f.unlink(missing_ok=True)
        self.files = []
