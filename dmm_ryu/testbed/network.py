"""The Mininet side of the testbed: start the topology, address the router
and CNs, move MNs between MAARs like a radio handover, and always clean up.

MNs are left alone: an unmodified Linux stack that autoconfigures from the
controller's Router Advertisements.  Only the router and the CNs, which are
outside the mobility domain, get static addresses here.
"""
from __future__ import annotations

import contextlib
import subprocess

from mininet.link import TCLink
from mininet.log import setLogLevel
from mininet.net import Mininet
from mininet.node import OVSSwitch, RemoteController

from mininet_topos.dmm import (ROUTER_TRANSPORT, TRANSPORT_PORT, DmmTopo, access_port,
                               cn_address, maar_address, maar_pool)


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


@contextlib.contextmanager
def testbed(controller_port: int, maars: int = 3, mns: int = 1, cns: int = 1, **link):
    """A started Mininet testbed; stopped and cleaned even on failure.

    MNs start with their link down: ``attach`` brings them into the domain.
    """
    setLogLevel("warning")
    net = Mininet(topo=DmmTopo(maars=maars, mns=mns, cns=cns, **link), switch=OVSSwitch,
                  link=TCLink, controller=None, autoSetMacs=False, build=False)
    if subprocess.run(["ovs-vsctl", "br-exists", "t0"]).returncode == 0:
        subprocess.run(["mn", "-c"], capture_output=True)  # a killed run left its testbed
    net.addController(ManagedController("c0", ip="127.0.0.1", port=controller_port))
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


def attach(net: Mininet, mn_index: int) -> None:
    """The MN's radio link comes up at the MAAR it is plugged into."""
    mn = net.get(f"mn{mn_index}")
    mn.cmd(f"ip link set {mn.defaultIntf()} up")


def move(net: Mininet, mn_index: int, src: str, dst: str) -> None:
    """Radio handover: the MN's link goes down at ``src`` and up at ``dst``.

    The switch side of the MN's veth is re-plugged into ``dst`` on the same
    access port number; the MN's own interface goes down and up so its kernel
    sends a fresh Router Solicitation, as after a real re-association.
    """
    mn = net.get(f"mn{mn_index}")
    intf = mn.defaultIntf()
    peer = intf.link.intf2 if intf.link.intf1 is intf else intf.link.intf1
    mn.cmd(f"ip link set {intf} down")
    net.get(src).cmd(f"ovs-vsctl del-port {src} {peer}")
    net.get(dst).cmd(
        f"ovs-vsctl add-port {dst} {peer} -- set interface {peer} "
        f"ofport_request={access_port(mn_index)}"
    )
    mn.cmd(f"ip link set {intf} up")


__all__ = ["testbed", "attach", "move", "TRANSPORT_PORT"]
