"""A ready-made domain on the simulator (one CMD, N MAARs) and the checks
that must hold once it settles.  Tests and the benchmark share it so they
build and judge domains the same way."""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import Dict, Iterable, List, Optional, Tuple

from dmm_ryu.core.actions import ANCHOR, SERVING, InstallLocalRoute, InstallTunnel
from dmm_ryu.core.cmd import Cmd
from dmm_ryu.core.config import CmdConfig, Dereg, DomainConfig, MaarConfig, Mode, Pool, Timers
from dmm_ryu.core.maar import Maar
from dmm_ryu.core.store import CmdBce
from dmm_ryu.sim.network import Link, Network
from dmm_ryu.wire.mh.model import message_name

CMD_ADDRESS = IPv6Address("2001:db8:ffff::1")


def maar_address(index: int) -> IPv6Address:
    return IPv6Address(f"2001:db8:ffff::{index + 100:x}")


@dataclass
class Domain:
    """The simulator and the nodes on it; ``maars[i]`` is MAAR i+1 (the
    draft's MAAR1 is ``maars[0]``)."""

    net: Network
    cmd: Cmd
    maars: List[Maar]

    def anchor_of(self, prefix: IPv6Network) -> Optional[Maar]:
        return next((m for m in self.maars if prefix.subnet_of(m.config.pool)), None)

    def move(self, mn_id: str, index: Optional[int]) -> None:
        """The MN attaches to MAAR ``index`` (None: it leaves the domain)."""
        if index is None:
            self.net.detach(mn_id)
        else:
            self.net.attach(mn_id, self.maars[index].address)

    def play(self, trace: Iterable[Tuple[float, str, Optional[int]]]) -> None:
        """A mobility trace: at each time (ascending), an MN moves to a MAAR
        index or (None) leaves the domain."""
        for when, mn_id, index in trace:
            self.net.run_until(when)
            self.move(mn_id, index)


def build(n_maars: int = 3, mode: Mode = Mode.PROXY, dereg: Dereg = Dereg.SERVING_ONLY,
          timers: Timers = Timers(), seed: int = 0, link: Link = Link(),
          pool_len: int = 48, prefix_len: int = 64, lma: Optional[int] = None,
          max_bindings: Optional[int] = None,
          maar_max_bindings: Optional[int] = None) -> Domain:
    """N MAARs with pools 2001:db8:<i+1>::/``pool_len``; in pmipv6 mode MAAR
    ``lma`` (default 0) is the LMA.  ``max_bindings`` bounds the CMD's
    binding cache, ``maar_max_bindings`` each MAAR's."""
    lma_address = maar_address(lma or 0) if mode is Mode.PMIPV6 else None
    domain = DomainConfig(CMD_ADDRESS, mode, dereg, timers, lma_address)
    pools = {maar_address(i): Pool(IPv6Network(f"2001:db8:{i + 1:x}::/{pool_len}"), prefix_len)
             for i in range(n_maars)}
    maars = [Maar(MaarConfig(f"maar{i + 1}", address, pool.network, domain, prefix_len,
                             maar_max_bindings, peers=pools))
             for i, (address, pool) in enumerate(pools.items())]
    cmd = Cmd(CmdConfig(domain, frozenset(pools), max_bindings, pools))
    net = Network(seed, link)
    net.add(cmd, *maars)
    return Domain(net, cmd, maars)


def bindings(domain: Domain) -> Dict[str, CmdBce]:
    """MN-ID -> the domain's binding for it: the CMD's binding cache, or
    in pmipv6 mode (RFC 5213: no CMD) the LMA's BCEs, as CMD-style entries
    whose one prefix is anchored at the LMA."""
    lma = domain.cmd.config.domain.lma
    if lma is None:
        return {bce.mn_id: bce for bce in domain.cmd.store}
    anchor = next(m for m in domain.maars if m.address == lma)
    return {b.mn_id: CmdBce(b.mn_id, b.serving or lma, {b.local: lma}, b.lifetime, 0.0,
                            b.ts, b.seq)
            for b in anchor.bces.values() if b.final and not b.leaving and b.local is not None}


def expected_state(domain: Domain) -> set:
    """The forwarding entries the CMD's binding cache calls for: a local
    route where a prefix's anchor serves the MN, else a tunnel pair."""
    wanted = set()
    for bce in bindings(domain).values():
        mn = domain.net.mns[bce.mn_id]
        for prefix, anchor in bce.anchors.items():
            serving = bce.proxy_coa
            if anchor == serving:
                wanted.add((anchor, InstallLocalRoute(bce.mn_id, prefix, mn.mac, mn.port)))
            else:
                wanted.add((anchor, InstallTunnel(bce.mn_id, prefix, serving, ANCHOR)))
                wanted.add((serving, InstallTunnel(bce.mn_id, prefix, anchor, SERVING,
                                                   mn.mac, mn.port)))
    return wanted


