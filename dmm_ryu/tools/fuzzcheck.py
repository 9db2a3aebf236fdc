"""The invariants the fuzzer checks after every input.

Cheap ones run after each input: no prefix in two CMD bindings, every
CMD prefix inside its anchor's pool, and the rejection count (below).  The
expensive one, each switch's incrementally built flow table equal to a
rebuild from state, runs every few hundred inputs.

*Rejected*, precisely: the controller's own ``packet_in`` for the input
returned no output and changed no state (the :func:`state` fingerprint:
every CMD binding, every MAAR snapshot and the next timer deadline).  A
rejected input must add exactly one to the sum of ``stats.errors()``;
no input may add more than one.
"""
from __future__ import annotations

from typing import Dict, List, Optional

from dmm_ryu.testbed.fakedomain import FakeDomain
from dmm_ryu.testbed.fakeswitch import FakeOFTable


def state(dom: FakeDomain) -> tuple:
    """What an accepted input changes; equal before and after a rejection."""
    dmm = dom.dmm
    cmd = dmm.cmd_node
    bindings = tuple(cmd.bindings()) if cmd is not None else ()
    return (bindings, tuple(n.snapshot() for n in dmm.maar_nodes), dmm.next_deadline(),
            tuple(tuple(sorted(n.core.attachments.present.items())) for n in dmm.maar_nodes))


def error_total(dom: FakeDomain) -> int:
    return sum(dom.dmm.stats.errors().values())


def counting_break(rejected: bool, counted: int) -> Optional[str]:
    """Why the error count of one input is wrong, or None."""
    if counted > 1:
        return f"one input counted {counted} errors"
    if rejected and counted != 1:
        return "rejected input not counted in stats.errors()"
    return None


def binding_breaks(dom: FakeDomain) -> List[str]:
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
                found.append(f"prefix {prefix} in the bindings of {owner[prefix]} and {bce.mn_id}")
            owner[prefix] = bce.mn_id
            pool = pools.get(anchor)
            if pool is None or not prefix.subnet_of(pool):
                found.append(f"prefix {prefix} of {bce.mn_id} outside the pool of its "
                             f"anchor {anchor}")
    return found


def table_breaks(dom: FakeDomain) -> List[str]:
    """Switches whose incremental flow table differs from a rebuild."""
    found = []
    for dpid, table in dom.tables.items():
        fresh = FakeOFTable()
        for out in dom.dmm.switch_connected(dpid):
            fresh.apply(out.msgs)
        if fresh.snapshot() != table.snapshot():
            extra = len(table.snapshot() - fresh.snapshot())
            missing = len(fresh.snapshot() - table.snapshot())
            found.append(f"{dom.wires[dpid].name}: flow table differs from a rebuild "
                         f"({extra} flows extra, {missing} missing)")
    return found
