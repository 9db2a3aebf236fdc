"""Admission of MNs on the access side, and the whole rule set of a
reconnecting MAAR.  An MN with a session at this MAAR gets rules matching
its MAC on its port, so its frames enter the pipeline and are never punted
as an unknown source (first-frame attachment)."""
from __future__ import annotations

from typing import Iterable, List, Optional, Tuple

from dmm_ryu.core import actions as core
from dmm_ryu.of import pipeline as pl
from dmm_ryu.of.context import MaarDataplane
from dmm_ryu.of.flows import (DEFAULT_PARSER, Rule, _add, _goto, _ipv6_rule, _mark_uplink,
                              _removals, base_flows, delete_ours, flows_for)


def mn_rules(ctx: MaarDataplane, mac: str, port: int) -> List[Rule]:
    """An MN with a session here: its frames to the gateway (dlif: to any
    MAAR's DLIF, one rule each, the known-source rule last) enter the
    pipeline, where they are routed by source prefix; the rest of its IPv6
    is dropped; none is ever punted as an unknown source (the RS/NS/DAD
    punts stay above them)."""
    mac = mac.lower()
    return [*(_ipv6_rule(pl.CLASSIFY, pl.PRIORITY_PIPELINE, in_port=port,
                         eth_dst=gateway_mac, eth_src=mac) for gateway_mac, _ in ctx.gateways),
            _ipv6_rule(pl.CLASSIFY, pl.PRIORITY_KNOWN_SOURCE, in_port=port, eth_src=mac)]


def places(installs: Iterable) -> Tuple[Tuple[str, int], ...]:
    """(MAC, access port) of each MN these Install* actions deliver to:
    its local routes and serving tunnels (an anchor's MN is elsewhere).
    Sorted and distinct; a tuple, because a runtime keeps one per MN and
    a one-element set costs 216 bytes (issue 17)."""
    return tuple(sorted({(_lower(a.mac), a.port) for a in installs
                         if isinstance(a, core.InstallLocalRoute)
                         or (isinstance(a, core.InstallTunnel) and a.role == core.SERVING)}))


def _lower(mac: str) -> str:
    """``mac`` in lower case, the same object when it already is."""
    low = mac.lower()
    return mac if low == mac else low


def admission_flows(ctx: MaarDataplane, before: Iterable, after: Iterable,
                    parser=DEFAULT_PARSER) -> list:
    """Admission rules going from the (mac, port) places ``before`` to
    ``after``: the gone removed, the new added; each MN owns its rules
    (cookie pl.mn_cookie), so a route's removal never takes them along."""
    before, after, admit = set(before), set(after), _mark_uplink(parser) + _goto(parser, pl.UPLINK)
    out = [m for mac, port in sorted(before - after)
           for m in _removals(parser, pl.mn_cookie(mac), mn_rules(ctx, mac, port))]
    for mac, port in sorted(after - before):
        *entries, known = mn_rules(ctx, mac, port)
        out += [_add(parser, pl.mn_cookie(mac), rule, admit) for rule in entries]
        out.append(_add(parser, pl.mn_cookie(mac), known, []))
    return out


def rebuild_flows(ctx: MaarDataplane, routes: Iterable[core.InstallLocalRoute],
                  tunnels: Iterable[core.InstallTunnel], parser=DEFAULT_PARSER,
                  admitted: Optional[Iterable] = None) -> list:
    """The whole rule set of a MAAR from its current state, after wiping
    ours: sent (in a bundle) when the switch (re)connects.  ``admitted``:
    the (mac, port) of MNs admitted here (default: every MN delivered to)."""
    installs = [*routes, *tunnels]
    state = [flow for a in installs for flow in flows_for(a, ctx, parser)]
    admitted = places(installs) if admitted is None else admitted
    return [delete_ours(parser), *base_flows(ctx, parser), *state,
            *admission_flows(ctx, (), admitted, parser)]
