"""Translate the protocol core's route and tunnel actions into FlowMods.

Pure functions, no datapath: messages are built with ``datapath=None`` (as
Faucet does) and the adapter binds them when it sends.  Public API::

    base_flows(ctx, parser) -> [FlowMod]         pipeline, punts, table-miss
    meter_mods(ctx, parser) -> [MeterMod]        the access ports' punt meters
    flows_for(action, ctx, parser) -> [FlowMod]  Install/Remove LocalRoute/Tunnel
    rebuild_flows(ctx, routes, tunnels, parser)  delete ours + everything again
    dst_rule(prefix), tunnel_rules(ctx, prefix, role) -> the Rules (for of/packed.py)
    delete_ours(parser) -> FlowMod               every flow with our cookie
    cmd_switch_flows(cmd, parser) -> [FlowMod]   a switch of the CMD's own

Each kind of state has one ``_x_rules()`` giving (table, priority, match)
that both its install and its remove use (Neutron's pattern): installs add
those rules with instructions, removes strict-delete them with the owner's
exact cookie (pipeline.py explains the cookie).

Forwarding (see openflow_rules/README.md for the why):

* local prefix: ROUTE ipv6_dst -> hop limit -1, gateway MAC as source
  (``gateway: dlif``: this MAAR's DLIF MAC; a serving tunnel's downlink
  carries its P-MAAR's DLIF MAC),
  MN MAC, MN's access port.  Uplink leaves by the default route.
* anchored prefix, P-MAAR (ANCHOR): ROUTE ipv6_dst -> hop limit -1, push
  the prefix's label, to the S-MAAR's transport MAC; TUNNEL_IN label -> pop,
  mark uplink, ROUTE.
* anchored prefix, S-MAAR (SERVING): UPLINK ipv6_src -> push label, to the
  P-MAAR's transport MAC; TUNNEL_IN label -> pop, deliver to the MN.  The
  S-MAAR leaves the hop limit alone: the MAAR pair is one IPv6 hop, as an
  IPv6-in-IPv6 tunnel is one link.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from ipaddress import IPv6Network
from typing import Any, Iterable, List, Tuple

from dmm_ryu.of import compat
from dmm_ryu.core import actions as core
from dmm_ryu.of import pipeline as pl
from dmm_ryu.config.domainfile import CmdSection
from dmm_ryu.of.context import MaarDataplane
from dmm_ryu.of.labels import DataplaneError

OFP = compat.ofproto_v1_3
DEFAULT_PARSER = compat.ofproto_v1_3_parser
#: in_port value that lets a packet leave by the port it came in on.  OVS
#: refuses writes to the OF1.3 OXM in_port; it takes the Nicira 16-bit
#: NXM_OF_IN_PORT (``load:0->NXM_OF_IN_PORT[]``, the classic OVS idiom).
HAIRPIN_IN_PORT = 0


@dataclass(frozen=True)
class Rule:
    """Where a flow sits and what it matches: its identity in the switch.
    A prefix-valued field holds the IPv6Network itself (masked match):
    the framework gets it as text, of/packed.py as bytes, each converting
    once per rule."""

    table: pl.Table
    priority: int
    match: Tuple[Tuple[str, Any], ...]


#: Rules and framework matches remembered (LRU).  A handover uses a rule two
#: or three times within milliseconds (build, bundle, a repeat RS), so a
#: small cache keeps those hits; holding every MN's rules (an OFPMatch is
#: about 3.4 KB) cost ~13.5 KB per MN and thrashed above 16k MNs (issue 17).
#: The bound covers the rules of the handovers in flight in the process (a
#: few hundred at 1,000 handovers/s and 50 ms each): memory fixed, hits kept.
RULE_CACHE = 256


def _rule(table: pl.Table, priority: int, **match: Any) -> Rule:
    return Rule(table, priority, tuple(match.items()))


def _user_value(value: Any) -> Any:
    """A match value as the framework takes it: a prefix as (address, mask) text."""
    if isinstance(value, IPv6Network):
        return str(value.network_address), str(value.netmask)
    return value


@lru_cache(maxsize=RULE_CACHE)
def _match(parser, rule: Rule):
    """One OFPMatch per rule, shared by its install and its removal: the
    framework's match constructor converts every field and dominates the
    cost of a handover's FlowMods; serialising a match does not change it."""
    return parser.OFPMatch(**{name: _user_value(value) for name, value in rule.match})


def _flow_mod(parser, rule: Rule, **fields: Any):
    return parser.OFPFlowMod(
        None, table_id=rule.table.table_id, priority=rule.priority,
        match=_match(parser, rule), out_port=OFP.OFPP_ANY,
        out_group=OFP.OFPG_ANY, buffer_id=OFP.OFP_NO_BUFFER, **fields)


