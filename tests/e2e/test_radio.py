"""The testbed's radio models on real OVS + Mininet, without a controller:
what the MN's kernel sees and what the MAARs see when ``move()`` roams or
flaps.  (Whether the controller notices a roam is the handover tests' job.)
"""
import re
import subprocess
import time

import pytest

from dmm_ryu.testbed.controller import free_port
from dmm_ryu.testbed import network as tb
from dmm_ryu.testbed.network import attach, leave, move
from dmm_ryu.testbed.ovs import wait_for
from mininet_topos.dmm import access_port

pytestmark = pytest.mark.e2e

PORT = access_port(1)


@pytest.fixture(scope="module")
def net():
    with tb.testbed(free_port(), maars=3) as net:  # no controller: nothing answers
        attach(net, 1)
        mn = net.get("mn1")
        assert wait_for(lambda: "tentative" not in mn.cmd("ip -6 -o addr show dev mn1-eth0"),
                        timeout=10), "the MN's link-local address never left DAD"
        yield net


def carrier(net) -> tuple:
    """(carrier now, carrier transitions so far) of the MN's interface, read
    inside its namespace."""
    mn = net.get("mn1")
    now, changes = mn.cmd("cat /sys/class/net/mn1-eth0/carrier "
                          "/sys/class/net/mn1-eth0/carrier_changes").split()
    return now, int(changes)


def rx_packets(bridge: str) -> int:
    out = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "dump-ports", bridge, str(PORT)],
                         capture_output=True, text=True).stdout
    found = re.search(r"rx pkts=(\d+)", out)
    return int(found.group(1)) if found else -1


def link_state(bridge: str) -> str:
    """LIVE or LINK_DOWN: the MN's access port at ``bridge`` as OpenFlow shows it."""
    out = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "dump-ports-desc", bridge],
                         capture_output=True, text=True).stdout
    return re.search(rf" {PORT}\(.*?state:\s+(\S+)", out, re.S).group(1)


def port_status(text: str) -> list:
    """(reason, port, state) of each OFPT_PORT_STATUS ``ovs-ofctl monitor`` received."""
    found = []
    for chunk in text.split("received: OFPT_PORT_STATUS")[1:]:
        head = re.search(r"\): (ADD|DEL|MOD): (\d+)\(", chunk)
        state = re.search(r"state:\s+(\S+)", chunk)
        found.append((head.group(1), int(head.group(2)), state.group(1)))
    return found


def stays_and_ends(seen: list, state: str) -> bool:
    """The port was only modified (never deleted or added) and its last
    status is ``state`` (OVS may first report a config change)."""
    return bool(seen) and all(r == "MOD" for r, _ in seen) and seen[-1] == ("MOD", state)


class Watch:
    """What a move shows: the OpenFlow port-status messages of two MAARs
    (as a controller receives them) and the ICMPv6 the MN's kernel sends,
    recorded from a second before the move to ``SECONDS`` after it began."""

    SECONDS = 4

    def __init__(self, net, src: str, dst: str):
        # What ovs-ofctl prints on stdout is lost when --timeout ends it;
        # its (unbuffered) debug log of each message received is not.
        self.monitors = {b: subprocess.Popen(
            ["ovs-ofctl", "-vvconn:console:dbg", "-O", "OpenFlow13",
             f"--timeout={self.SECONDS}", "monitor", b, "65535"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for b in (src, dst)}
        self.sniff = net.get("mn1").popen(
            ["tcpdump", "-l", "-n", "-Q", "out", "-i", "mn1-eth0", "icmp6"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        time.sleep(1.0)

    def stop(self) -> dict:
        seen = {b: port_status(p.communicate(timeout=self.SECONDS + 5)[1])
                for b, p in self.monitors.items()}
        self.sniff.terminate()
        seen["mn"] = self.sniff.communicate()[0]
        return seen


def sends_from_mn(net, count: int = 5) -> None:
    """The MN's traffic (all-routers pings), as any application would send."""
    net.get("mn1").cmd(f"ping -6 -c {count} -i 0.1 -W 0.2 -I mn1-eth0 ff02::2")


def test_every_maar_has_the_mns_port_live_only_where_it_is(net):
    """Pre-plugged uplinks: the MN's access port exists at every MAAR, with
    its link up only at the MAAR the radio is associated with."""
    assert [link_state(f"maar{i}") for i in (1, 2, 3)] == ["LIVE", "LINK_DOWN", "LINK_DOWN"]


def test_roam_keeps_the_mn_carrier_and_moves_the_live_port(net):
    before = carrier(net)
    watch = Watch(net, "maar1", "maar2")
    move(net, 1, "maar1", "maar2", radio="roam")
    seen = watch.stop()
    assert carrier(net) == before and before[0] == "1", "the MN's carrier changed in a roam"
    old, new = ([(r, s) for r, p, s in seen[b] if p == PORT] for b in ("maar1", "maar2"))
    assert stays_and_ends(old, "LINK_DOWN"), seen  # the port stays, its link goes down
    assert stays_and_ends(new, "LIVE"), seen  # link up: the L2 trigger
    # (an RS may still be a retransmission of the one sent at attachment:
    # nobody answers here; DAD runs only after a link change.)
    assert "IP6 :: > " not in seen["mn"], "the MN reran DAD: " + seen["mn"]
    rx = {b: rx_packets(b) for b in ("maar1", "maar2")}
    sends_from_mn(net)
    assert rx_packets("maar2") >= rx["maar2"] + 5, "the MN's frames did not enter maar2"
    assert rx_packets("maar1") == rx["maar1"], "the MN's frames still enter maar1"


def test_flap_drops_the_mn_carrier_and_reruns_its_attachment(net):
    before = carrier(net)
    watch = Watch(net, "maar2", "maar3")
    move(net, 1, "maar2", "maar3", radio="flap")
    seen = watch.stop()
    now = carrier(net)
    assert now[0] == "1" and now[1] >= before[1] + 2, (before, now)
    old, new = ([(r, s) for r, p, s in seen[b] if p == PORT] for b in ("maar2", "maar3"))
    assert stays_and_ends(old, "LINK_DOWN") and stays_and_ends(new, "LIVE"), seen
    assert "IP6 :: > ff02::1:ff00:1: ICMP6, neighbor solicitation" in seen["mn"], seen["mn"]
    rx = rx_packets("maar3")
    sends_from_mn(net)
    assert rx_packets("maar3") >= rx + 5


def test_move_from_where_the_radio_is_not_is_refused(net):
    with pytest.raises(ValueError, match="at maar3, not maar1"):
        move(net, 1, "maar1", "maar2", radio="roam")


def test_leave_and_attach_elsewhere_bring_the_right_uplink_down_and_up(net):
    leave(net, 1)
    assert [link_state(f"maar{i}") for i in (1, 2, 3)] == ["LINK_DOWN"] * 3
    attach(net, 1, at="maar1")
    assert [link_state(f"maar{i}") for i in (1, 2, 3)] == ["LIVE", "LINK_DOWN", "LINK_DOWN"]
    assert carrier(net)[0] == "1"


def test_unknown_radio_model_is_refused(net):
    with pytest.raises(ValueError, match="roam, flap"):
        move(net, 1, "maar1", "maar2", radio="teleport")
