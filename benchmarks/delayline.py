"""A user-space delay line: forwards Ethernet frames between pairs of
interfaces after a fixed one-way delay, both directions.

This kernel has no ``sch_netem`` (``tc qdisc ... netem`` fails with
"Specified qdisc kind is unknown"), so the benchmarks emulate link delay
themselves: the fabric end of a MAAR-fabric link is taken out of the fabric
switch and this process bridges it to a fresh veth plugged into the fabric
in its place, holding every frame for ``delay`` ms.  One process serves all
links (select loop, heap of due frames).

    python -m benchmarks.delayline IF_A,IF_B,DELAY_MS [...]
"""
from __future__ import annotations

import heapq
import itertools
import os
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def _socket(ifname: str) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind((ifname, 0))
    sock.setblocking(False)
    return sock


def run(pairs) -> None:
    peers = {}
    for a, b, delay in pairs:
        sa, sb = _socket(a), _socket(b)
        peers[sa] = (sb, delay / 1000.0)
        peers[sb] = (sa, delay / 1000.0)
    queue: list = []
    order = itertools.count()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    parent = os.getppid()
    while peers and not stop and os.getppid() == parent:  # never outlive the benchmark
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out, frame = heapq.heappop(queue)
            try:
                out.send(frame)
            except OSError:
                pass
        timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else 0.5
        readable, _, _ = select.select(list(peers), [], [], min(timeout, 0.5))
        arrival = time.monotonic()
        for sock in readable:
            if sock not in peers:
                continue
            out, delay = peers[sock]
            while True:
                try:
                    frame, addr = sock.recvfrom(65535)
                except BlockingIOError:
                    break
                except OSError:  # interface gone (testbed torn down): stop serving it
                    peers.pop(sock, None)
                    sock.close()
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue
                heapq.heappush(queue, (arrival + delay, next(order), out, frame))


def main(argv=None) -> int:
    pairs = []
    for spec in (argv if argv is not None else sys.argv[1:]):
        a, b, ms = spec.split(",")
        pairs.append((a, b, float(ms)))
    run(pairs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