def _add(parser, owner: int, rule: Rule, instructions: list):
    return _flow_mod(parser, rule, cookie=owner, command=OFP.OFPFC_ADD,
                     instructions=instructions)


def _removals(parser, owner: int, rules: Iterable[Rule]) -> list:
    return [_flow_mod(parser, rule, cookie=owner, cookie_mask=pl.COOKIE_EXACT,
                      command=OFP.OFPFC_DELETE_STRICT, instructions=[])
            for rule in rules]


def delete_ours(parser=DEFAULT_PARSER):
    """Delete every flow this application installed, in every table."""
    return parser.OFPFlowMod(
        None, cookie=pl.COOKIE_APP, cookie_mask=pl.COOKIE_APP_MASK,
        table_id=OFP.OFPTT_ALL, command=OFP.OFPFC_DELETE, out_port=OFP.OFPP_ANY,
        out_group=OFP.OFPG_ANY, match=parser.OFPMatch(), instructions=[])


# --- instructions and action lists -----------------------------------------

def _apply(parser, actions: list) -> list:
    return [parser.OFPInstructionActions(OFP.OFPIT_APPLY_ACTIONS, actions)]


def _goto(parser, table: pl.Table) -> list:
    return [parser.OFPInstructionGotoTable(table.table_id)]


def _mark_uplink(parser) -> list:
    return [parser.OFPInstructionWriteMetadata(*pl.METADATA_UPLINK)]


def _to_controller(parser) -> list:
    return [parser.OFPActionOutput(OFP.OFPP_CONTROLLER, OFP.OFPCML_NO_BUFFER)]


def _metered_punt(parser, port: int) -> list:
    """To the controller through the access port's meter (punt_rate)."""
    return ([parser.OFPInstructionMeter(pl.meter_id(port), OFP.OFPIT_METER)]
            + _apply(parser, _to_controller(parser)))


def _deliver(parser, gateway_mac: str, mac: str, port: int) -> list:
    """To the MN on its access link, from the router it knows for the
    prefix: the shared gateway, or (dlif) the prefix's anchor's DLIF."""
    return [parser.OFPActionSetField(eth_src=gateway_mac),
            parser.OFPActionSetField(eth_dst=mac.lower()),
            parser.OFPActionOutput(port)]


def _to_neighbour(parser, ctx: MaarDataplane, mac: str) -> list:
    """Out of the fabric port to a transport neighbour (peer or router).

    Downlink at a P-MAAR and popped uplink both arrive on the fabric port
    and leave by it again; OpenFlow drops output to the ingress port, so
    ``in_port`` is cleared first (OVS lets set_field write it).
    """
    return [parser.OFPActionSetField(eth_src=ctx.transport_mac),
            parser.OFPActionSetField(eth_dst=mac),
            parser.OFPActionSetField(in_port_nxm=HAIRPIN_IN_PORT),
            parser.OFPActionOutput(ctx.uplink_port)]


def _into_tunnel(parser, ctx: MaarDataplane, label: int, peer_mac: str) -> list:
    return [parser.OFPActionPushMpls(pl.ETH_TYPE_MPLS),
            parser.OFPActionSetField(mpls_label=label),
            *_to_neighbour(parser, ctx, peer_mac)]


# --- base flows -------------------------------------------------------------

def _ipv6_rule(table, priority, **match) -> Rule:
    return _rule(table, priority, eth_type=pl.ETH_TYPE_IPV6, **match)


def _icmp_punt(port: int, kind: int, **more) -> Rule:
    return _ipv6_rule(pl.CLASSIFY, pl.PRIORITY_PUNT, in_port=port,
                      ip_proto=pl.IPPROTO_ICMPV6, icmpv6_type=kind, **more)


def _mh_punt(port: int, address) -> Rule:
    return _ipv6_rule(pl.CLASSIFY, pl.PRIORITY_PUNT, in_port=port,
                      ip_proto=pl.IPPROTO_MH, ipv6_dst=str(address))


def _access_punts(ctx: MaarDataplane, port: int) -> List[Rule]:
    """What an access port punts, all through its meter: RS, NS for the
    gateway (each DLIF in dlif mode) and DAD probes (an MN whose link came
    up), and, lowest of all, IPv6 from a source MAC with no admission rule
    here: an MN arriving without any of those (a radio roam keeps its
    carrier: issue 14)."""
    return [_icmp_punt(port, pl.ICMPV6_RS),
            *(_icmp_punt(port, pl.ICMPV6_NS, ipv6_nd_target=str(ll)) for _, ll in ctx.gateways),
            _icmp_punt(port, pl.ICMPV6_NS, ipv6_src="::"),
            _ipv6_rule(pl.CLASSIFY, pl.PRIORITY_UNKNOWN_SOURCE, in_port=port)]


