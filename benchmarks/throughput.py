"""Section 4: iperf3 TCP throughput of an anchored-prefix flow (P-MAAR ->
label -> S-MAAR) against a local-prefix flow, same testbed, same run,
alternating, plus the per-packet overhead arithmetic."""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from dmm_ryu.testbed.network import move
from mininet_topos.dmm import cn_address

from benchmarks.live import bounce, live_domain, wait_address

MPLS_LABEL = 4
IP6IP6 = 40
GRE6 = 44  # IPv6 + 4-byte GRE header


def overhead() -> dict:
    """Bytes added per packet on the transport by each way of tunnelling."""
    rows = {"mpls_label (this project)": MPLS_LABEL, "ipv6-in-ipv6 (RFC 2473)": IP6IP6,
            "gre over ipv6 (base header)": GRE6}
    return {"bytes_per_packet": rows,
            "saving_vs_ip6ip6_bytes": IP6IP6 - MPLS_LABEL,
            "share_of_1500B_packet_pct": {k: round(100 * v / 1500, 2) for k, v in rows.items()},
            "note": "MN MTU stays 1500 when the transport MTU is >= 1504 (veths here); "
                    "ip6ip6 would need transport MTU >= 1540 or an MN MTU of 1460."}


def iperf(mn, src: str, seconds: float, port: int = 5201) -> float:
    out = mn.cmd(f"iperf3 -6 -J -c {cn_address(1)} -B {src} -p {port} -t {seconds} -O 1")
    try:
        data = json.loads(out[out.index("{"):])
        return data["end"]["sum_received"]["bits_per_second"] / 1e6
    except (ValueError, KeyError):
        return float("nan")


def run(workdir: Path, reps: int, seconds: float) -> dict:
    with live_domain(workdir, "proxy", maars=2, mns=1) as (net, log, info):
        cn, mn = net.get("cn1"), net.get("mn1")
        server = cn.popen(["iperf3", "-s", "-p", "5201"])
        try:
            bounce(net, 1)
            anchored = wait_address(net, 1, 1)
            time.sleep(1.5)
            move(net, 1, "maar1", "maar2")
            local = wait_address(net, 1, 2)
            time.sleep(2.0)
            runs = {"anchored": [], "local": []}
            for _ in range(reps):
                for kind, src in (("local", local), ("anchored", anchored)):
                    runs[kind].append(round(iperf(mn, src, seconds), 1))
        finally:
            server.terminate()
            server.wait()
    med = {k: statistics.median(v) for k, v in runs.items()}
    ratios = [a / b for a, b in zip(runs["anchored"], runs["local"]) if b]
    return {"mbit_s": runs, "median_mbit_s": med,
            "ratio_anchored_over_local_median": round(statistics.median(ratios), 3)
            if ratios else None,
            "ratio_per_pair": [round(r, 3) for r in ratios],
            "addresses": {"anchored": anchored, "local": local},
            "command": f"iperf3 -6 -J -c {cn_address(1)} -B <address> -p 5201 -t {seconds} -O 1"
                       f" (from mn1, after maar1 -> maar2; alternating local/anchored, {reps} "
                       f"pairs)", "config": info}
