"""The Mininet side of the testbed: start the topology, address the router
and CNs, move MNs between MAARs as a radio roam or a link flap, and always
clean up.

MNs are left alone: an unmodified Linux stack that autoconfigures from the
controller's Router Advertisements.  Only the router and the CNs, which are
outside the mobility domain, get static addresses here.
"""
from __future__ import annotations

import contextlib
import re
import subprocess
from typing import Dict, List, Optional, Tuple

from mininet.link import TCLink
from mininet.log import setLogLevel
from mininet.net import Mininet
from mininet.node import OVSSwitch, RemoteController

from mininet_topos.dmm import (ROUTER_TRANSPORT, TRANSPORT_PORT, DmmTopo, Radio, cn_address,
                               maar_address, maar_pool, radio_name, radio_uplink)


def _configure_router(net: Mininet, maars: int, cns: int) -> None:
    """The 'Internet': routes each MAAR's pool to that MAAR (draft Figure 1)."""
    router = net.get("inet")
    router.cmd("sysctl -qw net.ipv6.conf.all.forwarding=1")
    router.cmd(f"ip -6 addr add {ROUTER_TRANSPORT}/64 dev inet-eth0 nodad")
    for j in range(1, cns + 1):
        router.cmd(f"ip -6 addr add 2001:db8:c::1/64 dev inet-eth{j} nodad")
        cn = net.get(f"cn{j}")
        cn.cmd(f"ip -6 addr add {cn_address(j)}/64 dev cn{j}-eth0 nodad")
        cn.cmd("ip -6 route add default via 2001:db8:c::1")
    for i in range(1, maars + 1):
        router.cmd(f"ip -6 route add {maar_pool(i)} via {maar_address(i)} dev inet-eth0")


class ManagedController(RemoteController):
    """Our manager process, already known to listen (``running_manager``
    waited for it).  Mininet's own probe pipes telnet output through a
    UTF-8 decoder, which chokes on the OpenFlow HELLO it reads back."""

    def checkListening(self):
        return None


def _no_offloads(net: Mininet) -> None:
    """veth hands packets to the user-space datapath as the kernel built
    them: with the TCP/UDP checksum left for a NIC to fill in (the receiver
    drops the segment) and, once a TCP window opens, as 64 KB GSO/GRO
    super-packets that OVS cannot take (the flow stalls).  Hosts therefore
    checksum and segment in software: an interface setting of the
    emulation, not of the MN's IP stack."""
    for host in net.hosts:
        for intf in host.intfList():
            if str(intf) != "lo":
                host.cmd(f"ethtool -K {intf} tx off sg off tso off gso off gro off "
                         ">/dev/null 2>&1")


#: The fabric carries MPLS-labelled (+4 octets) full-size IPv6 packets, as
#: any MPLS transport does ("baby giant" frames).
TRANSPORT_MTU = 1600


def _transport_mtu(net: Mininet, fabric: str = "t0") -> None:
    """Raise the MTU of every fabric link, both ends (OVS ports too)."""
    for intf in net.get(fabric).intfList():
        if str(intf) == "lo" or not intf.link:
            continue
        for end in (intf.link.intf1, intf.link.intf2):
            end.node.cmd(f"ip link set {end} mtu {TRANSPORT_MTU}")
            if end.node.name != "inet":
                end.node.cmd(f"ovs-vsctl set interface {end} mtu_request={TRANSPORT_MTU}")


def _controller_plan(controllers) -> Tuple[Dict[str, int], Dict[str, List[str]]]:
    """``controllers``: one OpenFlow port for every switch, or {switch name:
    port or [ports]} -> ({controller name: port}, {switch: [controller names]})."""
    if isinstance(controllers, int):
        return {"c0": controllers}, {}
    ports, owners = {}, {}
    for switch, wanted in controllers.items():
        for port in [wanted] if isinstance(wanted, int) else wanted:
            ports[f"c{port}"] = port
            owners.setdefault(switch, []).append(f"c{port}")
    return ports, owners


@contextlib.contextmanager
def testbed(controllers, maars: int = 3, mns: int = 1, cns: int = 1, **link):
    """A started Mininet testbed; stopped and cleaned even on failure.

    ``controllers``: the OpenFlow port of the one controller every switch
    connects to, or {switch name: port or [ports]} for per-node controllers
    (``dmm_ryu.testbed.controller.running_managers``).
    MNs start with their link down: ``attach`` brings them into the domain.
    """
    setLogLevel("warning")
    ports, owners = _controller_plan(controllers)
    net = Mininet(topo=DmmTopo(maars=maars, mns=mns, cns=cns, owners=owners, **link),
                  switch=OVSSwitch, link=TCLink, controller=None, autoSetMacs=False, build=False)
    if subprocess.run(["ovs-vsctl", "br-exists", "t0"]).returncode == 0:
        subprocess.run(["mn", "-c"], capture_output=True)  # a killed run left its testbed
    for name, port in ports.items():
        net.addController(ManagedController(name, ip="127.0.0.1", port=port))
    try:
        net.build()
        for host in net.hosts:  # MNs arrive later, as the scenario decides
            if host.name.startswith("mn"):
                host.cmd(f"ip link set {host.defaultIntf()} down")
        net.start()
        _no_offloads(net)
        _transport_mtu(net)
        _configure_router(net, maars, cns)
        yield net
    finally:
        net.stop()
        subprocess.run(["mn", "-c"], capture_output=True)