def _transport_punts(ctx: MaarDataplane) -> List[Rule]:
    """NS and Mobility Header for our address (and the CMD's, where it is
    attached) from the transport side."""
    own = [ctx.maar.address] + ([ctx.cmd.address] if ctx.cmd else [])
    return ([_icmp_punt(p, pl.ICMPV6_NS, ipv6_nd_target=str(a))
             for a in own for p in ctx.maar.transport_ports]
            + [_mh_punt(p, a) for a in own for p in ctx.signalling_ports])


def meter_mods(ctx: MaarDataplane, parser=DEFAULT_PARSER) -> list:
    """The punt meter of each access port, (re)created: deleted first, as
    a reconnecting switch may still hold it (OVS ignores the delete of an
    absent meter).  Sent before the rule set: meters are not bundled."""
    band = parser.OFPMeterBandDrop(rate=ctx.punt_rate, burst_size=ctx.punt_burst)
    flags = OFP.OFPMF_PKTPS | OFP.OFPMF_BURST
    return [parser.OFPMeterMod(None, command=command, flags=flags, meter_id=pl.meter_id(port),
                               bands=bands)
            for port in ctx.maar.access_ports
            for command, bands in ((OFP.OFPMC_DELETE, []), (OFP.OFPMC_ADD, [band]))]


def cmd_switch_flows(cmd: CmdSection, parser=DEFAULT_PARSER) -> list:
    """The whole rule set of a switch that only attaches the CMD: its
    Mobility Header and the NS for its address are punted, the rest dropped."""
    punt = _apply(parser, _to_controller(parser))
    rules = [_mh_punt(cmd.port, cmd.address),
             _icmp_punt(cmd.port, pl.ICMPV6_NS, ipv6_nd_target=str(cmd.address))]
    owner = pl.cookie(pl.Kind.BASE)
    return [delete_ours(parser), *(_add(parser, owner, r, punt) for r in rules),
            _add(parser, owner, _rule(pl.CLASSIFY, pl.PRIORITY_MISS), [])]


def _filter_rules(ctx: MaarDataplane) -> List[Rule]:
    """A router never forwards link-local traffic (RFC 4291 2.5.6); and an
    MN never speaks Mobility Header in network-based mobility, so none from
    an access port reaches a MAAR or the CMD, even via the upstream router."""
    net = pl.LINK_LOCAL
    return ([_ipv6_rule(pl.CLASSIFY, pl.PRIORITY_FILTER, ipv6_src=net),
             _ipv6_rule(pl.CLASSIFY, pl.PRIORITY_FILTER, ipv6_dst=net)]
            + [_ipv6_rule(pl.CLASSIFY, pl.PRIORITY_FILTER, in_port=p, ip_proto=pl.IPPROTO_MH)
               for p in ctx.maar.access_ports])


def _admission_flows(ctx: MaarDataplane, parser) -> list:
    """Frames addressed to us on the transport side enter the pipeline;
    on the access side only an admitted MN's do (admission_flows)."""
    return [(_rule(pl.CLASSIFY, pl.PRIORITY_PIPELINE, in_port=p, eth_type=eth_type,
                   eth_dst=ctx.transport_mac), _goto(parser, table))
            for p in ctx.maar.transport_ports
            for eth_type, table in ((pl.ETH_TYPE_IPV6, pl.ROUTE),
                                    (pl.ETH_TYPE_MPLS, pl.TUNNEL_IN))]


def _miss_flows(parser) -> list:
    return [(_rule(t, pl.PRIORITY_MISS), [] if t.miss is None else
             [parser.OFPInstructionGotoTable(t.miss)]) for t in pl.TABLES]


def _default_route(ctx: MaarDataplane, parser) -> tuple:
    """Uplink with no better route goes to the upstream router."""
    rule = _ipv6_rule(pl.ROUTE, pl.PRIORITY_DEFAULT_ROUTE, metadata=pl.METADATA_UPLINK)
    return rule, _apply(parser, [parser.OFPActionDecNwTtl(),
                                 *_to_neighbour(parser, ctx, ctx.upstream_mac)])


def base_flows(ctx: MaarDataplane, parser=DEFAULT_PARSER) -> list:
    """The flows a MAAR has with no MN attached."""
    punt = _apply(parser, _to_controller(parser))
    pairs = ([(r, _metered_punt(parser, p)) for p in ctx.maar.access_ports
              for r in _access_punts(ctx, p)]
             + [(r, punt) for r in _transport_punts(ctx)]
             + [(r, []) for r in _filter_rules(ctx)]
             + _admission_flows(ctx, parser) + _miss_flows(parser)
             + [_default_route(ctx, parser)])
    owner = pl.cookie(pl.Kind.BASE)
    return [_add(parser, owner, rule, instructions) for rule, instructions in pairs]


