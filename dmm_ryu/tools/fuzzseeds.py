"""The valid inputs the fuzzer mutates: every frame a fake domain punts
while real handovers run in it, and a PBU and a PBA from every node to
every other node, built with the Mobility Header codec.

A :class:`Seed` is one packet-in: the datapath and port it enters and the
frame.  Captured seeds are exactly what the controller saw (RS and DAD
probes from MNs, NS from the transport, PBU/PBA between nodes, refreshes,
retransmissions and de-registrations); crafted ones reach the node pairs
and message kinds a handover in that mode never uses.
"""
from __future__ import annotations

import copy
import functools
from ipaddress import IPv6Address, IPv6Network
from typing import List, NamedTuple

import yaml

from dmm_ryu.runtime.directory import NodeInfo
from dmm_ryu.testbed.fakedomain import FakeDomain, domain_text
from dmm_ryu.wire import inet, ndp
from dmm_ryu.wire.mh import MobilityOptions, ProxyBindingAck, ProxyBindingUpdate, encode_packet
from dmm_ryu.wire.mh.model import AccessTechnology, HandoffIndicator, timestamp_from_unix

MODES = ("relay", "locator", "proxy", "pmipv6")
#: The MNs of the scenarios; the fuzzer forges frames from them too.
MN_MACS = ("0a:00:00:00:00:01", "0a:00:00:00:00:02", "0a:00:00:00:00:03")


class Seed(NamedTuple):
    """One packet-in: ``frame`` entering datapath ``dpid`` on ``port``."""

    dpid: int
    port: int
    frame: bytes


def fresh_domain(mode: str) -> FakeDomain:
    """The domain the fuzzer attacks: three MAARs and a CMD on its own switch."""
    return FakeDomain(copy.deepcopy(_domain_yaml(mode)))


@functools.lru_cache(maxsize=None)
def _domain_yaml(mode: str) -> dict:
    """The domain file of ``mode``, read once: the fuzzer rebuilds domains often."""
    return yaml.safe_load(domain_text(mode))


def captured(mode: str) -> List[Seed]:
    """Every packet-in of a scripted run of handovers in ``mode``."""
    dom = fresh_domain(mode)
    seen: List[Seed] = []
    real = dom.dmm.packet_in

    def recording(dpid, port, frame, now):
        seen.append(Seed(dpid, port, bytes(frame)))
        return real(dpid, port, frame, now)

    dom.dmm.packet_in = recording
    handovers(dom)
    return seen


def handovers(dom: FakeDomain) -> None:
    """MN1 walks maar1 -> maar2 (by DAD) -> maar3 -> maar1; MN2 registers,
    refreshes, loses a PBA once and leaves; ND from both sides."""
    mn1, mn2 = MN_MACS[:2]
    dom.inject("maar1", 2, ndp.router_solicitation(mn1))
    dom.inject("maar2", 2, ndp.neighbor_solicitation(mn1, IPv6Address("::"),
                                                     IPv6Address("fe80::800:ff:fe00:1")))
    dom.inject("maar3", 3, ndp.router_solicitation(mn1))
    dom.inject("maar1", 2, ndp.router_solicitation(mn1))
    dom.dropped_links.add(("cmd", "maar2"))
    dom.inject("maar2", 3, ndp.router_solicitation(mn2))
    dom.dropped_links.clear()
    dom.advance(1.5)
    dom.advance(25)
    dom.inject("maar2", 3, ndp.neighbor_solicitation(mn2, IPv6Address("fe80::2"),
                                                     IPv6Address("fe80::1")))
    maar1 = dom.dmm.directory.named("maar1")
    dom.inject("maar1", 1, ndp.neighbor_solicitation("0e:00:00:00:ff:fe", IPv6Address("fe80::ff"),
                                                     maar1.address))
    dom.run(dom.dmm.port_down(dom.dpid("maar2"), 3, dom.now))
    dom.advance(3)
    dom.advance(60)


def crafted(dom: FakeDomain) -> List[Seed]:
    """A PBU and a PBA from every node to every other node, with every
    option the draft's modes use, addressed as the transport would."""
    nodes = list(dom.dmm.directory)
    mn_id = dom.dmm.domain.mn_id_for(MN_MACS[0]) or "mn1@fuzz"
    seeds = []
    for src in nodes:
        for dst in nodes:
            if src.name != dst.name:
                seeds += [_seed(src, dst, msg) for msg in _messages(dom, src, mn_id)]
    return seeds


def _messages(dom: FakeDomain, src: NodeInfo, mn_id: str):
    pool = _pool(dom, src.name)
    hnp = IPv6Network((int(pool.network_address), 64))
    opts = MobilityOptions(
        mn_id=mn_id, hnps=(hnp,), timestamp=timestamp_from_unix(dom.now),
        serving_maar=src.address, anchored_prefixes=(hnp,), local_prefixes=(hnp,),
        link_local=IPv6Address("fe80::1"), mn_link_layer_id=inet.mac_bytes(MN_MACS[0]),
        handoff=HandoffIndicator.UNKNOWN, access_tech=AccessTechnology.IEEE_802_11)
    return (ProxyBindingUpdate(7, 40, opts), ProxyBindingUpdate(8, 0, opts),
            ProxyBindingAck(0, 7, 40, opts), ProxyBindingAck(130, 7, 0, opts))


def _pool(dom: FakeDomain, name: str) -> IPv6Network:
    maar = dom.dmm.domain.maars.get(name)
    return maar.pool if maar is not None else IPv6Network("2001:db8:ffff::/48")


def _seed(src: NodeInfo, dst: NodeInfo, message) -> Seed:
    frame = inet.ethernet(dst.mac, src.mac, encode_packet(message, src.address, dst.address))
    return Seed(dst.dpid, dst.signalling_ports[0], frame)


def corpus(mode: str) -> List[Seed]:
    """Captured and crafted seeds of one mode."""
    return captured(mode) + crafted(fresh_domain(mode))
