"""The benchmark command: writes bench.md and bench.json.

    .venv/bin/python -m benchmarks.run [--quick] [--out DIR]

Needs root, Open vSwitch and Mininet for the live sections (1, 2, 4, 5);
sections 3 and 6 run in-process.  ``--before REF`` adds issue 17's
in-process figures of that git ref beside this checkout's (benchmarks/perf.py).  Every section records the command and
configuration that produced it; a section that fails records its error and
the run goes on.  Full run: about 12-15 minutes on 2 cores; --quick: a tiny
configuration (< 2 minutes) for the smoke test.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent


def _sh(cmd: str) -> str:
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except Exception as err:  # noqa: BLE001 - facts are best effort
        return f"unavailable ({err})"


def machine() -> dict:
    mem = _sh("awk '/MemTotal/ {print $2}' /proc/meminfo")
    try:
        import ryu
        ryu_version = ryu.__version__ if hasattr(ryu, "__version__") else _sh(
            f"{sys.executable} -m pip show ryu | awk '/Version/ {{print $2}}'")
    except ImportError:
        ryu_version = None
    return {
        "nproc": os.cpu_count(),
        "cpu": _sh("awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo"),
        "memory_gib": round(int(mem) / 2**20, 1) if mem.isdigit() else mem,
        "kernel": platform.release(),
        "ovs": _sh("ovs-vsctl --version | head -1"),
        "python": platform.python_version(),
        "ryu": ryu_version,
        "mininet": _sh(f"{sys.executable} -c 'import mininet.net as m; print(m.VERSION)'"),
        "iperf3": _sh("iperf3 --version | head -1"),
        "loadavg_at_start": _sh("cat /proc/loadavg"),
        "git_commit": _sh(f"git -C {ROOT} rev-parse --short HEAD"),
        "git_dirty_files": _sh(f"git -C {ROOT} status --short | wc -l"),
    }


def med(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2), "n": len(values)}


class LiveTimeout(BaseException):
    """A live configuration overran its budget (e.g. a Mininet host shell
    died under us: ``mn -c`` from another run kills every ryu-manager and
    bridge on the machine, and ``host.cmd`` then waits forever)."""


@contextlib.contextmanager
def watchdog(seconds: int):
    def expired(*_):
        raise LiveTimeout(f"live configuration exceeded {seconds} s")
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# -- sections ------------------------------------------------------------------

def live_runs(out: Path, quick: bool) -> dict:
    from benchmarks import handover as ho
    configs = [("proxy", "far", None), ("pmipv6", "far", None)] if quick else [
        ("proxy", "far", None), ("locator", "far", None), ("relay", "far", None),
        ("relay", "far", 0.01), ("pmipv6", "far", None), ("proxy", "near", None),
        ("relay", "near", None)]
    reps = 1 if quick else 4
    runs = []
    for mode, profile, agg in configs:
        delays = ho.FAR if profile == "far" else ho.NEAR
        name = f"{mode}-{profile}" + (f"-agg{int(agg * 1000)}ms" if agg else "")
        started = time.time()
        try:
            with watchdog(60 + 40 * reps):
                result = ho.run_config(out / "live" / name, mode, delays, reps, agg, rtt=True)
        except BaseException as err:  # noqa: BLE001 - KeyboardInterrupt ends the run
            if isinstance(err, KeyboardInterrupt):
                raise
            result = {"mode": mode, "error": traceback.format_exc(limit=5)}
        result.update(name=name, profile=profile, seconds=round(time.time() - started, 1))
        runs.append(result)
        print(f"  {name}: {result.get('error', 'ok')[:200]} ({result['seconds']} s)", flush=True)
    return {"runs": runs, "reps": reps}


def _by_handover(run):
    groups = {}
    for h in run.get("handovers", []):
        if "from" in h:
            groups.setdefault(f"{h['from']}->{h['to']}", []).append(h)
    return groups


def handover_latency(live: dict) -> dict:
    rows, hop_excess = [], []
    for run in live["runs"]:
        for label, hs in _by_handover(run).items():
            ok = [h for h in hs if "registered_ms" in h]
            if not ok:
                rows.append({"config": run["name"], "handover": label, "error": hs[0].get("error")})
                continue
            bound = ok[0]["bound_ms"]
            for h in ok:
                for a, b, ms in h.get("hops", []):
                    if a and b:
                        conf = run["delays_ms"].get(a, 0) + run["delays_ms"].get(b, 0)
                        hop_excess.append(ms - conf)
            reg = med([h["registered_ms"] for h in ok])
            rows.append({
                "config": run["name"], "mode": run["mode"], "profile": run["profile"],
                "aggregation_timeout_s": run.get("aggregation_timeout_s"),
                "handover": label, "p_maars": ok[0]["pmaars"],
                "registered_ms": reg,
                "pmaars_updated_ms": med([h["pmaars_updated_ms"] for h in ok]),
                "complete_ms": med([h["complete_ms"] for h in ok]),
                "bound_ms": bound,
                "registered_excess_over_bound_ms": round(reg["median"] - bound["registered"], 2),
                "target_met": reg["median"] <= bound["registered"] + 3,
            })
    return {"rows": rows, "per_hop_excess_ms": med(hop_excess),
            "claims": claims(rows),
            "method": "attach detection = controller log 'MN .. attached'; registered = "
                      "'registered at' line (S-MAAR's first RA, its forwarding ready); "
                      "P-MAARs updated = last P-MAAR 'rx PBU' (its tunnel is installed on "
                      "receipt); complete = S-MAAR's last 'rx PBA' (every tunnel installed). "
                      "Log lines stamped with %(created) via a logging config file. Bound = "
                      "sum of configured one-way link delays on the mode's critical path "
                      "(one-way X->Y = d_X + d_Y over the fabric), no processing.",
            "target": "median registered <= bound + 3 ms"}


def claims(rows) -> dict:
    def get(config, label, key="registered_ms"):
        for r in rows:
            if r.get("config") == config and r.get("handover") == label and r.get(key):
                return r[key]["median"]
        return None
    h2 = "maar2->maar3"
    out = {}
    complete = {m: get(f"{m}-far", h2, "complete_ms") for m in ("proxy", "locator", "relay")}
    if all(complete.values()):
        fastest = min(complete, key=complete.get)
        out["proxy_fastest"] = {"holds": fastest == "proxy",
                                "complete_ms_by_mode": complete,
                                "registered_ms_by_mode": {m: get(f"{m}-far", h2)
                                                          for m in complete}}
    rf, rn = get("relay-far", h2), get("relay-near", h2)
    pf, pn = get("proxy-far", h2), get("proxy-near", h2)
    if None not in (rf, rn, pf, pn):
        out["relay_bounded_by_farthest_pmaar"] = {
            "relay_far_minus_near_ms": round(rf - rn, 2),
            "proxy_far_minus_near_ms": round(pf - pn, 2),
            "predicted_relay_difference_ms": 16.0,
            "holds": abs((rf - rn) - 16.0) < 5 and abs(pf - pn) < 3,
            "explanation": "far and near differ only in the delay of P-MAAR maar1 (10 vs 2 ms); "
                           "relay waits for it twice (PBU and PBA), proxy not at all"}
    agg, rel = get("relay-far-agg10ms", h2), rf
    if agg and rel:
        out["aggregation_timeout"] = {"relay_default_ms": rel, "relay_agg10ms_ms": agg,
                                      "complete_agg10ms_ms": get("relay-far-agg10ms", h2,
                                                                 "complete_ms")}
    return out


def data_interruption(live: dict) -> dict:
    rows = []
    for run in live["runs"]:
        for label, hs in _by_handover(run).items():
            for variant in ("tuned", "stock"):
                vs = [h for h in hs if h.get("variant") == variant and h.get("interruption")]
                if not vs:
                    continue
                gaps = [h["interruption"]["gap_ms"] for h in vs]
                rows.append({"config": run["name"], "handover": label, "mn": variant,
                             "gap_ms": med(gaps),
                             "not_restored": sum(1 for h in vs if not h["interruption"]["restored"]),
                             "lost_probes": med([h["interruption"].get("lost") for h in vs]),
                             "link_down_up_ms": med([h["link_down_up_ms"] for h in vs]),
                             "detect_after_link_up_ms": med([h.get("detect_after_link_up_ms")
                                                             for h in vs])})
    return {"rows": rows,
            "method": "python -m benchmarks.udp_probe send (CN -> the MN's first address, "
                      "anchored at maar1, one 56-byte datagram every 1 ms) / recv (on the MN); "
                      "gap = longest inter-arrival from the last probe before the move to the "
                      "end of the settle time. The move is dmm_ryu.testbed.network.move "
                      "(MN link down, veth re-plugged, link up).",
            "variants": {"stock": "unmodified Linux MN: addresses dropped on link-down, "
                                  "re-created from the RA, DAD (1 s) before use",
                         "tuned": "MN sysctls keep_addr_on_down=1, dad_transmits=0, "
                                  "router_solicitation_delay=0: the gap is the network's"}}


def dmm_vs_pmipv6(live: dict) -> dict:
    rows = []
    for run in live["runs"]:
        if run["name"] not in ("proxy-far", "pmipv6-far"):
            continue
        flows = [h["new_flow"] for h in run.get("handovers", []) if h.get("new_flow")]
        if not flows:
            rows.append({"config": run["name"], "error": run.get("error", "no RTT sample")})
            continue
        spread = {}
        for f in flows:
            for m, b in f["transport_bytes_during_new_flow"].items():
                spread.setdefault(m, []).append(b)
        rows.append({"config": run["name"], "mode": run["mode"],
                     "rtt_new_flow_ms": med([f["rtt_new_flow_ms"].get("avg") for f in flows]),
                     "rtt_anchored_flow_ms": med([f["rtt_anchored_flow_ms"].get("avg")
                                                  for f in flows]),
                     "transport_bytes_per_maar": {m: med(v) for m, v in spread.items()},
                     "command": flows[0]["command"]})
    return {"rows": rows,
            "method": "after maar1 -> maar2 -> maar3: 20 pings (1000 B, 20 ms apart) from the "
                      "MN's newest address to cn1 (new flow) and 20 from its first address "
                      "(anchored flow); ovs-ofctl dump-ports <maar> 1 (transport port, rx+tx "
                      "bytes) before/after the new flow. pmipv6: LMA maar1 (10 ms from the "
                      "fabric), every prefix anchored there."}


def handover_rate(quick: bool) -> dict:
    from benchmarks import scale
    from benchmarks.loadgen import run_cold
    mns = 300 if quick else 2000
    offered = [500, 1000] if quick else [500, 1000, 2000, 5000]
    rows = [run_cold(ROOT, "rate", offered=rate, mns=mns) for rate in offered]
    maxes = [run_cold(ROOT, "rate", mns=mns, seed=s) for s in ((1,) if quick else (1, 2, 3))]
    prof = run_cold(ROOT, "rate", mns=mns, profile=True)
    core = scale.core_rates(2000 if quick else 20000)
    best = med([r.get("achieved_per_s") for r in maxes])
    sustained = [r for r in rows if r.get("completed") == r.get("handovers")
                 and r["achieved_per_s"] >= 0.97 * r["offered_per_s"] and r["p99_ms"] <= 5]
    return {"offered": rows, "max_rate_runs": maxes, "max_rate_per_s": best,
            "max_rate_per_cpu_s": med([r.get("per_cpu_s") for r in maxes]),
            "sustained_at_p99_le_5ms_per_s": max((r["offered_per_s"] for r in sustained),
                                                 default=None),
            "profile": prof.get("profile"),
            "profile_run": {k: v for k, v in prof.items() if k != "profile"},
            "pure_core": core,
            "target": ">= 5,000 handovers/s serialised and cold; p99 <= 5 ms at 2,000/s",
            "target_met": bool(best and best["median"] >= 5000 and any(
                r["offered_per_s"] >= 2000 for r in sustained)),
            "label": "controller runtime and the app's Sender, no socket: one in-process "
                     "DmmController (proxy mode, 8 MAARs, CMD on its own switch) fed RS "
                     "packet-ins from distinct MACs; every message serialised as "
                     "Datapath.send_msg does; PBU/PBA packet-outs parsed from the bytes and "
                     "delivered as packet-ins (zero delay); a handover ends at the S-MAAR's "
                     "first RA; 1 handover per MN; each run a fresh process (cold); logging "
                     "at INFO into /dev/null.",
            "command": f"python benchmarks/loadgen.py rate --offered RATE --mns {mns} --ratio 1"}


def performance(out: Path, quick: bool, before: Optional[str]) -> dict:
    """Issue 17's in-process figures for this checkout and, with ``before``,
    for that git ref, side by side (benchmarks/perf.py)."""
    from benchmarks import perf
    sizes = perf.plan(quick)
    trees = {"after": ROOT}
    if before:
        trees = {f"before ({before})": perf.export(before, out), "after": ROOT}
    columns = {label: perf.measure(tree, sizes, lambda line: print(line, flush=True))
               for label, tree in trees.items()}
    return {"columns": columns, "sizes": sizes,
            "table": perf.markdown(perf.rows(columns, sizes), list(columns)),
            "command": "python -m benchmarks.perf" + " --quick" * quick}


def tunnel_overhead(out: Path, quick: bool) -> dict:
    from benchmarks import throughput
    result = {"per_packet": throughput.overhead()}
    try:
        with watchdog(120 if quick else 240):
            result["iperf3"] = throughput.run(out / "live" / "iperf3", 1 if quick else 5,
                                              2 if quick else 5)
        ratio = result["iperf3"]["ratio_anchored_over_local_median"]
        result["target"] = "anchored/local >= 0.95"
        result["target_met"] = ratio is not None and ratio >= 0.95
    except (Exception, LiveTimeout):  # noqa: BLE001
        result["iperf3"] = {"error": traceback.format_exc(limit=5)}
    return result


def handover_rate_real(out: Path, quick: bool) -> dict:
    """Section 3b: the same load against ryu-manager and netdev OVS bridges."""
    from benchmarks import realrate
    mns, n = (50, 100) if quick else (200, 1000)
    offered = [50.0] if quick else [100.0, 200.0, 400.0, 800.0]
    rows = [realrate.run(out / "realrate", rate, mns=mns, handovers=n) for rate in offered]
    sustained = [r["offered_per_s"] for r in rows
                 if r["completed"] >= 0.97 * n and r["p99_ms"] is not None and r["p99_ms"] <= 50]
    return {"offered": rows, "sustained_at_p99_le_50ms_per_s": max(sustained, default=None),
            "label": "real stack: ryu-manager dmm_ryu.app and 4 MAAR + CMD + fabric netdev OVS "
                     "bridges (patch ports); MNs emulated as MACs sending Router Solicitations "
                     "on the MAARs' access veths; a handover ends when the RA for that MAC "
                     "leaves the new MAAR's access port; load generator on the same 2 cores",
            "command": f"benchmarks.realrate.run(out, offered, mns={mns}, handovers={n}, maars=4)"}


def scale_section(quick: bool) -> dict:
    from benchmarks import loadgen, scale
    counts = (1000, 10000) if quick else (10000, 100000)
    memory = [scale.memory_per_binding(c) for c in counts]
    mns = (1, 10, 100) if quick else (1, 10, 100, 1000)
    anchored = (0, 1) if quick else (0, 1, 2, 3)
    return {"cmd_memory": memory, "flow_entries": loadgen.flow_entries(mns, anchored),
            "method": {"memory": "tracemalloc around N first registrations into the pure core's "
                                 "Cmd (proxy, 16 MAARs), tracing from before the PBUs are built",
                       "flows": "N MNs driven through the in-process DmmController so each ends "
                                "on maar1 holding A anchored prefixes (walk maar(A+1) .. maar1); "
                                "rules = ADD FlowMods of dmm_ryu.of.admission.rebuild_flows for the "
                                "switch (what a reconnect installs), base pipeline included"}}


def roam_section(out: Path, quick: bool) -> dict:
    """Issue 14: roam and flap interruption of a stock Linux MN, every mode."""
    from benchmarks import roam
    if quick:
        return roam.measure(out / "roam", modes=("proxy",), roams=3, flaps=1)
    return roam.measure(out / "roam")


def restart_section(quick: bool) -> dict:
    """Issue 13: restart-to-reconciled and the cost of durable state (in process)."""
    from benchmarks import bench_restart
    return bench_restart.measure(quick)


# -- report --------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny configuration (smoke test)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default output/bench-<timestamp>)")
    parser.add_argument("--skip-live", action="store_true",
                        help="only the in-process sections (3, 6)")
    parser.add_argument("--distributed", action="store_true",
                        help="also compare one process, per-node processes and an etcd CMD "
                             "on the real stack (benchmarks/distributed.py)")
    parser.add_argument("--before", default=None, metavar="REF",
                        help="also measure the in-process figures of this git ref")
    args = parser.parse_args(argv)
    out = args.out or ROOT / "output" / time.strftime("bench-%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    os.chdir(ROOT)
    command = ".venv/bin/python -m benchmarks.run" + (" --quick" if args.quick else "") + \
        " --distributed" * args.distributed + \
        f" --out {args.out}" * bool(args.out)
    started = time.time()
    report = {"command": command, "quick": args.quick, "machine": machine(),
              "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "sections": {}}
    sections = report["sections"]

    def section(name, fn):
        t = time.time()
        print(f"benchmark: {name} ...", flush=True)
        try:
            sections[name] = fn()
        except Exception:  # noqa: BLE001
            sections[name] = {"error": traceback.format_exc(limit=8)}
        sections[name]["seconds"] = round(time.time() - t, 1)

    section("handover_rate", lambda: handover_rate(args.quick))
    if args.before or not args.quick:  # --quick stays a smoke test of a few minutes
        section("performance", lambda: performance(out, args.quick, args.before))
    if not args.skip_live:
        section("handover_rate_real", lambda: handover_rate_real(out, args.quick))
    if args.distributed and not args.skip_live:
        from benchmarks import distributed
        section("handover_rate_distributed",
                lambda: distributed.measure(out / "distributed", args.quick))
    section("scale", lambda: scale_section(args.quick))
    section("restart", lambda: restart_section(args.quick))
    live = None
    if args.skip_live:
        for name in ("handover_latency", "data_interruption", "dmm_vs_pmipv6", "tunnel_overhead",
                     "roam_interruption"):
            sections[name] = {"skipped": "--skip-live"}
    else:
        try:
            live = live_runs(out, args.quick)
        except Exception:  # noqa: BLE001
            live = {"runs": [], "error": traceback.format_exc(limit=8)}
        section("handover_latency", lambda: handover_latency(live))
        section("data_interruption", lambda: data_interruption(live))
        section("dmm_vs_pmipv6", lambda: dmm_vs_pmipv6(live))
        section("tunnel_overhead", lambda: tunnel_overhead(out, args.quick))
        section("roam_interruption", lambda: roam_section(out, args.quick))
        report["live_runs"] = live
        report["live_seconds"] = round(sum(r.get("seconds", 0) for r in live["runs"]), 1)
    report["total_seconds"] = round(time.time() - started, 1)
    (out / "bench.json").write_text(json.dumps(report, indent=1, default=str))
    from benchmarks.report import markdown
    (out / "bench.md").write_text(markdown(report))
    print(f"benchmark: wrote {out / 'bench.md'} and {out / 'bench.json'} "
          f"in {report['total_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