# --- local routes -----------------------------------------------------------

@lru_cache(maxsize=RULE_CACHE)
def dst_rule(prefix: IPv6Network) -> Rule:
    """The ROUTE rule for traffic to ``prefix`` (local route, anchor entry)."""
    return _ipv6_rule(pl.ROUTE, pl.prefix_priority(prefix), ipv6_dst=prefix)


def _local_cookie(ctx: MaarDataplane, prefix: IPv6Network) -> int:
    return pl.cookie(pl.Kind.LOCAL, ctx.label(prefix))


def install_local_route(action: core.InstallLocalRoute, ctx: MaarDataplane, parser) -> list:
    gateway_mac, _ = ctx.gateway_of(ctx.me)
    actions = [parser.OFPActionDecNwTtl(), *_deliver(parser, gateway_mac, action.mac, action.port)]
    return [_add(parser, _local_cookie(ctx, action.prefix), dst_rule(action.prefix),
                 _apply(parser, actions))]


def remove_local_route(action: core.RemoveLocalRoute, ctx: MaarDataplane, parser) -> list:
    return _removals(parser, _local_cookie(ctx, action.prefix), [dst_rule(action.prefix)])


# --- tunnels ----------------------------------------------------------------

def tunnel_rules(ctx: MaarDataplane, prefix: IPv6Network, role: str) -> List[Rule]:
    """The entry rule (by destination at the anchor, by source at the
    serving MAAR) then the exit rule (by label); of/packed.py packs these
    same rules, so a change here reaches both encoders."""
    if role == core.ANCHOR:
        entry = dst_rule(prefix)
    elif role == core.SERVING:
        entry = _ipv6_rule(pl.UPLINK, pl.prefix_priority(prefix), ipv6_src=prefix)
    else:
        raise DataplaneError(f"tunnel for {prefix}: unknown role {role!r}")
    exit_ = _rule(pl.TUNNEL_IN, pl.PRIORITY_LABEL, eth_type=pl.ETH_TYPE_MPLS,
                  mpls_label=ctx.label(prefix))
    return [entry, exit_]


def tunnel_cookie(ctx: MaarDataplane, action) -> int:
    """The cookie of both rules of the tunnel (flow stats select them by it)."""
    return pl.cookie(pl.Kind.TUNNEL, ctx.label(action.prefix), ctx.peer(action.peer).ordinal)


def _tunnel_instructions(action: core.InstallTunnel, ctx: MaarDataplane, parser) -> list:
    """Instructions for the entry and exit rules, in tunnel_rules order."""
    peer = ctx.peer(action.peer)
    into = _into_tunnel(parser, ctx, ctx.label(action.prefix), peer.transport_mac)
    pop = parser.OFPActionPopMpls(pl.ETH_TYPE_IPV6)
    if action.role == core.ANCHOR:
        return [_apply(parser, [parser.OFPActionDecNwTtl(), *into]),
                _apply(parser, [pop]) + _mark_uplink(parser) + _goto(parser, pl.ROUTE)]
    if not action.mac or not action.port:
        raise DataplaneError(f"serving tunnel for {action.prefix} needs the MN's mac and port")
    return [_apply(parser, into),
            _apply(parser, [pop, *_deliver(parser, ctx.gateway_of(peer)[0], action.mac,
                                           action.port)])]


def install_tunnel(action: core.InstallTunnel, ctx: MaarDataplane, parser) -> list:
    rules = tunnel_rules(ctx, action.prefix, action.role)
    owner = tunnel_cookie(ctx, action)
    return [_add(parser, owner, rule, instructions) for rule, instructions
            in zip(rules, _tunnel_instructions(action, ctx, parser))]


def remove_tunnel(action: core.RemoveTunnel, ctx: MaarDataplane, parser) -> list:
    rules = tunnel_rules(ctx, action.prefix, action.role)
    return _removals(parser, tunnel_cookie(ctx, action), rules)


# --- entry points -----------------------------------------------------------

_TRANSLATORS = {
    core.InstallLocalRoute: install_local_route,
    core.RemoveLocalRoute: remove_local_route,
    core.InstallTunnel: install_tunnel,
    core.RemoveTunnel: remove_tunnel,
}
#: The core actions this module turns into flows; others are not ours.
FLOW_ACTIONS = tuple(_TRANSLATORS)


def flows_for(action, ctx: MaarDataplane, parser=DEFAULT_PARSER) -> list:
    """FlowMods carrying out one core action on this MAAR's switch."""
    translate = _TRANSLATORS.get(type(action))
    if translate is None:
        raise TypeError(f"{type(action).__name__} is not a flow action")
    return translate(action, ctx, parser)
