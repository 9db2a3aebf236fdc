"""README command 1 on real OVS + Mininet: every MAAR joins the controller
and the Internet side of the testbed works, under both managers."""
import subprocess
import sys

import pytest

from dmm_ryu.testbed.controller import MANAGERS

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("manager", MANAGERS)
def test_demo_runs_against_mininet(manager, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "dmm_ryu.demo", "--maars", "3", "--manager", manager,
         "--output", str(tmp_path)],
        capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for i in (1, 2, 3):
        assert f"maar{i}    {i}      2001:db8:{i}::/48      true" in result.stdout
    assert "CN cn1 reaches the router: yes" in result.stdout
    assert (tmp_path / "dmm.yaml").exists()
    log = (tmp_path / f"{manager}.log").read_text()
    assert "Traceback" not in log
