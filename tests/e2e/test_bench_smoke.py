"""The benchmark command still starts and writes a well-formed report
(issue 8): ``python -m benchmarks.run --quick`` into a temporary directory.
Not the benchmark itself: only the tiny configuration, and only the shape of
bench.json / bench.md is checked, never the figures."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("handover_latency", "data_interruption", "handover_rate", "handover_rate_real",
            "tunnel_overhead", "dmm_vs_pmipv6", "scale")


def test_quick_benchmark_writes_every_section(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.run", "--quick", "--out",
                             str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)  # its group only: manager, delay line, iperf3
        output, _ = proc.communicate()
        subprocess.run(["mn", "-c"], capture_output=True)
        pytest.fail("benchmarks.run --quick overran 300 s:\n" + output)
    assert proc.returncode == 0, output
    report = json.loads((tmp_path / "bench.json").read_text())
    for key in ("nproc", "memory_gib", "kernel", "ovs", "python"):
        assert report["machine"][key], key
    assert "--quick" in report["command"]
    for name in SECTIONS:
        section = report["sections"][name]
        assert "error" not in section, (name, section.get("error"))
    assert report["sections"]["handover_latency"]["rows"]
    assert all("registered_ms" in row for row in report["sections"]["handover_latency"]["rows"])
    assert report["sections"]["handover_rate"]["max_rate_per_s"]["median"] > 0
    (real,) = report["sections"]["handover_rate_real"]["offered"]
    assert real["completed"] > 0 and real["p50_ms"] > 0
    assert report["sections"]["tunnel_overhead"]["iperf3"]["median_mbit_s"]["local"] > 0
    assert {r["config"] for r in report["sections"]["dmm_vs_pmipv6"]["rows"]} == {
        "proxy-far", "pmipv6-far"}
    assert report["sections"]["scale"]["cmd_memory"]
    markdown = (tmp_path / "bench.md").read_text()
    for title in ("## 1.", "## 2.", "## 3.", "### 3b.", "## 4.", "## 5.", "## 6."):
        assert title in markdown


def test_distributed_benchmark_compares_every_configuration(tmp_path):
    """Issue 15: ``benchmarks.distributed --quick`` measures one process, per-node
    processes and the etcd CMD in one run, and reports each one's row."""
    result = subprocess.run([sys.executable, "-m", "benchmarks.distributed", "--quick",
                             "--out", str(tmp_path)], cwd=ROOT, capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "distributed.json").read_text())
    configs = {c["config"]: c for c in report["configs"]}
    assert set(configs) == {"one-process", "per-node", "per-node-etcd1", "per-node-etcd3"}
    for name, config in configs.items():
        (row,) = config["rows"]
        assert row["registered"] == report["mns"], name
        assert row["completed"] + row["lost"] == row["handovers"], name
        assert row["completed"] > 0 and 0 < row["p50_ms"] <= row["p99_ms"], name
        assert 0 < row["achieved_per_s"], name
        expected = {"all"} if name == "one-process" else {"cmd", "rr1", "rr2", "rr3", "rr4"}
        assert set(row["controller_cpu_pct"]) == expected, name
        assert name in report["table"]
    assert "sustained/s" in report["table"] and "sustained/s" in result.stdout
