"""A whole mobility domain without OpenFlow connections: the runtime
(:class:`DmmController`) drives one fake flow table per switch, and its
packet-outs travel a fake L2 fabric to the switch owning their destination
MAC, whose table decides whether they are punted back as packet-ins.

So a test sees exactly what real switches would do with the app's own
FlowMods and packets: PBU/PBA cross the "wire", RAs come out of access
ports, and data packets can be pushed through the installed rules.

With ``tables=False`` the switches keep no flow tables: FlowMods are only
counted and every frame entering a switch is punted, as the installed punt
rules would do for signalling.  The load benchmark (benchmarks/loadgen.py)
runs that way, where applying each FlowMod would cost more than the
controller's own work it measures.
"""
from __future__ import annotations

import struct
from collections import deque
from ipaddress import IPv6Address
from typing import Dict, List, Optional, Tuple, Union

import yaml

from dmm_ryu.of import compat
from dmm_ryu.config.domainfile import parse
from dmm_ryu.runtime.controller import DmmController
from dmm_ryu.runtime.directory import NodeInfo
from dmm_ryu.testbed.fakeswitch import CONTROLLER, Fabric, FakeOFTable
from dmm_ryu.testbed.ofdecode import output_messages
from dmm_ryu.wire.inet import mac_text

OFP = compat.ofproto_v1_3
ROUTER_MAC = "0e:00:00:00:ff:fe"


def domain_text(mode: str = "proxy", maars: int = 3, extra: str = "") -> str:
    lines = [f"mode: {mode}", f'upstream_mac: "{ROUTER_MAC}"', "timers: {lifetime: 40}",
             "detach_guard: 2", "maars:"]
    for i in range(1, maars + 1):
        lines += [f"  maar{i}: {{dpid: {i}, address: '2001:db8:ffff::{i}', "
                  f"pool: '2001:db8:{i}::/48', access_ports: [2, 3], transport_ports: [1]}}"]
    lines.append("cmd: {address: '2001:db8:ffff::100', dpid: 256, port: 1}")
    if mode == "pmipv6":
        lines.append("lma: maar1")
    return "\n".join(lines) + "\n" + extra


def fields(frame: bytes) -> dict:
    """The header fields a fake table matches on, read from a frame; as a
    switch's parser does, a truncated frame yields only the fields it
    holds (an MN's malformed frame may be re-injected as it came)."""
    dst, src, eth_type = struct.unpack_from("!6s6sH", frame)
    pkt = {"eth_dst": ":".join(f"{b:02x}" for b in dst),
           "eth_src": ":".join(f"{b:02x}" for b in src), "eth_type": eth_type}
    if eth_type == 0x86DD and len(frame) >= 54:
        _, _, nh, hlim, s, d = struct.unpack_from("!IHBB16s16s", frame, 14)
        pkt.update(ipv6_src=str(IPv6Address(s)), ipv6_dst=str(IPv6Address(d)), ip_proto=nh,
                   hop_limit=hlim)
        if nh == 58 and len(frame) > 54:
            pkt["icmpv6_type"] = frame[54]
            if frame[54] in (135, 136) and len(frame) >= 78:
                pkt["ipv6_nd_target"] = str(IPv6Address(frame[62:78]))
    return pkt


def switch_wires(dmm: DmmController) -> Dict[int, NodeInfo]:
    """Per switch, the node owning it: its MAAR, or a CMD with a switch
    of its own (a CMD beside a MAAR shares that MAAR's switch)."""
    wires: Dict[int, NodeInfo] = {}
    for info in sorted(dmm.directory, key=lambda n: n.is_cmd):
        wires.setdefault(info.dpid, info)
    return wires


