"""The demo scenario with a controller process per node (``--distributed``),
on real OVS + Mininet, in every DMM mode: the CMD and each MAAR in their own
ryu-manager (``[dmm] nodes``), each switch connected to its node's process
only, so every PBU/PBA crosses the wire between processes.  The
expectations are the one-process demo's (``report.problems``).  About 40 s
a mode."""
import re

import pytest

from dmm_ryu.testbed import report
from dmm_ryu.testbed.scenario import run_mode

pytestmark = pytest.mark.e2e

PATH = ("maar1", "maar2", "maar3", "maar1")
NODES = ("cmd", "maar1", "maar2", "maar3")


@pytest.fixture(scope="module", params=["relay", "locator", "proxy"])
def run(request, tmp_path_factory):
    return run_mode(request.param, tmp_path_factory.mktemp(f"dist-{request.param}"), path=PATH,
                    distributed=True)


def logs(run):
    return {node: (run.out / f"ryu-manager-{node}.log").read_text() for node in NODES}


def test_every_expectation_holds(run):
    assert report.problems(run) == []


def test_each_process_serves_its_node_only(run):
    for node, text in logs(run).items():
        assert f"; serving {node}\n" in text
        assert "Traceback" not in text and "refused" not in text
        handled = set(re.findall(r"^dmm: (\S+) [rt]x P", text, re.M))
        assert handled == {node}, (node, handled)


def test_signalling_crossed_the_wire_between_the_processes(run):
    kinds = {(m["from"], m["to"], m["type"]) for m in report.signalling(
        run.out / "signalling.pcap")}
    for maar in ("maar1", "maar2", "maar3"):
        assert (maar, "cmd", "PBU") in kinds, kinds
        # locator (Figure 3): a handover's PBA comes from a P-MAAR, not the CMD
        answerers = {src for src, dst, kind in kinds if dst == maar and kind == "PBA"}
        assert answerers - {"cmd"} if run.mode == "locator" and maar != "maar1" \
            else "cmd" in answerers, (maar, answerers)


def test_registration_is_timed_where_the_mn_arrived(run):
    text = logs(run)
    for step in run.steps:
        assert step.signalling_ms is not None
        assert f"registered at {step.dst} in" in text[step.dst]