def violations(domain: Domain, attached_served: bool = False) -> List[str]:
    """Everything that is wrong once the domain has settled; [] when sound.
    ``attached_served``: every MN on a MAAR's link has a session (check it
    after the MNs chattered: :meth:`Network.chatter`)."""
    problems = list(domain.net.dataplane.anomalies)
    problems += _session_problems(domain)
    if attached_served:
        problems += [f"{mn.mn_id}: stranded at {mn.at}, no session"
                     for mn in domain.net.mns.values()
                     if mn.at is not None and mn.mn_id not in bindings(domain)]
    installed = set(domain.net.dataplane.entries())
    wanted = expected_state(domain)
    problems += [f"stale state {entry}" for entry in installed - wanted]
    problems += [f"missing state {entry}" for entry in wanted - installed]
    problems += _pool_problems(domain)
    return problems


def _session_problems(domain: Domain) -> List[str]:
    """Per MN: the CMD's Proxy-CoA is where the MN is, every session prefix
    is reachable both ways, the MN holds no prefix outside its session, and
    exactly the MAARs of the session keep a BCE for it."""
    problems = []
    dataplane = domain.net.dataplane
    sessions = bindings(domain)
    for mn in domain.net.mns.values():
        bce = sessions.get(mn.mn_id)
        holders = {m.address for m in domain.maars if mn.mn_id in m.bces}
        if bce is None:
            if mn.prefixes or holders:
                problems.append(f"{mn.mn_id}: no session, prefixes {mn.prefixes}, BCEs {holders}")
            continue
        if bce.proxy_coa != mn.at:
            problems.append(f"{mn.mn_id}: binding says {bce.proxy_coa}, MN is at {mn.at}")
            continue
        if holders != bce.involved():
            problems.append(f"{mn.mn_id}: BCEs at {holders}, session involves {bce.involved()}")
        if not mn.prefixes <= set(bce.anchors):
            problems.append(f"{mn.mn_id}: holds {mn.prefixes - set(bce.anchors)} outside it")
        for prefix, anchor in bce.anchors.items():
            if not dataplane.downlink(anchor, prefix, mn.mn_id, mn.at, mn.mac):
                problems.append(f"{mn.mn_id}: downlink to {prefix} broken")
            if not dataplane.uplink(anchor, prefix, mn.at):
                problems.append(f"{mn.mn_id}: uplink from {prefix} broken")
    return problems


def _pool_problems(domain: Domain) -> List[str]:
    """Pools hand each prefix to one MN and keep no prefix outside a session;
    every session prefix lies in its anchor's pool, at the pool's length."""
    problems = []
    owners: Dict[IPv6Network, str] = {}
    for bce in bindings(domain).values():
        for prefix, anchor in bce.anchors.items():
            if prefix in owners:
                problems.append(f"{prefix} held by {owners[prefix]} and {bce.mn_id}")
            owners[prefix] = bce.mn_id
            if not domain.cmd.config.pools[anchor].holds(prefix):
                problems.append(f"{bce.mn_id}: {prefix} is not of {anchor}'s pool")
    for maar in domain.maars:
        for prefix, mn_id in maar.pool.allocated().items():
            if owners.get(prefix) != mn_id:
                problems.append(f"{maar.config.name} keeps {prefix} for {mn_id} out of session")
    return problems


def names(domain: Domain) -> Dict[IPv6Address, str]:
    """Address -> "CMD" / "MAAR1"... as the draft's figures name them."""
    table = {m.address: f"MAAR{i + 1}" for i, m in enumerate(domain.maars)}
    table[domain.cmd.address] = "CMD"
    return table


def describe(domain: Domain, since: int = 0) -> List[tuple]:
    """The messages sent since log entry ``since`` as the figures show
    them: (from, to, "PBU"/"PBA"/"BRI"/"BRA", status, HNPs, Serving MAAR, Previous
    MAARs), with names instead of addresses and prefixes as strings."""
    label = names(domain)
    rows = []
    for sent in domain.net.log[since:]:
        message, opts = sent.message, sent.message.options
        rows.append((label[sent.src], label[sent.dst], message_name(message),
                     getattr(message, "status", None),
                     tuple(str(p) for p in opts.hnps),
                     label.get(opts.serving_maar),
                     tuple((label[p.address], str(p.prefix)) for p in opts.previous_maars)))
    return rows
