"""README command 1 (``./dmm demo``) end to end, here for one mode under
os-ken 4's manager (the e2e handover tests cover every mode under Ryu's):
exit status, the printed table and the three output files, once per radio
model on the native hub, and once on the eventlet hub."""
import json
import os
import subprocess
import sys

import pytest

from dmm_ryu.testbed.report import signalling

pytestmark = pytest.mark.e2e

@pytest.mark.parametrize("radio, hub", [("flap", "native"), ("roam", "native"),
                                        ("roam", "eventlet")])
def test_demo_writes_report_pcap_and_timeline(tmp_path, radio, hub):
    result = subprocess.run(
        [sys.executable, "-m", "dmm_ryu.tools.demo", "--modes", "proxy", "--manager", "osken-manager",
         "--radio", radio, "--output", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "OSKEN_HUB_TYPE": hub},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"proxy    maar1->maar2     {radio}" in result.stdout
    assert "every expectation met" in result.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["schema"] == 1
    (mode,) = report["modes"]
    assert mode["mode"] == "proxy" and mode["problems"] == []
    assert [(s["src"], s["dst"], s["radio"]) for s in mode["steps"]] == [
        (None, "maar1", None), ("maar1", "maar2", radio), ("maar2", "maar3", radio),
        ("maar3", "maar1", radio)]
    msgs = signalling(tmp_path / "signalling.pcap")
    kinds = {(m["from"], m["to"], m["type"]) for m in msgs}
    assert ("maar2", "cmd", "PBU") in kinds and ("cmd", "maar2", "PBA") in kinds
    # the capture ran past the leave (section 3.5): maar1 de-registers, the CMD
    # de-registers the P-MAARs (the report checked the exact list)
    leave = [(m["from"], m["to"], m["type"]) for m in msgs if m["lifetime"] == 0]
    assert sorted(leave) == [("cmd", "maar1", "PBA"), ("cmd", "maar2", "PBU"),
                             ("cmd", "maar3", "PBU"), ("maar1", "cmd", "PBU"),
                             ("maar2", "cmd", "PBA"), ("maar3", "cmd", "PBA")]
    assert (tmp_path / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    log = (tmp_path / "proxy" / "osken-manager.log").read_text()
    assert "framework os_ken" in log and f"{hub} hub" in log and "Traceback" not in log
