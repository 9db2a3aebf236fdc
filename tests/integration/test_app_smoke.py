"""``dmm_ryu.app`` loads under every runtime (Ryu; os-ken 4 on both hubs), with no switch.

Each manager parses its own command line and ``--config-file`` (the
``[dmm]`` options the app registers must be accepted by each), imports the
app, reads the domain file and serves REST; the health endpoint then
reports the domain it read with nothing connected.  Ctrl-C (SIGINT, the
managers' orderly stop) must end it with status 0 and no traceback.
"""
import json
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from dmm_ryu.testbed.controller import RUNTIMES, free_port, start_manager, stop

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


@pytest.mark.parametrize("runtime", RUNTIMES, ids=str)
def test_app_loads_serves_health_and_stops_cleanly(runtime, tmp_path):
    (tmp_path / "dmm.yaml").write_text(DOMAIN)
    rest_port = free_port()
    conf = tmp_path / "dmm.conf"
    conf.write_text(f"[dmm]\ndomain_file = {tmp_path / 'dmm.yaml'}\nrest_port = {rest_port}\n")
    proc, log = start_manager(runtime, conf, tmp_path, free_port())
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
        runtime.framework, "relay", 2, 0)
    assert returncode == 0, text
    assert "Traceback" not in text, text
    assert f"{tmp_path / 'dmm.yaml'} loaded (relay mode, 2 MAARs" in text
    assert f"{runtime.hub or 'eventlet'} hub)" in text
    frozen = re.search(r"dmm: (\d+) objects of the loaded controller frozen", text)
    assert frozen and int(frozen.group(1)) > 10_000, text  # the framework's heap, at least
