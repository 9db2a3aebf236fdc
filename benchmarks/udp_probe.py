"""1 ms UDP probes for the data-interruption benchmark.

    python -m benchmarks.udp_probe send --to ADDR --port P --interval 0.001 --duration S \
        [--bind SRC]
    python -m benchmarks.udp_probe recv --port P --duration S --out FILE

The sender (on the CN) stamps each datagram with its sequence number and
send time; the receiver (on the MN) writes one line per datagram
``seq sent_time arrival_time`` (``time.time()``, the host clock every
Mininet namespace shares with the controller's log).
"""
from __future__ import annotations

import argparse
import socket
import struct
import sys
import time

FMT = struct.Struct("!Qd")


def send(to: str, port: int, interval: float, duration: float, bind: str = "") -> None:
    """``bind``: the source address (default: the kernel's choice)."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    if bind:
        sock.bind((bind, 0))
    end = time.monotonic() + duration
    nxt = time.monotonic()
    seq = 0
    while nxt < end:
        try:
            sock.sendto(FMT.pack(seq, time.time()) + b"p" * 48, (to, port))
        except OSError:
            pass
        seq += 1
        nxt += interval
        delay = nxt - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def recv(port: int, duration: float, out: str) -> None:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("::", port))
    end = time.monotonic() + duration
    rows = []
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            data = sock.recv(2048)
        except socket.timeout:
            break
        seq, sent = FMT.unpack_from(data)
        rows.append(f"{seq} {sent:.6f} {time.time():.6f}\n")
    with open(out, "w") as f:
        f.writelines(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="udp_probe")
    sub = parser.add_subparsers(dest="role", required=True)
    s = sub.add_parser("send")
    s.add_argument("--to", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--interval", type=float, default=0.001)
    s.add_argument("--duration", type=float, required=True)
    s.add_argument("--bind", default="")
    r = sub.add_parser("recv")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--duration", type=float, required=True)
    r.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.role == "send":
        send(args.to, args.port, args.interval, args.duration, args.bind)
    else:
        recv(args.port, args.duration, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
