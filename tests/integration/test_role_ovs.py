"""CMD high availability on a real OVS bridge and a real etcd member.

Two CMD instances (``[dmm] nodes = cmd``, one etcd endpoint) each run in
their own ryu-manager; the CMD's bridge connects to both.  The elected one
must hold the OpenFlow MASTER role (as ``ovs-vsctl list controller``
reports it) and have programmed the switch, the other SLAVE; after
``kill -9`` of the MASTER the other must be MASTER, and have rebuilt the
switch's rules, within FAILOVER_S.  Also ``[dmm] nodes`` on a live
manager: a switch of a node not served is refused, an unknown node stops
the process.
"""
import json
import signal
import subprocess
import time
import urllib.request
import uuid

import pytest

from dmm_ryu.testbed.controller import free_port, running_managers
from dmm_ryu.testbed.etcd import EtcdMembers
from dmm_ryu.testbed.ovs import dump_flows, netdev_bridge, unique_name, vsctl, wait_for
from mininet_topos.dmm import CMD_DPID, domain_yaml

from tests.conftest import require_etcd

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

FAILOVER_S = 3.0  # the bound; ttl 2 s (see dmm_ryu.store.election)

require_etcd()


@pytest.fixture
def etcd(tmp_path):
    members = EtcdMembers(tmp_path / "etcd", "single").start()
    yield members
    members.stop()


def roles(bridge: str) -> dict:
    """{controller target: role} of the bridge's controllers, as OVS sees them."""
    found = {}
    for uuid_ in vsctl("get", "bridge", bridge, "controller").strip("[]").split(", "):
        target = vsctl("get", "controller", uuid_, "target").strip('"')
        found[target] = vsctl("get", "controller", uuid_, "role")
    return found


def leadership(manager) -> dict:
    """The ``leadership`` of the instance's /dmm/v1/health."""
    url = f"http://127.0.0.1:{manager.rest_port}/dmm/v1/health"
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.load(answer)["leadership"]


def _plan(endpoint: str) -> dict:
    prefix = f"test/{uuid.uuid4().hex}/"
    return {name: (free_port(), free_port(), f"nodes = cmd\netcd_endpoints = {endpoint}\n"
                   f"etcd_prefix = {prefix}\ninstance_id = {name}\n")
            for name in ("cmd-a", "cmd-b")}


def test_the_leader_is_master_and_a_killed_leader_is_replaced(tmp_path, etcd):
    domain = tmp_path / "dmm.yaml"
    domain.write_text(domain_yaml(1, 1))
    plan = _plan(etcd.endpoints()[0])
    target = {name: f"tcp:127.0.0.1:{port}" for name, (port, _, _) in plan.items()}
    with running_managers("ryu-manager", domain, tmp_path, plan) as managers, \
            netdev_bridge(unique_name("dmmr"), CMD_DPID, list(target.values())) as bridge:
        def one_master():
            seen = roles(bridge)
            masters = [n for n, t in target.items() if seen.get(t) == "master"]
            slaves = [n for n, t in target.items() if seen.get(t) == "slave"]
            return masters[0] if len(masters) == 1 and len(slaves) == 1 else None

        leader = wait_for(one_master, timeout=20, interval=0.1)
        assert leader, f"no single MASTER: {roles(bridge)}"
        assert wait_for(lambda: "cookie=" in dump_flows(bridge), timeout=5)
        other = next(n for n in target if n != leader)
        assert leadership(managers[leader])["role"] == "master"
        assert wait_for(lambda: leadership(managers[other]) | {"generation_id": None} == {
            "election": "cmd", "instance": other, "leader": leader, "leading": False,
            "role": "slave", "generation_id": None, "degraded": False}, timeout=5), \
            leadership(managers[other])

        managers[leader].proc.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        # Only a MASTER may program the switch: its rules coming back is the
        # switch accepting the new leader's role (ovsdb's role column lags,
        # refreshed every few seconds).
        subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "del-flows", bridge], check=True)
        rebuilt = wait_for(lambda: "cookie=" in dump_flows(bridge), timeout=10, interval=0.05)
        failover = time.monotonic() - killed_at
        print(f"failover after kill -9: {failover:.2f} s")
        assert rebuilt and failover < FAILOVER_S, f"{failover:.2f} s"
        assert wait_for(lambda: roles(bridge).get(target[other]) == "master", timeout=10), \
            roles(bridge)
        assert leadership(managers[other])["leading"] is True
        log = managers[other].log.read_text()
        assert f"CMD role: {other} asks MASTER on dpid {CMD_DPID:#x}" in log
        for manager in managers.values():  # a SLAVE never tried to program the switch
            text = manager.log.read_text()
            assert "Traceback" not in text and "refused a message" not in text


def test_a_process_refuses_switches_of_nodes_it_does_not_serve(tmp_path):
    domain = tmp_path / "dmm.yaml"
    domain.write_text(domain_yaml(2, 1))
    port = free_port()
    plan = {"maar1": (port, 0, "nodes = maar1\n")}
    with running_managers("ryu-manager", domain, tmp_path, plan) as managers, \
            netdev_bridge(unique_name("dmmn"), 2, f"tcp:127.0.0.1:{port}") as bridge:
        refused = "datapath 0x2 refused: not the switch of a node this process serves (maar1)"
        assert wait_for(lambda: refused in managers["maar1"].log.read_text(), timeout=20)
        assert "cookie=" not in dump_flows(bridge)


def test_an_unknown_node_stops_the_process_with_a_clear_line(tmp_path):
    domain = tmp_path / "dmm.yaml"
    domain.write_text(domain_yaml(2, 1))
    plan = {"bad": (free_port(), 0, "nodes = maar1,maar9\n")}
    with running_managers("ryu-manager", domain, tmp_path, plan) as managers:
        proc = managers["bad"].proc
        assert wait_for(lambda: proc.poll() is not None, timeout=20)
        assert proc.returncode != 0
        assert ("[dmm] nodes: maar9 not in the domain (its nodes: cmd, maar1, maar2)"
                in managers["bad"].log.read_text())
