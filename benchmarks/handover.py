"""Sections 1, 2 and 5 on the live testbed: handover latency per mode from
the controller's timestamped log, the theoretical critical-path bound from
the configured per-link delays, data interruption seen by 1 ms UDP probes,
and (proxy vs pmipv6) RTT of a new flow and the load on each anchor."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from ipaddress import IPv6Address
from pathlib import Path
from typing import Dict, List, Optional

from dmm_ryu.testbed.network import move
from mininet_topos.dmm import CMD_ADDRESS, cn_address, maar_address

from dmm_ryu.testbed.ovs import wait_for

from benchmarks.live import (ROOT, bounce, live_domain, mn_id, read_log,
                             wait_address)

FAR = {"cmd": 8.0, "maar1": 10.0, "maar2": 2.0, "maar3": 2.0}
NEAR = {"cmd": 8.0, "maar1": 2.0, "maar2": 2.0, "maar3": 2.0}
#: MN sysctls of the "tuned" variant: keep addresses across the link flap,
#: no DAD, RS at once on link-up, so the measured gap is the network's.
TUNED = ("net.ipv6.conf.{intf}.keep_addr_on_down=1 net.ipv6.conf.{intf}.dad_transmits=0 "
         "net.ipv6.conf.{intf}.router_solicitation_delay=0")
WALK = ("maar1", "maar2", "maar3")
SETTLE = 1.6  # s after a move before the next (SLAAC/DAD of the new address)
NODE = {str(IPv6Address(CMD_ADDRESS)): "cmd",
        **{str(IPv6Address(maar_address(i))): f"maar{i}" for i in range(1, 9)}}
MSG = re.compile(r"dmm: (\S+) (tx|rx) (PBU|PBA) (\S+) -> (\S+) mn=(\S+) .*?(?:serving_maar=(\S+))?"
                 r"(?: previous_maar=.*)?$")


def one_way(delays: Dict[str, float], a: str, b: str) -> float:
    return delays.get(a, 0.0) + delays.get(b, 0.0)


def bounds(mode: str, delays: Dict[str, float], s: str, pmaars: List[str],
           agg_ms: Optional[float]) -> Dict[str, float]:
    """Critical path (ms) from attach detection, counting only configured
    link delays (no processing, no OpenFlow hops): ``registered`` (S-MAAR
    forwarding ready, first RA), ``pmaars`` (last P-MAAR updated),
    ``complete`` (S-MAAR has every tunnel)."""
    if mode == "pmipv6":  # RFC 5213: MAG -> LMA -> MAG, one round trip, no CMD
        lma = one_way(delays, s, pmaars[0]) if pmaars else 0.0
        return {"registered": 2 * lma, "pmaars": lma, "complete": 2 * lma}
    up = one_way(delays, s, "cmd")
    c = [one_way(delays, "cmd", p) for p in pmaars] or [0.0]
    direct = [one_way(delays, "cmd", p) + one_way(delays, p, s) for p in pmaars] or [0.0]
    if mode == "relay":
        wait = 2 * max(c) if pmaars else 0.0
        first = min(wait, agg_ms) if agg_ms is not None and pmaars else wait
        return {"registered": up + first + up, "pmaars": up + max(c),
                "complete": up + wait + up}
    if mode == "locator":  # Figure 3: the first P-MAAR's direct PBA registers the S-MAAR
        first = min(direct) if pmaars else up
        return {"registered": up + first, "pmaars": up + max(c), "complete": up + max(direct)}
    return {"registered": 2 * up, "pmaars": up + max(c), "complete": 2 * up}


def parse_handover(rows, mn: str, t_from: float, t_to: float) -> Optional[dict]:
    """Times (ms after attach detection) of one handover of ``mn``."""
    t_att = s = None
    reg = None
    pmaar_rx: Dict[str, float] = {}
    s_rx: List[float] = []
    hops = []
    sent = {}
    settled = False
    for ts, text in rows:
        if ts < t_from or ts > t_to:
            continue
        if t_att is None:
            m = re.match(rf"dmm: MN {re.escape(mn)} \(\S+\) attached to (\S+) port", text)
            if m:
                t_att, s = ts, m.group(1)
            continue
        m = re.match(rf"dmm: MN {re.escape(mn)} registered at (\S+) in ([\d.]+) ms", text)
        if m and reg is None and m.group(1) == s:
            reg = (ts - t_att) * 1000
            continue
        m = MSG.match(text)
        if not m or m.group(6) != mn:
            continue
        node, way, kind, src, dst = m.group(1, 2, 3, 4, 5)
        if way == "tx":
            sent[(kind, src, dst)] = ts
            # Once registered, the S-MAAR's next PBU is a re-registration (in
            # locator mode 1 s later, by design): its PBA is not the handover's.
            settled = settled or (node == s and kind == "PBU" and reg is not None)
            continue
        if (kind, src, dst) in sent:
            hops.append((NODE.get(src), NODE.get(dst),
                         (ts - sent.pop((kind, src, dst))) * 1000))
        if node == s and kind == "PBA":
            if not settled:
                s_rx.append(ts)
        elif node not in (s, "cmd") and kind == "PBU":
            pmaar_rx[node] = ts
    if t_att is None or reg is None:
        return None
    return {"s_maar": s, "pmaars": sorted(pmaar_rx), "registered_ms": round(reg, 2),
            "pmaars_updated_ms": round((max(pmaar_rx.values()) - t_att) * 1000, 2)
            if pmaar_rx else None,
            "complete_ms": round((max(s_rx) - t_att) * 1000, 2) if s_rx else None,
            "t_attach": t_att, "hops": hops}


def dump_port_bytes(bridge: str, port: int = 1) -> int:
    out = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "dump-ports", bridge, str(port)],
                         capture_output=True, text=True).stdout
    rx = re.search(r"rx pkts=\d+, bytes=(\d+)", out)
    tx = re.search(r"tx pkts=\d+, bytes=(\d+)", out)
    return (int(rx.group(1)) if rx else 0) + (int(tx.group(1)) if tx else 0)


def gaps(path: Path, t_move: float, t_end: float) -> Optional[dict]:
    """The interruption across a move at ``t_move``: last probe that
    arrived before it, first one after it (None: not restored by t_end)."""
    rows = []
    for line in path.read_text().splitlines():
        seq, sent, arr = line.split()
        rows.append((float(arr), int(seq)))
    rows.sort()
    before = [r for r in rows if r[0] <= t_move]
    after = [r for r in rows if t_move < r[0] <= t_end]
    if not before:
        return None
    seq = [before[-1]] + after
    if len(seq) < 2:
        return {"gap_ms": None, "restored": False}
    i = max(range(1, len(seq)), key=lambda j: seq[j][0] - seq[j - 1][0])
    return {"gap_ms": round((seq[i][0] - seq[i - 1][0]) * 1000, 1), "restored": True,
            "lost": max(0, seq[i][1] - seq[i - 1][1] - 1),
            "resumed_after_move_ms": round((seq[i][0] - t_move) * 1000, 1)}


def run_config(workdir: Path, mode: str, delays: Dict[str, float], reps: int,
               agg: Optional[float] = None, rtt: bool = False) -> dict:
    """One controller + testbed; ``reps`` MNs each walk maar1 -> maar2 -> maar3."""
    results = []
    agg_ms = agg * 1000 if agg is not None else None
    with live_domain(workdir, mode, maars=3, mns=reps, delays=delays,
                     aggregation_timeout=agg) as (net, log, info):
        cn = net.get("cn1")
        for k in range(1, reps + 1):
            variant = "stock" if k % 2 == 1 else "tuned"
            mn = net.get(f"mn{k}")
            if variant == "tuned":
                mn.cmd(f"sysctl -qw {TUNED.format(intf=f'mn{k}-eth0')}")
            bounce(net, k)
            home = wait_address(net, k, 1)
            if home is None:
                results.append({"mn": k, "error": "no address from maar1"})
                continue
            time.sleep(SETTLE)
            out = workdir / f"udp-mn{k}.txt"
            duration = 2 * SETTLE + 4.0
            port = 40000 + k
            recv = mn.popen([sys.executable, "-m", "benchmarks.udp_probe", "recv", "--port",
                             str(port), "--duration", str(duration + 1), "--out", str(out)],
                            cwd=str(ROOT))
            time.sleep(0.3)
            send = cn.popen([sys.executable, "-m", "benchmarks.udp_probe", "send", "--to", home,
                             "--port", str(port), "--duration", str(duration)], cwd=str(ROOT))
            time.sleep(0.5)
            moves = []
            for i, (src, dst) in enumerate(zip(WALK, WALK[1:])):
                t0 = time.time()
                move(net, k, src, dst)
                t_up = time.time()
                if mode == "pmipv6":  # one prefix, from the LMA, wherever the MN is
                    done = f"MN {mn_id(k)} registered at {dst}"
                    got = home if wait_for(lambda: any(done in text for ts, text in
                                                       read_log(log, t0)), 5, 0.05) else None
                else:
                    got = wait_address(net, k, i + 2)
                moves.append((src, dst, t0, t_up, got))
                time.sleep(SETTLE)
            send.wait(timeout=duration + 10)
            recv.wait(timeout=duration + 10)
            new_addr = moves[-1][4]
            rtt_row = None
            if rtt and new_addr:
                rtt_row = ping_and_spread(net, k, new_addr, home)
            rows = read_log(log)
            for j, (src, dst, t0, t_up, got) in enumerate(moves):
                t_next = moves[j + 1][2] if j + 1 < len(moves) else time.time()
                h = parse_handover(rows, mn_id(k), t0, t_next)
                row = {"mn": k, "variant": variant, "from": src, "to": dst,
                       "link_down_up_ms": round((t_up - t0) * 1000, 1),
                       "new_address": got}
                if h:
                    row.update({key: v for key, v in h.items() if key != "t_attach"})
                    row["detect_after_link_up_ms"] = round((h["t_attach"] - t_up) * 1000, 1)
                    row["bound_ms"] = bounds(mode, delays, h["s_maar"], h["pmaars"], agg_ms)
                else:
                    row["error"] = "handover not found in the controller log"
                if out.exists():
                    row["interruption"] = gaps(out, t0, t_next)
                results.append(row)
            if rtt_row:
                results[-1]["new_flow"] = rtt_row
    return {"mode": mode, "delays_ms": delays, "aggregation_timeout_s": agg,
            "reps": reps, "walk": list(WALK), "config": info, "handovers": results}


def ping_and_spread(net, k: int, new_addr: str, home: str) -> dict:
    """RTT of a new flow from the newest prefix, and of the anchored one,
    to the CN; bytes per MAAR transport port while the new flow ran."""
    mn = net.get(f"mn{k}")
    before = {f"maar{i}": dump_port_bytes(f"maar{i}") for i in (1, 2, 3)}
    new = mn.cmd(f"ping -6 -c 20 -i 0.02 -s 1000 -I {new_addr} {cn_address(1)}")
    after = {f"maar{i}": dump_port_bytes(f"maar{i}") for i in (1, 2, 3)}
    old = mn.cmd(f"ping -6 -c 20 -i 0.02 -I {home} {cn_address(1)}")
    return {"rtt_new_flow_ms": _rtt(new), "rtt_anchored_flow_ms": _rtt(old),
            "transport_bytes_during_new_flow": {m: after[m] - before[m] for m in after},
            "command": f"ping -6 -c 20 -i 0.02 -s 1000 -I {new_addr} {cn_address(1)}"}


def _rtt(out: str) -> Optional[dict]:
    m = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms", out)
    loss = re.search(r"([\d.]+)% packet loss", out)
    if not m:
        return {"loss_pct": float(loss.group(1)) if loss else 100.0}
    return {"min": float(m.group(1)), "avg": float(m.group(2)), "max": float(m.group(3)),
            "loss_pct": float(loss.group(1)) if loss else None}
