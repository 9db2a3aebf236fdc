"""``gateway: dlif`` on real OVS + Mininet: a stock Linux MN moves
maar1 -> maar2 and then has one default router per anchor, each a DLIF
with its own link-local address and MAC (RFC 8885), and the addresses of
both prefixes reach the CN both ways, whichever router the MN picks."""
import re
import shutil
import subprocess
from ipaddress import IPv6Address

import pytest

from dmm_ryu.of.labels import dlif_link_local, dlif_mac
from dmm_ryu.testbed import report
from dmm_ryu.testbed.scenario import Scenario, global_addresses
from dmm_ryu.wire.wireshark import tshark_options
from mininet_topos.dmm import CMD_ADDRESS, cn_address, maar_address

pytestmark = pytest.mark.e2e

DLIFS = {dlif_link_local(dlif_mac(i)): dlif_mac(i) for i in (1, 2)}


@pytest.fixture(scope="module")
def moved(tmp_path_factory):
    """The MN after the move, as ``ip`` shows it and as pings find it."""
    sc = Scenario("proxy", tmp_path_factory.mktemp("dlif"), maars=2)
    sc.domain_file.write_text(sc.domain_file.read_text() + "gateway: dlif\n")
    with sc:
        sc.start()
        step = sc.handover("maar1", "maar2", radio="flap")
        seen = {"routes": sc.mn.cmd("ip -6 route show default"),
                "neigh": sc.mn.cmd("ip -6 neigh show"),
                "uplink": {entry["address"]: " 0% packet loss" in sc.mn.cmd(
                    f"ping -6 -c2 -i0.2 -W1 -I {entry['address']} {cn_address(1)}")
                    for entry in global_addresses(sc.mn).values()}}
        sc.leave(lifetime_wait=30)
    (sc.out / "mn-routers.txt").write_text(seen["routes"] + "\n" + seen["neigh"])
    return sc.run, step, seen


def test_the_mn_has_one_default_router_per_anchor(moved):
    _, _, seen = moved
    routers = set(map(IPv6Address, re.findall(r"via (fe80::[0-9a-f:]+)", seen["routes"])))
    assert routers == set(DLIFS), seen["routes"]


def test_each_router_has_its_dlifs_mac(moved):
    _, _, seen = moved
    found = {IPv6Address(ll): mac for ll, mac in
             re.findall(r"(fe80::[0-9a-f:]+) dev \S+ lladdr ([0-9a-f:]+) router", seen["neigh"])}
    assert found == DLIFS, seen["neigh"]


def test_both_prefixes_reach_the_cn_both_ways(moved):
    run, step, seen = moved
    assert len(step.reachable) == 2 and all(step.reachable.values()), step
    assert len(seen["uplink"]) == 2 and all(seen["uplink"].values()), seen["uplink"]
    assert [step.flows_alive.get(p) for p in run.flows_started] == [True, True]


def test_the_run_is_clean(moved):
    run, _, _ = moved
    assert report.problems(run) == []
    assert run.left_clean == {"binding_removed": True, "leftovers": {}, "stale_rules": {}}



@pytest.mark.skipif(shutil.which("tshark") is None, reason="needs tshark")
def test_maar1s_dlif_is_signalled_as_wireshark_reads_it(moved):
    """Options 69/70 from the P-MAAR to the CMD and from the CMD to the
    S-MAAR, decoded by tshark with the project's Lua dissector."""
    run, _, _ = moved
    fields = ("ipv6.src", "ipv6.dst", "dmm.dlif_link_local.address",
              "dmm.dlif_link_layer.address")
    out = subprocess.run(["tshark", *tshark_options(), "-r", str(run.out / "signalling.pcap"),
                          "-Y", "dmm.dlif_link_local.address", "-T", "fields",
                          *(arg for f in fields for arg in ("-e", f))],
                         capture_output=True, text=True, check=True, timeout=120)
    dlif = (str(dlif_link_local(dlif_mac(1))), dlif_mac(1))
    assert {tuple(line.split("\t")) for line in out.stdout.splitlines()} == {
        (maar_address(1), CMD_ADDRESS, *dlif), (CMD_ADDRESS, maar_address(2), *dlif)}
