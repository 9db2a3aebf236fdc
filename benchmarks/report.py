"""bench.json -> bench.md (the figures a network engineer reads)."""
from __future__ import annotations

import json


def _m(stat, unit=""):
    if not stat:
        return "—"
    if stat.get("n", 1) == 1:
        return f"{stat['median']:g}{unit}"
    return f"{stat['median']:g}{unit} ({stat['min']:g}–{stat['max']:g}, n={stat['n']})"


def _table(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _err(sec):
    return f"\n**Section failed:**\n\n```\n{sec['error']}\n```\n" if "error" in sec else ""


def markdown(r: dict) -> str:
    s = r["sections"]
    mach = r["machine"]
    out = [f"# dmm-ryu benchmark report{' (--quick)' if r['quick'] else ''}", "",
           f"Command: `{r['command']}` — started {r['started']}, total {r['total_seconds']} s.",
           "", "Machine: " + ", ".join(f"{k} {v}" for k, v in mach.items()), "",
           "Medians with (min–max, n) over repetitions. Other processes on the machine "
           "(load average above) share the 2 cores and add noise.", ""]

    hl = s.get("handover_latency", {})
    out += ["## 1. Handover latency per mode", "", hl.get("method", ""), _err(hl)]
    if hl.get("rows"):
        live = [run for run in r.get("live_runs", {}).get("runs", []) if "delays_ms" in run]
        for run in live[:1]:  # a failed run has no profile (its error is in the JSON)
            out += [f"Delay line per link (ms each way, X->Y = d_X + d_Y): far profile "
                    f"`{json.dumps(run['delays_ms'])}`; near profile: maar1 2 ms instead of 10. "
                    f"Walk maar1 -> maar2 -> maar3 per MN; {r['live_runs'].get('reps')} MNs per "
                    "configuration (one walk each).", ""]
        out.append(_table(
            ["config", "handover", "P-MAARs", "registered ms", "bound", "excess",
             "P-MAARs updated ms", "bound", "complete ms", "bound", "≤ bound+3 ms"],
            [[x["config"], x["handover"], ",".join(x.get("p_maars", [])),
              _m(x.get("registered_ms")), x.get("bound_ms", {}).get("registered"),
              x.get("registered_excess_over_bound_ms"), _m(x.get("pmaars_updated_ms")),
              x.get("bound_ms", {}).get("pmaars"), _m(x.get("complete_ms")),
              x.get("bound_ms", {}).get("complete"),
              "yes" if x.get("target_met") else "**no**"] for x in hl["rows"]]))
        out += ["", f"Per message hop, observed minus configured delay (OpenFlow packet-out, "
                f"OVS user-space, delay line, packet-in, decode): {_m(hl.get('per_hop_excess_ms'), ' ms')}.",
                "", "Claims: `" + json.dumps(hl.get("claims", {})) + "`", ""]

    di = s.get("data_interruption", {})
    out += ["## 2. Data interruption (1 ms UDP probes)", "", di.get("method", ""), "",
            "; ".join(f"**{k}**: {v}" for k, v in di.get("variants", {}).items()), _err(di)]
    if di.get("rows"):
        out.append(_table(["config", "handover", "MN", "longest gap ms", "lost probes",
                           "link down→up ms", "attach detected after link-up ms", "not restored"],
                          [[x["config"], x["handover"], x["mn"], _m(x["gap_ms"]),
                            _m(x["lost_probes"]), _m(x["link_down_up_ms"]),
                            _m(x["detect_after_link_up_ms"]), x["not_restored"]]
                           for x in di["rows"]]))
        out.append("")

    ri = s.get("roam_interruption", {})
    out += ["## 2b. Roam vs flap, stock Linux MN (issue 14)", "",
            f"Command: `{ri.get('command', '')}`; 1 ms UDP probe CN -> MN on the anchored "
            f"prefix, the MN's own uplink probe every {ri.get('uplink_interval_s')} s.",
            _err(ri)]
    if ri.get("table"):
        from benchmarks.roam import COLUMNS
        out += [_table(list(COLUMNS), [[x[c] for c in COLUMNS] for x in ri["table"]]), ""]

    hr = s.get("handover_rate", {})
    out += ["## 3. Handover rate", "", f"**{hr.get('label', '')}**", "",
            f"Command: `{hr.get('command', '')}`. Target: {hr.get('target', '')} — "
            f"**{'met' if hr.get('target_met') else 'missed'}**.", _err(hr)]
    if hr.get("offered"):
        rows = [[x.get("offered_per_s"), x.get("achieved_per_s"), x.get("per_cpu_s"),
                 x.get("p50_ms"), x.get("p99_ms"), x.get("completed"),
                 x.get("skipped_in_flight"), x.get("incomplete")]
                for x in hr["offered"] + hr["max_rate_runs"]]
        out.append(_table(["offered /s", "achieved /s", "per CPU s", "p50 ms", "p99 ms",
                           "completed", "skipped (in flight)", "incomplete"], rows))
        out += ["", f"Maximum rate (as fast as possible): {_m(hr.get('max_rate_per_s'), '/s')} "
                f"(per CPU second: {_m(hr.get('max_rate_per_cpu_s'), '/s')}); "
                f"highest offered rate sustained with p99 ≤ 5 ms: "
                f"{hr.get('sustained_at_p99_le_5ms_per_s')}/s.", "",
                "Where the time goes (cProfile, self time by component, max-rate run):", ""]
        prof = hr["profile"]
        out.append(_table(["component", "% of self time"],
                          list(prof["by_component_pct"].items())))
        out += ["", _table(["function", "self s", "cumulative s", "calls"],
                           [[f"`{f['function']}`", f["self_s"], f["cumulative_s"], f["calls"]]
                            for f in prof["top_functions_by_self_time"]]), ""]
        core = hr.get("pure_core", {})
        out += [f"Pure protocol core (benchmarks/bench_core.py functions, {core.get('mns')} MNs, "
                f"CMD only, PBU/s): `{json.dumps(core.get('cmd_pbu_per_s'))}`; "
                f"{core.get('simulator_line')}.", ""]

    pf = s.get("performance", {})
    if pf.get("table"):
        out += ["### Before vs after (issue 17)", "", f"Command: `{pf['command']}`.", "",
                pf["table"], ""]

    rr = s.get("handover_rate_real", {})
    if rr:
        out += ["### 3b. Handover rate, real stack", "", f"**{rr.get('label', '')}**", "",
                f"Command: `{rr.get('command', '')}`.", _err(rr)]
        if rr.get("offered"):
            out.append(_table(["offered /s", "achieved /s", "p50 ms", "p99 ms", "completed"],
                              [[x["offered_per_s"], x["achieved_per_s"], x["p50_ms"],
                                x["p99_ms"], f"{x['completed']}/{x['handovers']}"]
                               for x in rr["offered"]]))
            out += ["", "Highest offered rate sustained with p99 ≤ 50 ms: "
                    f"{rr.get('sustained_at_p99_le_50ms_per_s')}/s.", ""]

    hd = s.get("handover_rate_distributed", {})
    if hd:
        out += ["### 3c. Handover rate, one process vs per-node processes vs etcd CMD", "",
                hd.get("method", ""), "", _err(hd), "```", hd.get("table", ""), "```", ""]

    to = s.get("tunnel_overhead", {})
    out += ["## 4. Tunnel-equivalent overhead", "", _err(to)]
    if "per_packet" in to:
        pp = to["per_packet"]
        out.append(_table(["encapsulation", "bytes/packet", "% of 1500 B"],
                          [[k, v, pp["share_of_1500B_packet_pct"][k]]
                           for k, v in pp["bytes_per_packet"].items()]))
        out += ["", pp["note"], ""]
    ip = to.get("iperf3", {})
    if "error" in ip:
        out += ["iperf3 failed:", "```", ip["error"], "```"]
    elif ip:
        out += [f"`{ip['command']}`", "",
                _table(["flow", "Mbit/s runs", "median Mbit/s"],
                       [[k, ", ".join(map(str, v)), ip["median_mbit_s"][k]]
                        for k, v in ip["mbit_s"].items()]),
                "", f"Ratio anchored/local (median of pairs): **{ip['ratio_anchored_over_local_median']}** "
                f"(target ≥ 0.95: **{'met' if to.get('target_met') else 'missed'}**).", ""]

    dv = s.get("dmm_vs_pmipv6", {})
    out += ["## 5. DMM (proxy) vs legacy PMIPv6", "", dv.get("method", ""), _err(dv)]
    if dv.get("rows"):
        out.append(_table(["config", "RTT new flow ms", "RTT anchored flow ms",
                           "transport bytes per MAAR during the new flow"],
                          [[x["config"], _m(x.get("rtt_new_flow_ms")),
                            _m(x.get("rtt_anchored_flow_ms")),
                            ", ".join(f"{m} {_m(v)}" for m, v in
                                      x.get("transport_bytes_per_maar", {}).items())]
                           for x in dv["rows"]]))
        out.append("")

    sc = s.get("scale", {})
    out += ["## 6. Scale", "", _err(sc)]
    if sc.get("cmd_memory"):
        out.append(_table(["MNs", "bytes per binding", "total MiB"],
                          [[f"{x['mns']:,}", x["bytes_per_binding"], x["total_mib"]]
                           for x in sc["cmd_memory"]]))
        out += ["", sc["method"]["memory"], "",
                _table(["MNs at maar1", "anchored prefixes per MN", "rules on maar1 (S-MAAR)",
                        "rules on maar2 (an anchor)", "base pipeline"],
                       [[x["mns"], x["anchored_prefixes_per_mn"], x["serving_maar_rules"],
                         x["anchor_maar_rules"] if x["anchor_maar_rules"] is not None else "—",
                         x["base_rules"]] for x in sc["flow_entries"]]),
                "", sc["method"]["flows"], ""]
    out += ["## Section run times (s)", "",
            ", ".join(f"{k} {v.get('seconds')}" for k, v in s.items())
            + f"; live testbed runs (sections 1, 2, 5) {r.get('live_seconds', '—')}", ""]
    return "\n".join(out) + "\n"
