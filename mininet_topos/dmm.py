"""The draft's testbed as a Mininet topology: MAARs, transport, CMD, router, CNs, MNs.

::

        cn1 ── inet (IPv6 router) ──┐   ┌── cmd (the CMD's switch)
                                    │   │ transport L2 fabric (t0, standalone OVS)
            ┌───────────────┬───────┴───────┬───────────────┐
          maar1           maar2           maar3    ...  (OpenFlow 1.3, netdev)
            │ access ports 2..
         radio1 (the MN's radio link: one uplink per MAAR, one of them live)
            │
           mn1 (moves between MAARs' access ports)

Every MAAR and the fabric are Open vSwitch bridges in the user-space datapath
(``datapath_type=netdev``): the kernel module is not available here.  MAAR
port 1 faces the transport fabric, ports 2.. are access ports (one per MN so
any MN can attach anywhere).  The router routes each MAAR's prefix pool to
that MAAR's transport address, as the draft's "Internet" does.

Each MN reaches its MAAR through its own ``Radio``: a bridge with one uplink
per MAAR, each plugged at build time into that MAAR's access port for the MN
(the same port number everywhere).  Only the uplink of the MAAR the MN is at
is in the bridge and up; the MAARs elsewhere see the MN's port present with
its link down.  A handover swaps which uplink is in and up, so it can keep
the MN's carrier up (an 802.11 reassociation) or drop it (a link flap); see
``dmm_ryu.testbed.network.move``.

Use from Python (``DmmTopo``, ``domain_yaml``) or from the command line::

    mn --custom mininet_topos/dmm.py --topo dmm,maars=3,mns=1 \\
       --switch ovs,datapath=user,protocols=OpenFlow13 \\
       --controller remote,ip=127.0.0.1,port=6653
"""
from __future__ import annotations

from mininet.node import Node, OVSSwitch
from mininet.topo import Topo

TRANSPORT_NET = "2001:db8:ffff::"
CMD_ADDRESS = "2001:db8:ffff::100"
ROUTER_TRANSPORT = "2001:db8:ffff::fe"
ROUTER_MAC = "0e:00:00:00:ff:fe"  # the domain file's upstream_mac
CN_NET = "2001:db8:c::"
TRANSPORT_PORT = 1
CMD_DPID = 0x100  # the CMD's own switch, so its signalling crosses a link too


def maar_address(i: int) -> str:
    """Transport (global) address of MAAR ``i``."""
    return f"{TRANSPORT_NET}{i:x}"


def maar_pool(i: int) -> str:
    """The exclusive prefix pool of MAAR ``i``."""
    return f"2001:db8:{i:x}::/48"


def cn_address(j: int) -> str:
    """Address of correspondent node ``j`` behind the router."""
    return f"{CN_NET}{0x10 + j:x}"


def access_port(mn_index: int) -> int:
    """The access port MN number ``mn_index`` (1-based) uses on any MAAR."""
    return TRANSPORT_PORT + mn_index


class FabricSwitch(OVSSwitch):
    """The transport fabric: a plain L2 learning switch with no controller,
    as transit equipment that knows nothing about MNs."""

    def start(self, controllers):
        super().start([])


def mn_mac(k: int) -> str:
    """MAC of MN number ``k`` (never the MAARs' shared gateway MAC)."""
    return "0a:00:00:00:%02x:%02x" % (k >> 8, k & 255)


def radio_name(k: int) -> str:
    """The radio node of MN number ``k``."""
    return f"radio{k}"


def radio_uplink(k: int, i: int) -> str:
    """The uplink of MN ``k``'s radio plugged into maar ``i`` (link order:
    eth0 faces the MN, eth<i> maar<i>)."""
    return f"{radio_name(k)}-eth{i}"


