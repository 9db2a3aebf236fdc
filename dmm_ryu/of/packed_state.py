"""The rest of a MAAR's rule set as wire bytes, beside of/packed.py's route
and tunnel FlowMods: admission rules (per MN, packed), and the rebuild a
reconnecting switch gets (delete ours, base flows, every MN's rules) in one
bundle.  Byte for byte what admission.py and flows.py build on the
framework's classes (tests/unit/test_of_packed_state.py).

Public API::

    admission_flows(ctx, before, after) -> [bytes]
    rebuild_flows(ctx, routes, tunnels, admitted=None) -> [bytes]
    meter_mods(ctx) -> [bytes]
    serialised(msgs) -> [bytes]         framework messages, xid 0

A MAAR's constant messages (delete ours, base flows, punt meters) are
built on the framework's classes and serialised once per context: they
are the same on every reconnect.  Every message carries xid 0: the sender
numbers them from the datapath (shell/sender.py).
"""
from __future__ import annotations

from typing import Iterable, List, Optional

from dmm_ryu.core import actions as core
from dmm_ryu.of import admission, compat, flows
from dmm_ryu.of import ofwire as w
from dmm_ryu.of import packed
from dmm_ryu.of import pipeline as pl
from dmm_ryu.of.context import MaarDataplane

#: An admitted MN's frames to the gateway: marked uplink, on to UPLINK.
_ADMIT = packed.MARK_UPLINK + w.goto_table(pl.UPLINK.table_id)


class _Unbound:
    """What a framework message needs of a datapath to serialise."""

    ofproto = compat.ofproto_v1_3
    ofproto_parser = compat.ofproto_v1_3_parser


def serialised(msgs: Iterable) -> List[bytes]:
    """Framework messages as bytes under xid 0 (for messages built once)."""
    out = []
    for msg in msgs:
        msg.datapath, msg.xid = _Unbound, 0
        msg.serialize()
        out.append(bytes(msg.buf))
    return out


def admission_flows(ctx: MaarDataplane, before: Iterable, after: Iterable) -> List[bytes]:
    """admission.admission_flows as bytes: the gone places' rules removed,
    the new ones added, each under its MN's cookie."""
    before, after, rules = set(before), set(after), packed.packer(ctx).admission_rules
    out = [m for mac, port in sorted(before - after)
           for m in packed.removals(0, pl.mn_cookie(mac), rules(mac, port))]
    for mac, port in sorted(after - before):
        owner = pl.mn_cookie(mac)
        *entries, known = rules(mac, port)
        out += [w.flow_mod(0, owner, 0, packed.ADD, *rule, _ADMIT) for rule in entries]
        out.append(w.flow_mod(0, owner, 0, packed.ADD, *known))
    return out


def _constant(ctx: MaarDataplane, name: str, build) -> List[bytes]:
    """``build()``'s messages serialised once per context (by its packer)."""
    return packed.packer(ctx).constant(name, lambda: serialised(build()))


def meter_mods(ctx: MaarDataplane) -> List[bytes]:
    """flows.meter_mods as bytes (sent before the rebuild, not bundled)."""
    return _constant(ctx, "meters", lambda: flows.meter_mods(ctx))


def rebuild_flows(ctx: MaarDataplane, routes: Iterable[core.InstallLocalRoute],
                  tunnels: Iterable[core.InstallTunnel],
                  admitted: Optional[Iterable] = None) -> List[bytes]:
    """admission.rebuild_flows as bytes: delete ours, the base flows, each
    route's and tunnel's FlowMods, every admitted MN's rules."""
    installs = [*routes, *tunnels]
    pack = packed.packer(ctx).flows_for
    admitted = admission.places(installs) if admitted is None else admitted
    return [*_constant(ctx, "base", lambda: [flows.delete_ours(), *flows.base_flows(ctx)]),
            *(m for a in installs for m in pack(a)),
            *admission_flows(ctx, (), admitted)]
