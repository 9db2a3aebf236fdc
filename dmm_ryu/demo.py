"""``./dmm demo``: the controller driving the draft's testbed on Mininet.

Today it starts ``ryu-manager dmm_ryu.app`` against the Mininet topology of
``mininet_topos/dmm.py``, waits until every MAAR has joined, checks the
"Internet" side (router and CN) and prints the MAARs' state.  The handover
scenario (issue "Mininet testbed and the handover demo") builds on this.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from dmm_ryu.testbed.controller import MANAGERS, free_port, running_manager
from dmm_ryu.testbed.network import testbed
from dmm_ryu.testbed.ovs import vsctl, wait_for
from mininet_topos.dmm import ROUTER_TRANSPORT, domain_yaml, maar_pool


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="./dmm demo", description=__doc__.splitlines()[0])
    parser.add_argument("--maars", type=int, default=3)
    parser.add_argument("--manager", choices=MANAGERS, default="ryu-manager")
    parser.add_argument("--output", type=Path, default=None,
                        help="output directory (default: output/demo-<timestamp>)")
    return parser.parse_args(argv)


def joined(log: Path, maars: int) -> bool:
    text = log.read_text()
    return all(f"MAAR maar{i} (dpid {i:#x}) joined" in text for i in range(1, maars + 1))


def report(net, maars: int) -> list[str]:
    rows = [f"{'MAAR':8} {'dpid':6} {'pool':20} connected"]
    for i in range(1, maars + 1):
        connected = vsctl("get", "controller", f"maar{i}", "is_connected")
        rows.append(f"{'maar%d' % i:8} {i:<6} {maar_pool(i):20} {connected}")
    cn_ok = "0% packet loss" in net.get("cn1").cmd(f"ping -6 -c1 -W2 {ROUTER_TRANSPORT}")
    rows.append(f"CN cn1 reaches the router: {'yes' if cn_ok else 'NO'}")
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    out = args.output or Path("output") / time.strftime("demo-%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    domain = out / "dmm.yaml"
    domain.write_text(domain_yaml(args.maars, mns=1))
    port = free_port()
    print(f"dmm demo: output in {out}; controller {args.manager} on port {port}")
    with running_manager(args.manager, domain, out, port) as log, \
            testbed(port, maars=args.maars) as net:
        ok = wait_for(lambda: joined(log, args.maars), timeout=30)
        wait_for(lambda: vsctl("get", "controller", "maar1", "is_connected") == "true", 15)
        rows = report(net, args.maars)
    print("\n".join(rows))
    all_ok = ok and "NO" not in rows[-1]
    print("dmm demo:", "all MAARs joined" if all_ok else f"FAILED (see {log})")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
