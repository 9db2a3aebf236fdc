"""Signalling through a real netdev OVS bridge and a real manager, no Mininet.

maar1's switch is a real bridge whose transport port is a veth into a
network namespace of ours; from there we play MAAR2's transport side: a PBU
sent on the wire is punted by OVS to the CMD logic (beside maar1), and the
PBA must come back on the same wire, decodable and accepted.
"""
import subprocess
import sys
import textwrap
import time
from ipaddress import IPv6Network

import pytest

from dmm_ryu.wire.inet import ethernet
from dmm_ryu.wire.mh import (DMM_PBU_FLAGS, AccessTechnology, HandoffIndicator, MobilityOptions,
                        ProxyBindingUpdate, decode_packet, encode_packet,
                        timestamp_from_unix)
from dmm_ryu.of.labels import transport_mac
from dmm_ryu.testbed.controller import RUNTIMES, free_port, running_manager
from dmm_ryu.testbed.ovs import dump_flows, netdev_bridge, unique_name, vsctl, wait_for

pytestmark = pytest.mark.integration

DPID = 0xD3310
DOMAIN = f"""
mode: proxy
maars:
  maar1: {{dpid: {DPID}, address: "2001:db8:ffff::1", pool: "2001:db8:1::/48",
          access_ports: [2], transport_ports: [1]}}
  maar2: {{dpid: {DPID + 1}, address: "2001:db8:ffff::2", pool: "2001:db8:2::/48",
          access_ports: [2], transport_ports: [1]}}
cmd: {{address: "2001:db8:ffff::100", maar: maar1, port: 1}}
"""

EXCHANGE = textwrap.dedent("""
    import socket, sys, time
    frame = bytes.fromhex(sys.argv[2])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86DD))
    s.bind((sys.argv[1], 0))
    s.settimeout(0.5)
    deadline = time.time() + 10
    while time.time() < deadline:
        s.send(frame)
        try:
            while True:
                got = s.recv(2048)
                if got[20] == 135 and got[22:38] != frame[22:38]:  # MH, not our own
                    print(got.hex()); sys.exit(0)
        except socket.timeout:
            continue
    sys.exit(1)
""")


@pytest.fixture
def wire():
    """A veth pair: one end for the bridge, the other in our namespace."""
    ns, host_end, ns_end = unique_name("dmmns"), unique_name("dmmv"), unique_name("dmmp")
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "link", "add", host_end, "type", "veth", "peer", "name", ns_end,
                        "netns", ns], check=True)
        subprocess.run(["ip", "link", "set", host_end, "up"], check=True)
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", ns_end, "up"], check=True)
        yield ns, host_end, ns_end
    finally:
        subprocess.run(["ip", "link", "del", host_end], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def pbu_frame():
    options = MobilityOptions(mn_id="mn9@dmm.example", hnps=(IPv6Network("2001:db8:2::/64"),),
                              handoff=HandoffIndicator.UNKNOWN,
                              access_tech=AccessTechnology.IEEE_802_11,
                              timestamp=timestamp_from_unix(time.time()))
    pbu = ProxyBindingUpdate(77, 40, options, flags=DMM_PBU_FLAGS)  # a DMM PBU: A, H, P, D
    return pbu, ethernet(transport_mac(DPID), transport_mac(DPID + 1),
                         encode_packet(pbu, "2001:db8:ffff::2", "2001:db8:ffff::100"))


@pytest.mark.parametrize("runtime", RUNTIMES, ids=str)
def test_pbu_on_the_wire_reaches_the_cmd_and_its_pba_comes_back(runtime, wire, tmp_path):
    ns, host_end, ns_end = wire
    domain = tmp_path / "dmm.yaml"
    domain.write_text(DOMAIN)
    port = free_port()
    with running_manager(runtime, domain, tmp_path, port) as log, \
            netdev_bridge(unique_name("dmmb"), DPID, f"tcp:127.0.0.1:{port}") as br:
        vsctl("add-port", br, host_end, "--", "set", "interface", host_end, "ofport_request=1")
        assert wait_for(lambda: "MAAR maar1" in log.read_text() and "joined" in log.read_text())
        flows = wait_for(lambda: "ipv6_dst=2001:db8:ffff::100,nw_proto=135" in dump_flows(br))
        assert flows, dump_flows(br)
        pbu, frame = pbu_frame()
        done = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", EXCHANGE, ns_end,
                               frame.hex()], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, log.read_text()
        reply = bytes.fromhex(done.stdout.strip())
        src, dst, pba = decode_packet(reply[14:])
        assert (str(src), str(dst)) == ("2001:db8:ffff::100", "2001:db8:ffff::2")
        assert reply[6:12] == bytes.fromhex(transport_mac(DPID).replace(":", ""))
        assert (type(pba).__name__, pba.status, pba.sequence) == ("ProxyBindingAck", 0, 77)
        assert pba.options.mn_id == "mn9@dmm.example"
        assert "cmd rx PBU 2001:db8:ffff::2 -> 2001:db8:ffff::100" in log.read_text()
