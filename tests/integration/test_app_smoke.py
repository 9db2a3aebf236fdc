"""``dmm_ryu.app`` loads under both managers, with no switch at all.

Each manager parses its own command line and ``--config-file`` (the
``[dmm]`` options the app registers must be accepted by both), imports the
app, reads the domain file and serves REST; the health endpoint then
reports the domain it read with nothing connected.  Ctrl-C (SIGINT, the
managers' orderly stop) must end it with status 0 and no traceback.
"""
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from dmm_ryu.testbed.controller import MANAGERS, free_port, stop

pytestmark = pytest.mark.integration

DOMAIN = """
maars:
  maar1:
    dpid: 0xd3391
    address: "2001:db8:ffff::1"
    pool: "2001:db8:1::/48"
    access_ports: [1]
    transport_ports: [2]
  maar2:
    dpid: 0xd3392
    address: "2001:db8:ffff::2"
    pool: "2001:db8:2::/48"
    access_ports: [1]
    transport_ports: [2]
cmd: {address: "2001:db8:ffff::100", maar: maar1, port: 3}
mode: relay
"""
FRAMEWORK = {"ryu-manager": "ryu", "osken-manager": "os_ken"}
START_TIMEOUT = 30.0  # s: both managers load in about 2 s on an idle machine


def health(port: int):
    """(HTTP status, JSON body) of /dmm/v1/health, None while nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/dmm/v1/health", timeout=2) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)
    except OSError:
        return None


def wait_for_health(proc: subprocess.Popen, port: int):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        answer = health(port)
        if answer is not None:
            return answer
        time.sleep(0.2)
    return None


@pytest.mark.parametrize("manager", MANAGERS)
def test_app_loads_serves_health_and_stops_cleanly(manager, tmp_path):
    (tmp_path / "dmm.yaml").write_text(DOMAIN)
    rest_port = free_port()
    conf = tmp_path / "dmm.conf"
    conf.write_text(f"[dmm]\ndomain_file = {tmp_path / 'dmm.yaml'}\nrest_port = {rest_port}\n")
    log = tmp_path / f"{manager}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / manager), "--ofp-listen-host", "127.0.0.1",
             "--ofp-tcp-listen-port", str(free_port()), "--config-file", str(conf),
             "dmm_ryu.app"], stdout=out, stderr=subprocess.STDOUT)
    try:
        answer = wait_for_health(proc, rest_port)
        proc.send_signal(signal.SIGINT)
        returncode = proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            stop(proc)
    text = log.read_text()
    assert answer is not None, text
    status, body = answer
    assert status == 503 and body["status"] == "down", body  # no switch has joined
    assert (body["framework"], body["mode"], body["maars_total"], body["maars_connected"]) == (
        FRAMEWORK[manager], "relay", 2, 0)
    assert returncode == 0, text
    assert "Traceback" not in text, text
    assert f"{tmp_path / 'dmm.yaml'} loaded (relay mode, 2 MAARs" in text
