"""From the validated domain file to the protocol core's configuration.

The YAML layer (``dmm_ryu.config.domainfile``) checks each key on its own; the core's
``check()`` methods know the rules that tie keys together (timer ordering,
the LMA in pmipv6 mode), and the data plane has limits of its own (MAC
numbering, 20-bit MPLS labels).  All run here, so ``dmm-ryu-check`` and the
controller refuse exactly the same files with the same message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from typing import Dict, List

from dmm_ryu.config.domainfile import DomainFile, InvalidConfigError, MaarSection
from dmm_ryu.core import config as core
from dmm_ryu.of.context import GATEWAY_MAC
from dmm_ryu.of.labels import DataplaneError, LabelPlan, dlif_mac, transport_mac


@dataclass(frozen=True)
class CoreConfigs:
    """Everything needed to build the CMD and one Maar per configured MAAR;
    ``notes`` are what the operator should know (logged, printed by check)."""

    domain: core.DomainConfig
    cmd: core.CmdConfig
    maars: Dict[str, core.MaarConfig]
    notes: List[str] = field(default_factory=list)


def _plan(domain: DomainFile) -> LabelPlan:
    """The label numbering; refuses MAC clashes on the transport and access."""
    try:
        plan = LabelPlan.from_maars(domain.maars)
    except DataplaneError as err:
        raise InvalidConfigError(f"maars: {err}") from err
    macs = {transport_mac(m.dpid): f"the transport MAC of MAAR {m.name}"
            for m in domain.maars.values()}
    if domain.cmd.maar is None:
        clash = macs.setdefault(transport_mac(domain.cmd.dpid), "the CMD's switch")
        if clash != "the CMD's switch":
            raise InvalidConfigError(f"cmd.dpid: its transport MAC is {clash}")
    macs.setdefault(GATEWAY_MAC, "the MNs' default-router MAC")
    if domain.gateway == "dlif":
        macs.update((dlif_mac(m.dpid), f"the DLIF MAC of MAAR {m.name}")
                    for m in domain.maars.values())
    if domain.upstream_mac in macs:
        raise InvalidConfigError(
            f"upstream_mac: {domain.upstream_mac} is {macs[domain.upstream_mac]}")
    macs[domain.upstream_mac] = "the upstream router's MAC"
    for mac in domain.mn_ids:
        if mac in macs:
            raise InvalidConfigError(f"mn_ids.{mac}: an MN cannot have {macs[mac]}")
    return plan


def _usable_pool(maar: MaarSection, plan: LabelPlan, notes: List[str]) -> IPv6Network:
    """The part of the pool whose prefixes a 20-bit label can number: the
    pool hands out lowest first, so a larger pool is cut, not refused."""
    bits = min(maar.prefix_length - maar.pool.prefixlen, plan.index_bits)
    if bits == maar.prefix_length - maar.pool.prefixlen:
        return maar.pool
    usable = IPv6Network((maar.pool.network_address, maar.prefix_length - bits))
    notes.append(f"maars.{maar.name}.pool: only {usable} ({1 << bits} prefixes) is used: "
                 f"with {len(plan.maars)} MAARs a 20-bit MPLS label numbers {1 << bits} "
                 f"prefixes per MAAR")
    return usable


def _nodes_outside_pools(domain: DomainFile, maars: Dict[str, core.MaarConfig]) -> None:
    """A node's address inside a usable pool would be handed to an MN within
    its prefix, and the MN's route would swallow that node's signalling."""
    nodes = [(f"maars.{m.name}.address", m.address) for m in domain.maars.values()]
    nodes.append(("cmd.address", domain.cmd.address))
    for key, address in nodes:
        for maar in maars.values():
            if address in maar.pool:
                raise InvalidConfigError(f"{key}: {address} lies in {maar.name}'s pool {maar.pool}")


def _binding_notes(maars: Dict[str, core.MaarConfig], notes: List[str]) -> None:
    """``max_bindings`` above what the pool holds: the pool runs out first."""
    for maar in maars.values():
        prefixes = 1 << min(maar.prefix_len - maar.pool.prefixlen, 64)
        if maar.anchors_locally and maar.max_bindings > prefixes:
            notes.append(f"maars.{maar.name}.max_bindings: {maar.max_bindings} is more than "
                         f"the {prefixes} prefixes of {maar.pool}: the pool runs out first")


def _dlifs(domain: DomainFile, plan: LabelPlan) -> Dict[IPv6Address, core.Dlif]:
    """Each MAAR's DLIF (``gateway: dlif``), derived from its dpid as the
    data plane derives it (of/labels.py): none with the shared gateway."""
    if domain.gateway != "dlif":
        return {}
    return {m.address: core.Dlif(m.dlif_ll, bytes.fromhex(m.dlif_mac.replace(":", "")))
            for m in plan.maars}


def _shared(domain: DomainFile, plan: LabelPlan) -> core.DomainConfig:
    return core.DomainConfig(
        cmd=domain.cmd.address,
        mode=core.Mode(domain.mode),
        dereg=core.Dereg(domain.deregistration),
        timers=core.Timers(**domain.timers, detach_guard=domain.detach_guard),
        lma=domain.maars[domain.lma].address if domain.lma else None,
        access_tech=domain.access_technology,
        dlifs=_dlifs(domain, plan),
    )


def build(domain: DomainFile) -> CoreConfigs:
    """The core configuration of ``domain``, consistency-checked.  The CMD's
    binding cache holds at most what all MAARs together may serve; the CMD
    and every MAAR know each MAAR's usable pool (what signalling may name)."""
    plan = _plan(domain)
    notes: List[str] = list(domain.notes)
    try:
        shared = _shared(domain, plan)
        pools = {m.address: core.Pool(_usable_pool(m, plan, notes), m.prefix_length)
                 for m in domain.maars.values()}
        cmd = core.CmdConfig(domain=shared, maars=frozenset(pools), pools=pools,
                             max_bindings=sum(m.max_bindings for m in domain.maars.values()))
        cmd.check()
        maars = {
            m.name: core.MaarConfig(name=m.name, address=m.address,
                                    pool=pools[m.address].network, domain=shared,
                                    prefix_len=m.prefix_length, max_bindings=m.max_bindings,
                                    peers=pools)
            for m in domain.maars.values()
        }
        for maar in maars.values():
            maar.check()
    except core.ConfigError as err:
        raise InvalidConfigError(f"timers: {err}") from err
    _nodes_outside_pools(domain, maars)
    _binding_notes(maars, notes)
    if shared.timers.prefix_idle and shared.mode is core.Mode.PMIPV6:
        notes.append("timers.prefix_idle has no effect in pmipv6 mode: a MAG's one prefix "
                     "is its home network prefix, never collected")
    return CoreConfigs(domain=shared, cmd=cmd, maars=maars, notes=notes)