class FakeDomain:
    """The runtime plus fake switches; ``now`` is a virtual clock.

    ``domain`` is a domain file's text or its parsed YAML; ``tables``
    says whether the switches keep flow tables (see the module docstring);
    ``store_of(node)`` gives each node a store (see :meth:`restart`).
    """

    def __init__(self, domain: Union[str, dict], tables: bool = True, store_of=None) -> None:
        self.domain, self.store_of = domain, store_of
        self.now = 1_000_000.0
        self.dmm = self._controller()
        self.keeps_tables = tables
        self.flow_mods = 0
        self.fabric = Fabric()
        self.tables: Dict[int, FakeOFTable] = {}
        self.to_mns: List[Tuple[str, int, bytes]] = []
        self.wire: List[bytes] = []
        self.dropped_links: set = set()
        self.wires = switch_wires(self.dmm)
        self._dpid_of = {wire.name: dpid for dpid, wire in self.wires.items()}
        for dpid, wire in self.wires.items():
            self.tables[dpid] = FakeOFTable()
            self.fabric.add_switch(wire.name, self.tables[dpid], wire.mac, wire.signalling_ports)
        self.fabric.add_station("router", ROUTER_MAC)
        for dpid in self.wires:
            self.run(self.dmm.switch_connected(dpid))

    def _controller(self) -> DmmController:
        """A controller on the domain (and on ``store_of``'s stores, if any)."""
        domain = self.domain
        dmm = DmmController(parse(yaml.safe_load(domain) if isinstance(domain, str) else domain))
        if self.store_of is not None:
            dmm.attach_stores(self.store_of, self.now)
        return dmm

    def restart(self) -> None:
        """A new controller process on the same stores; the switches keep
        their tables (they forwarded meanwhile) and reconnect."""
        self.dmm = self._controller()
        for dpid in self.wires:
            self.run(self.dmm.switch_connected(dpid))

    def dpid(self, name: str) -> int:
        return self._dpid_of[name]

    def run(self, outputs) -> None:
        """Apply flow changes; carry packet-outs until the domain is quiet.
        Packed messages are decoded from their bytes (the fast path runs)."""
        queue = deque(outputs)
        while queue:
            out = queue.popleft()
            for msg in output_messages(out):
                kind = type(msg).__name__
                if kind == "OFPPacketOut":
                    queue += self._packet_out(out.dpid, msg)
                    continue
                if kind == "OFPFlowStatsRequest":
                    queue += self._flow_stats(out.dpid, msg)
                    continue
                self.flow_mods += kind != "ONFBundleCtrlMsg"
                if self.keeps_tables:
                    self.tables[out.dpid].apply([msg])

    def _packet_out(self, dpid: int, msg) -> list:
        wire = self.wires[dpid]
        port = msg.actions[0].port
        frame = bytes(msg.data)
        if port == OFP.OFPP_TABLE:
            return self._through(wire.name, msg.in_port, frame)
        if port not in wire.signalling_ports:
            self.to_mns.append((wire.name, port, frame))
            return []
        self.wire.append(frame)
        owner = self.fabric.owners.get(mac_text(frame[:6]))
        if owner not in self.fabric.switches or (wire.name, owner) in self.dropped_links:
            return []
        return self._through(owner, self.fabric.switches[owner][1][0], frame)

    def _flow_stats(self, dpid: int, msg) -> list:
        """The switch answers in one reply part (no table keeps none)."""
        entries = self.tables[dpid].flow_stats(msg.cookie, msg.cookie_mask)
        return self.dmm.flow_stats(dpid, entries, False, self.now)

    def _through(self, switch: str, in_port: int, frame: bytes) -> list:
        """A frame entering ``switch``: punts become packet-ins."""
        out = []
        for node in self._punted_at(switch, in_port, frame):
            out += self.dmm.packet_in(self.dpid(node), in_port, frame, self.now)
        return out

    def _punted_at(self, switch: str, in_port: int, frame: bytes) -> List[str]:
        """The switches that punt ``frame`` to the controller: as their
        tables decide, or, without tables, the one it enters."""
        if not self.keeps_tables:
            return [switch]
        return [d.node for d in self.fabric.inject(switch, in_port, fields(frame))
                if d.port == CONTROLLER]

    def inject(self, switch: str, port: int, frame: bytes) -> None:
        """A frame arriving from outside (an MN on an access port, the router)."""
        self.run(self._through(switch, port, frame))

    def advance(self, seconds: float) -> None:
        """Let virtual time pass, firing due timers."""
        self.now += seconds
        self.run(self.dmm.expire(self.now))

    def forward(self, switch: str, port: int, packet: dict):
        """Where a data packet ends up after every switch on its way."""
        return self.fabric.inject(switch, port, packet)

    def last_ra(self, switch: Optional[str] = None) -> Tuple[str, int, bytes]:
        ras = [t for t in self.to_mns if t[2][54] == 134 and (switch is None or t[0] == switch)]
        return ras[-1]
