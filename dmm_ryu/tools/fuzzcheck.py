"""The invariants the fuzzer checks after every input.

Cheap ones run after each input: no prefix in two CMD bindings, every
CMD prefix inside its anchor's pool, each MAAR's kept head count (what
/metrics reports) equal to a recount of its BCEs, each settled BCE's rules
what it calls for (records derive them), and the rejection count (below).  The
expensive one, each switch's incrementally built flow table equal to a
rebuild from state, runs every few hundred inputs.

*Rejected*, precisely: the controller's own ``packet_in`` for the input
returned no output and changed no state (the :func:`state` fingerprint:
every CMD binding, every MAAR snapshot and attachment, the next timer
deadline), and the input is not a valid RS or DAD probe on an access port
(those are attachment signals, and one from an MN whose registration is
under way is absorbed silently as the draft's repeat).  A rejected input
must add exactly one to the sum of ``stats.errors()``; no input may add
more than one.

Each failed invariant is a :class:`Break`: a stable ``kind`` (what the
fuzzer counts findings by) and the ``detail`` of this occurrence.
"""
from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional

from dmm_ryu.core import routes
from dmm_ryu.testbed.fakedomain import FakeDomain
from dmm_ryu.testbed.fakeswitch import FakeOFTable
from dmm_ryu.testbed.ofdecode import output_messages
from dmm_ryu.wire import ndp

TWO_BINDINGS = "prefix in two CMD bindings"
OUTSIDE_POOL = "prefix outside its anchor's pool"
TABLE_DIFFERS = "incremental flow table differs from a rebuild"
NOT_COUNTED = "rejected input not counted in stats.errors()"
COUNTED_TWICE = "one input counted more than one error"
COUNTS_DRIFT = "a MAAR's kept counts differ from a recount"
RULES_DRIFT = "a settled BCE's rules differ from what it calls for"


class Break(NamedTuple):
    kind: str
    detail: str


def state(dom: FakeDomain) -> tuple:
    """What an accepted input changes; equal before and after a rejection:
    every field of every CMD and MAAR binding, each MAAR's attachments and
    pool use, and the next timer deadline."""
    dmm = dom.dmm
    cmd = dmm.cmd_node
    return (tuple(_fields(b) for b in cmd.core.store) if cmd is not None else (),
            tuple((tuple(_fields(b) for b in n.core.bces.values()), n.core.pool.used,
                   tuple(n.core.attachments.present.items())) for n in dmm.maar_nodes),
            dmm.next_deadline())


def _fields(bce) -> tuple:
    """A binding's slots as comparable values (dicts as their items)."""
    values = (getattr(bce, name, None) for name in type(bce).__slots__)
    return tuple(tuple(v.items()) if isinstance(v, dict) else v for v in values)


#: Counted as time passes, not for the input at hand (held frames that
#: waited too long are dropped whenever the buffer is next touched).
TIME_DRIVEN = ("punt_buffer_expired",)


def error_total(dom: FakeDomain) -> int:
    """The errors an input may have caused (time-driven ones left out)."""
    return sum(n for reason, n in dom.dmm.stats.errors().items() if reason not in TIME_DRIVEN)


def attachment_signal(dom: FakeDomain, dpid: int, port: int, frame: bytes) -> bool:
    """A valid RS or DAD probe on one of a MAAR's access ports."""
    name = dom.dmm.switch_name(dpid)
    maar = dom.dmm.domain.maars.get(name) if name else None
    if maar is None or port not in maar.access_ports:
        return False
    nd = ndp.parse_nd(frame)
    return nd is not None and (nd.icmp_type == ndp.ROUTER_SOLICITATION or (
        nd.icmp_type == ndp.NEIGHBOR_SOLICITATION and nd.src.is_unspecified))


def counting_break(rejected: bool, counted: int) -> Optional[Break]:
    """Why the error count of one input is wrong, or None."""
    if counted > 1:
        return Break(COUNTED_TWICE, f"{counted} errors")
    if rejected and counted != 1:
        return Break(NOT_COUNTED, f"{counted} errors")
    return None


def binding_breaks(dom: FakeDomain) -> List[Break]:
    """A prefix in two CMD bindings, or outside its anchor's pool."""
    cmd = dom.dmm.cmd_node
    if cmd is None:
        return []
    pools = {dom.dmm.directory.named(name).address: maar.pool
             for name, maar in dom.dmm.domain.maars.items()}
    owner: Dict[object, str] = {}
    found = []
    for bce in cmd.core.store:
        for prefix, anchor in bce.anchors.items():
            if prefix in owner:
                found.append(Break(TWO_BINDINGS, f"{prefix}: {owner[prefix]} and {bce.mn_id}"))
            owner[prefix] = bce.mn_id
            pool = pools.get(anchor)
            if pool is None or not prefix.subnet_of(pool):
                found.append(Break(OUTSIDE_POOL, f"{prefix} of {bce.mn_id}, anchor {anchor}"))
    return found


def count_breaks(dom: FakeDomain) -> List[Break]:
    """MAARs whose incrementally kept (bindings, tunnels) differ from a
    recount of their BCEs."""
    found = []
    for node in dom.dmm.maar_nodes:
        counts = node.counts()
        kept, recount = (counts["bindings"], counts["tunnels"]), node.core.bces.recount()
        if kept != recount:
            found.append(Break(COUNTS_DRIFT, f"{node.name}: kept {kept}, recount {recount}"))
    return found


def rule_breaks(dom: FakeDomain) -> List[Break]:
    """Settled MAAR BCEs whose installed rules are not what they call for:
    records store no rules for those and derive them on load (issue 13),
    so a drift would come back different after a restart."""
    return [Break(RULES_DRIFT, f"{node.name}: {bce.mn_id}")
            for node in dom.dmm.maar_nodes for bce in node.core.bces.values()
            if routes.settled(bce) and bce.installed != routes.ordered(routes.wanted(bce))]


def table_breaks(dom: FakeDomain) -> List[Break]:
    """Switches whose incremental flow table differs from a rebuild."""
    found = []
    for dpid, table in dom.tables.items():
        fresh = FakeOFTable()
        for out in dom.dmm.switch_connected(dpid):
            fresh.apply(output_messages(out))
        if fresh.snapshot() != table.snapshot():
            extra = len(table.snapshot() - fresh.snapshot())
            missing = len(fresh.snapshot() - table.snapshot())
            found.append(Break(TABLE_DIFFERS, f"{dom.wires[dpid].name}: {extra} flows extra, "
                                              f"{missing} missing"))
    return found
