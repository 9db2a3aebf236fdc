"""Long-lived TCP flows for the testbed: prove a session survives handovers.

``server`` (on a CN) accepts connections and every ``--interval`` appends one
JSON line per connection to ``--log``: time, connection number, peer address,
bytes received so far.  ``client`` (on the MN) binds to one of the MN's
addresses, connects once and sends at a steady rate until killed; it never
reconnects, so a flow that keeps counting bytes after a move is the same
TCP session carried across it.

Run inside Mininet hosts with the venv's interpreter::

    python -m dmm_ryu.testbed.probes server --port 5001 --log flows.jsonl
    python -m dmm_ryu.testbed.probes client --bind 2001:db8:1::1 --to 2001:db8:c::11 --port 5001
"""
from __future__ import annotations

import argparse
import errno
import json
import selectors
import socket
import sys
import time

CHUNK = 1000


def serve(port: int, log_path: str, interval: float) -> None:
    """Accept and drain connections, logging their byte counts."""
    listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("::", port))
    listener.listen()
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    conns = {}
    next_log = time.time() + interval
    with open(log_path, "a", buffering=1) as log:
        while True:
            for key, _ in sel.select(timeout=interval / 4):
                _readable(key.fileobj, listener, sel, conns)
            if time.time() >= next_log:
                next_log += interval
                for number, (peer, count) in conns.items():
                    log.write(json.dumps({"t": time.time(), "conn": number, "peer": peer,
                                          "bytes": count}) + "\n")


def _readable(sock, listener, sel, conns) -> None:
    if sock is listener:
        conn, addr = listener.accept()
        conn.setblocking(False)
        sel.register(conn, selectors.EVENT_READ, data=len(conns))
        conns[len(conns)] = [addr[0], 0]
        return
    number = sel.get_key(sock).data
    try:
        data = sock.recv(65536)
    except OSError:
        data = b""
    if data:
        conns[number][1] += len(data)
    else:
        sel.unregister(sock)
        sock.close()


def _connect(bind: str, to: str, port: int, patience: float = 15.0) -> socket.socket:
    """Connect once; while the source address is still in DAD the kernel
    refuses to bind it, so only that (never a dropped session) is retried."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return socket.create_connection((to, port), timeout=30, source_address=(bind, 0))
        except OSError as err:
            if err.errno != errno.EADDRNOTAVAIL or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def send(bind: str, to: str, port: int, rate: float) -> None:
    """One connection from ``bind``, ``rate`` bytes/s, until killed."""
    sock = _connect(bind, to, port)
    sock.settimeout(None)
    payload = b"x" * CHUNK
    period = CHUNK / rate
    deadline = time.monotonic()
    while True:
        sock.sendall(payload)
        deadline += period
        time.sleep(max(0.0, deadline - time.monotonic()))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="probes")
    sub = parser.add_subparsers(dest="role", required=True)
    srv = sub.add_parser("server")
    srv.add_argument("--port", type=int, required=True)
    srv.add_argument("--log", required=True)
    srv.add_argument("--interval", type=float, default=0.1)
    cli = sub.add_parser("client")
    cli.add_argument("--bind", required=True)
    cli.add_argument("--to", required=True)
    cli.add_argument("--port", type=int, required=True)
    cli.add_argument("--rate", type=float, default=100_000.0, help="bytes per second")
    args = parser.parse_args(argv)
    if args.role == "server":
        serve(args.port, args.log, args.interval)
    else:
        send(args.bind, args.to, args.port, args.rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