#: How a handover looks to the MN (see ``move``).
RADIO_MODELS = ("roam", "flap")


def _radio_cmd(net: Mininet, mn_index: int, steps: List[str]) -> None:
    """``ip`` link steps in the radio's namespace, one process for all."""
    script = "\\n".join(steps)
    net.get(radio_name(mn_index)).cmd(f"printf '{script}\\n' | ip -batch -")


def _live_uplink(net: Mininet, mn_index: int) -> str:
    """The MAAR whose uplink is in the MN's radio bridge (where it is)."""
    listed = net.get(radio_name(mn_index)).cmd(f"ip -o link show master {Radio.BRIDGE}")
    found = [i for i in re.findall(rf"{radio_name(mn_index)}-eth(\d+)", listed) if i != "0"]
    if not found:
        raise LookupError(f"{radio_name(mn_index)} has no uplink in its bridge")
    return f"maar{found[0]}"


def _uplink_at(mn_index: int, maar: str) -> str:
    """The radio's uplink into ``maar`` (named maar<i>)."""
    return radio_uplink(mn_index, int(maar[len("maar"):]))


def _swap(mn_index: int, src: str, dst: str) -> List[str]:
    """The steps of a reassociation from ``src`` to ``dst``: the old uplink
    leaves the bridge and goes down (src's port: link down), the new one
    joins and comes up (dst's port: link up).  Break before make."""
    old, new = _uplink_at(mn_index, src), _uplink_at(mn_index, dst)
    return [f"link set {old} down", f"link set {old} nomaster",
            f"link set {new} master {Radio.BRIDGE}", f"link set {new} up"]


def attach(net: Mininet, mn_index: int, at: Optional[str] = None) -> None:
    """The MN's radio link comes up at MAAR ``at`` (default: the MAAR its
    radio was last associated with, maar1 at start)."""
    where = _live_uplink(net, mn_index)
    steps = _swap(mn_index, where, at) if at and at != where else []
    _radio_cmd(net, mn_index, steps + [f"link set {_uplink_at(mn_index, at or where)} up"])
    mn = net.get(f"mn{mn_index}")
    mn.cmd(f"ip link set {mn.defaultIntf()} up")


def move(net: Mininet, mn_index: int, src: str, dst: str, radio: str = "flap") -> None:
    """Handover of MN ``mn_index`` from MAAR ``src`` to MAAR ``dst``.

    Either way the radio reassociates: the uplink plugged into ``src``'s
    access port leaves the radio's bridge and goes down (OpenFlow: port
    status, link down) and the one plugged into ``dst``'s port for this MN
    joins it and comes up (link up).  Every uplink is plugged in from the
    start, so this is a few ms of ``ip link`` in the radio's namespace, as
    an AP-to-AP reassociation looks to the network.  What the MN sees is
    the radio model:

    * ``roam``: an 802.11 reassociation inside one ESS.  The MN's own
      interface keeps its carrier throughout: its kernel notices nothing
      (no DAD rerun, no RS); only its frames now enter ``dst``.
    * ``flap``: an inter-technology move.  The MN's interface goes down and
      up too, so its kernel reruns DAD and sends a fresh RS.
    """
    if radio not in RADIO_MODELS:
        raise ValueError(f"radio model {radio!r} is not one of {', '.join(RADIO_MODELS)}")
    where = _live_uplink(net, mn_index)
    if where != src:
        raise ValueError(f"mn{mn_index}'s radio is at {where}, not {src}")
    mn = net.get(f"mn{mn_index}")
    if radio == "flap":
        mn.cmd(f"ip link set {mn.defaultIntf()} down")
    _radio_cmd(net, mn_index, _swap(mn_index, src, dst))
    if radio == "flap":
        mn.cmd(f"ip link set {mn.defaultIntf()} up")


def leave(net: Mininet, mn_index: int) -> None:
    """The MN leaves radio range: its link and its radio's live uplink go
    down (that MAAR sees its access link down)."""
    mn = net.get(f"mn{mn_index}")
    mn.cmd(f"ip link set {mn.defaultIntf()} down")
    where = _live_uplink(net, mn_index)
    _radio_cmd(net, mn_index, [f"link set {_uplink_at(mn_index, where)} down"])


__all__ = ["testbed", "attach", "move", "leave", "RADIO_MODELS", "TRANSPORT_PORT"]