class Radio(Node):
    """An MN's radio link as an L2 element of its own: a Linux bridge, in
    its own namespace, between the MN (``radio<k>-eth0``) and one uplink
    per MAAR (``radio<k>-eth<i>`` into maar<i>'s access port).  Only the
    uplink to where the MN is (maar1 at start) is in the bridge and up: an
    access point the MN is associated with.  Swapping the uplink while the
    MN's side stays up is what an 802.11 reassociation inside one ESS looks
    like to a host: its carrier never drops.  The element is transparent:
    no addresses, IPv6 off before any interface exists (so it never sends a
    frame of its own into a MAAR), no learning, no STP, no MLD snooping."""

    BRIDGE = "air"

    def __init__(self, name, **params):
        super().__init__(name, **params)
        self.cmd("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
                 "net.ipv6.conf.default.disable_ipv6=1")

    def config(self, **params):
        result = super().config(**params)
        self.cmd(f"ip link add {self.BRIDGE} type bridge stp_state 0 forward_delay 0 "
                 "ageing_time 0 mcast_snooping 0")
        first = {f"{self.name}-eth0", f"{self.name}-eth1"}
        for intf in self.intfList():
            if str(intf) in first:
                self.cmd(f"ip link set {intf} master {self.BRIDGE} up")
            elif str(intf) != "lo":
                self.cmd(f"ip link set {intf} down")
        self.cmd(f"ip link set {self.BRIDGE} up")
        return result


class NodeSwitch(OVSSwitch):
    """A MAAR's or the CMD's switch, connected to the controllers named in
    its ``controllers`` parameter only (all of the network's by default):
    per-node controller processes, or two CMD instances for one switch."""

    def start(self, controllers):
        wanted = self.params.get("controllers")
        super().start([c for c in controllers if wanted is None or c.name in wanted])


class DmmTopo(Topo):
    """``maars`` MAAR switches on one transport fabric, ``mns`` MNs on maar1.

    ``owners`` ({switch name: [controller name, ...]}) points switches at
    their own controllers; a switch it does not name uses every controller.
    """

    def build(self, maars: int = 3, mns: int = 1, cns: int = 1, delay: str = None,
              loss: float = None, owners: dict = None):
        link_opts = {k: v for k, v in (("delay", delay), ("loss", loss)) if v}
        owners = owners or {}
        fabric = self.addSwitch("t0", dpid="%016x" % 0xFF00, failMode="standalone",
                                cls=FabricSwitch, datapath="user")
        for i in range(1, maars + 1):
            maar = self.addSwitch(f"maar{i}", dpid="%016x" % i, protocols="OpenFlow13",
                                  cls=NodeSwitch, datapath="user", failMode="secure",
                                  controllers=owners.get(f"maar{i}"))
            self.addLink(maar, fabric, port1=TRANSPORT_PORT, **link_opts)
        cmd = self.addSwitch("cmd", dpid="%016x" % CMD_DPID, protocols="OpenFlow13",
                             cls=NodeSwitch, datapath="user", failMode="secure",
                             controllers=owners.get("cmd"))
        self.addLink(cmd, fabric, port1=TRANSPORT_PORT)
        router = self.addHost("inet", ip=None)
        self.addLink(router, fabric, addr1=ROUTER_MAC)
        for j in range(1, cns + 1):
            self.addLink(self.addHost(f"cn{j}", ip=None), router)
        for k in range(1, mns + 1):
            mn = self.addHost(f"mn{k}", ip=None, mac=mn_mac(k))
            radio = self.addHost(radio_name(k), cls=Radio, ip=None)
            self.addLink(mn, radio)
            for i in range(1, maars + 1):
                self.addLink(radio, f"maar{i}", port2=access_port(k))


def domain_yaml(maars: int, mns: int, mode: str = "proxy", lifetime: int = 60) -> str:
    """The domain file matching ``DmmTopo(maars, mns)``."""
    access = [access_port(k) for k in range(1, mns + 1)]
    lines = [f"mode: {mode}", f'upstream_mac: "{ROUTER_MAC}"']
    if mode == "pmipv6":
        lines.append("lma: maar1")
    lines += [f"timers: {{lifetime: {lifetime}}}", "maars:"]
    for i in range(1, maars + 1):
        lines += [
            f"  maar{i}:",
            f"    dpid: {i}",
            f'    address: "{maar_address(i)}"',
            f'    pool: "{maar_pool(i)}"',
            f"    access_ports: {access}",
            f"    transport_ports: [{TRANSPORT_PORT}]",
        ]
    lines.append(f'cmd: {{address: "{CMD_ADDRESS}", dpid: {CMD_DPID}, port: {TRANSPORT_PORT}}}')
    return "\n".join(lines) + "\n"


topos = {"dmm": DmmTopo}
