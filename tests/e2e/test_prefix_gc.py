"""Prefix garbage collection (issue 16) on real OVS + Mininet, proxy mode,
``timers.prefix_idle: 3`` and a 12 s lifetime.  The MN moves maar1 ->
maar2, a ping from its old (anchored) prefix runs a few seconds through
the tunnel and stops.  Within prefix_idle + the drain's valid lifetime
(the binding lifetime, 12 s) + one poll: maar1 holds no rule, tunnel or
pool entry for the MN, the CMD's binding lists only the local prefix,
the stock Linux MN dropped the old address by itself (RFC 4862 valid
lifetime), and a 20 ms ping from the local prefix lost nothing.  The
release is signalled on the wire, as tshark with the project's Lua
dissector reads it: the S-MAAR's lifetime-0 PBU naming the old prefix, the
CMD's PBA, the CMD's lifetime-0 PBU to the P-MAAR and its PBA."""
import json
import re
import time

import pytest

from dmm_ryu.runtime.traffic import poll_interval
from dmm_ryu.testbed import figures, report
from dmm_ryu.testbed.ovs import dump_flows, wait_for
from dmm_ryu.testbed.scenario import Scenario, global_addresses, mn_id, rest_get
from mininet_topos.dmm import cn_address

pytestmark = pytest.mark.e2e

IDLE, LIFETIME = 3, 12
OLD, LOCAL = "2001:db8:1::/64", "2001:db8:2::/64"
TUNNEL_COOKIE = re.compile(r"cookie=0xd303")
SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) received")


class GcScenario(Scenario):
    """The handover scenario with prefix GC on and no long-lived flows of
    its own (they would keep the old prefix busy): the test runs its pings."""

    def __init__(self, out):
        super().__init__("proxy", out, lifetime=LIFETIME)
        text = self.domain_file.read_text()
        self.domain_file.write_text(text.replace(f"timers: {{lifetime: {LIFETIME}}}",
                                                 f"timers: {{lifetime: {LIFETIME}, "
                                                 f"prefix_idle: {IDLE}}}"))

    def _start_flow(self, prefix) -> None:
        self.run.flows_started.pop(str(prefix), None)


def address_in(mn, prefix: str):
    entry = next((e for net, e in global_addresses(mn).items() if str(net) == prefix), None)
    return None if entry is None else entry["address"]


def binding_prefixes(sc) -> list:
    bce = rest_get(sc.rest_port, f"/cmd/bindings/{mn_id()}") or {"prefixes": []}
    return sorted(p["prefix"] for p in bce["prefixes"])


@pytest.fixture(scope="module")
def gc(tmp_path_factory):
    out = tmp_path_factory.mktemp("prefix_gc")
    with GcScenario(out) as sc:
        sc.start()
        sc.handover("maar1", "maar2")  # a flap: the MN solicits (no flow here would show a roam)
        old, local = address_in(sc.mn, OLD), address_in(sc.mn, LOCAL)
        local_log = out / "local-ping.log"
        budget = int(IDLE + LIFETIME + poll_interval(IDLE) + 8)
        local_ping = sc._spawn(sc.mn, ["ping", "-6", "-i", "0.02", "-w", str(budget + 5),
                                       "-I", local, cn_address(1)], local_log)
        old_ping = sc.mn.cmd(f"ping -6 -c 20 -i 0.1 -W 1 -I {old} {cn_address(1)}")
        stopped = time.time()
        before = {"maar1": rest_get(sc.rest_of("maar1"), "/maars/maar1"),
                  "flows": dump_flows("maar1")}
        released = wait_for(lambda: binding_prefixes(sc) == [LOCAL], timeout=budget,
                            interval=0.2)
        released_after = time.time() - stopped if released else None
        gone = wait_for(lambda: address_in(sc.mn, OLD) is None, timeout=5, interval=0.2)
        local_ping.wait(timeout=budget + 15)
        sc.captures.stop()
        wire = figures.tshark_signalling(out / "signalling.pcap", report._node)
        (out / "prefix_gc.json").write_text(json.dumps({"released_after_s": released_after}))
        yield {"old_ping": old_ping, "before": before, "released_after": released_after,
               "address_gone": bool(gone), "local_ping": local_log.read_text(),
               "maar1": rest_get(sc.rest_of("maar1"), "/maars/maar1"),
               "maar2": rest_get(sc.rest_of("maar2"), "/maars/maar2"),
               "flows": {b: dump_flows(b) for b in ("maar1", "maar2")},
               "binding": binding_prefixes(sc),
               "release": [m for m in wire if m["t"] >= stopped and m["lifetime"] == 0]}


def test_the_old_prefix_carried_traffic_through_its_tunnel_before(gc):
    assert " 0% packet loss" in gc["old_ping"], gc["old_ping"]
    assert gc["before"]["maar1"]["pool_used"] == 1 and gc["before"]["maar1"]["tunnels"]
    assert TUNNEL_COOKIE.search(gc["before"]["flows"])


def test_the_binding_drops_the_old_prefix_within_idle_plus_lifetime(gc):
    assert gc["binding"] == [LOCAL]
    assert gc["released_after"] is not None
    assert IDLE + LIFETIME - 1 <= gc["released_after"] <= IDLE + LIFETIME + poll_interval(IDLE) + 3


def test_the_p_maar_holds_no_rule_tunnel_or_pool_entry(gc):
    maar1 = gc["maar1"]
    assert (maar1["pool_used"], maar1["bindings"], maar1["tunnels"]) == (0, 0, [])
    assert not TUNNEL_COOKIE.search(gc["flows"]["maar1"]), gc["flows"]["maar1"]
    assert not TUNNEL_COOKIE.search(gc["flows"]["maar2"]), gc["flows"]["maar2"]
    assert gc["maar2"]["tunnels"] == []


def test_the_stock_mn_dropped_the_old_address_by_its_lifetime(gc):
    assert gc["address_gone"]


def test_the_local_prefix_never_lost_a_packet(gc):
    transmitted, received = map(int, SUMMARY.search(gc["local_ping"]).groups())
    assert transmitted > 500 and received == transmitted, gc["local_ping"][-300:]


def test_the_release_is_signalled_by_pbu_and_pba_on_the_wire(gc):
    """S-MAAR -> CMD first (only it may end a prefix's session, draft 3.5);
    the P-MAAR answers the CMD's de-registration; nothing else has lifetime 0."""
    flow = [(m["from"], m["to"], m["type"]) for m in gc["release"]]
    assert sorted(flow) == sorted([("maar2", "cmd", "PBU"), ("cmd", "maar2", "PBA"),
                                   ("cmd", "maar1", "PBU"), ("maar1", "cmd", "PBA")]), flow
    assert flow[0] == ("maar2", "cmd", "PBU")
    assert flow.index(("cmd", "maar1", "PBU")) < flow.index(("maar1", "cmd", "PBA"))
    assert all(m["status"] in (None, 0) and not m["malformed"] for m in gc["release"])
