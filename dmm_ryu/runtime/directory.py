"""Who is who on the transport: one directory of the domain's nodes.

Every node (the CMD and each MAAR) has a name, a global address, the
datapath it sits on, and the transport MAC and ports through which its
signalling leaves and enters.  Built once from the domain file, immutable,
shared by every node of a process (and identical in every process of a
distributed domain), so a node can address any other without knowing
which process serves it.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import Dict, Iterator, Optional, Tuple

from dmm_ryu.config.domainfile import DomainFile
from dmm_ryu.of.labels import transport_mac

CMD = "cmd"  #: the CMD's node name; MAARs go by their configured names


@dataclass(frozen=True)
class NodeInfo:
    """One node as the transport sees it.

    ``uplink`` is where its signalling leaves; ``signalling_ports`` where
    signalling addressed to it may enter (the transport side of its switch).
    A CMD beside a MAAR shares that MAAR's datapath and transport MAC.
    """

    name: str
    address: IPv6Address
    dpid: int
    mac: str
    uplink: int
    signalling_ports: Tuple[int, ...]

    @property
    def is_cmd(self) -> bool:
        return self.name == CMD


class Directory:
    """Nodes by name, by address and by datapath."""

    def __init__(self, nodes: Tuple[NodeInfo, ...]) -> None:
        self._by_name: Dict[str, NodeInfo] = {n.name: n for n in nodes}
        self._by_address: Dict[IPv6Address, NodeInfo] = {n.address: n for n in nodes}
        self._by_dpid: Dict[int, Tuple[NodeInfo, ...]] = {}
        for node in nodes:
            self._by_dpid[node.dpid] = self._by_dpid.get(node.dpid, ()) + (node,)

    @classmethod
    def from_domain(cls, domain: DomainFile) -> "Directory":
        nodes = [NodeInfo(m.name, m.address, m.dpid, transport_mac(m.dpid), m.transport_ports[0],
                          m.transport_ports) for m in domain.maars.values()]
        cmd = domain.cmd
        if cmd.maar is None:
            nodes.append(NodeInfo(CMD, cmd.address, cmd.dpid, transport_mac(cmd.dpid), cmd.port,
                                  (cmd.port,)))
        else:
            host = domain.maars[cmd.maar]
            ports = host.transport_ports + ((cmd.port,) if cmd.port not in host.transport_ports
                                            else ())
            nodes.append(NodeInfo(CMD, cmd.address, host.dpid, transport_mac(host.dpid),
                                  host.transport_ports[0], ports))
        return cls(tuple(nodes))

    def __iter__(self) -> Iterator[NodeInfo]:
        return iter(self._by_name.values())

    def named(self, name: str) -> NodeInfo:
        return self._by_name[name]

    def at(self, address: IPv6Address) -> Optional[NodeInfo]:
        """The node owning a global address, if any."""
        return self._by_address.get(address)

    def on(self, dpid: int) -> Tuple[NodeInfo, ...]:
        """The nodes sitting on a datapath (a MAAR, and maybe the CMD)."""
        return self._by_dpid.get(dpid, ())

    def name_of(self, address: IPv6Address) -> str:
        """The node's name, or the address as text when it is nobody's."""
        node = self._by_address.get(address)
        return node.name if node else str(address)
