"""Golden rule dumps (``openflow_rules/golden/*.txt``) read as structure.

A golden file is ``ovs-ofctl add-flows`` text in sections, each headed by a
``# <maar>: ...`` comment.  Comparing it as text would fail on a harmless
reordering and pass nothing a reader can act on; here every line becomes a
:class:`GoldenFlow` and each section a multiset of them, so order does not
count and a difference is reported flow by flow: which rule was added,
removed or changed, and how.

The files are rewritten only by ``./dmm golden`` (``scripts/golden.py``),
so a changed rule shows up as a diff a reviewer reads in git.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Tuple

#: Fields of a line that are not match fields.
HEAD_FIELDS = ("table", "priority", "cookie")
HOW_TO_UPDATE = "if the change is intended, run ./dmm golden and review the git diff"


@dataclass(frozen=True)
class GoldenFlow:
    """One ``add``/``delete``/``delete_strict`` line, order-free inside."""

    command: str
    table: Optional[int]
    priority: Optional[int]
    cookie: str
    match: FrozenSet[Tuple[str, str]]
    actions: Tuple[str, ...]
    line: str = field(compare=False, default="")

    @property
    def place(self) -> tuple:
        """What a switch identifies the flow by (the cookie is content)."""
        return (self.command, self.table, self.priority, self.match)


def parse_flow(line: str) -> GoldenFlow:
    """A line as :func:`dmm_ryu.of.render.format_flow` writes it."""
    command, _, rest = line.strip().partition(" ")
    fields, _, actions = rest.partition(" actions=")
    pairs = [item.partition("=")[::2] for item in fields.split(",") if item]
    named = dict(p for p in pairs if p[0] in HEAD_FIELDS)
    match = frozenset(p for p in pairs if p[0] not in HEAD_FIELDS)
    return GoldenFlow(command, _int(named.get("table")), _int(named.get("priority")),
                      named.get("cookie", ""), match,
                      tuple(actions.split(",")) if actions else (), line.strip())


def _int(text: Optional[str]) -> Optional[int]:
    return None if text is None else int(text)


def parse(text: str) -> Dict[str, Counter]:
    """Section header (without ``# ``) -> multiset of its flows."""
    sections: Dict[str, Counter] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("#"):
            current = sections.setdefault(line.lstrip("# ").strip(), Counter())
        elif line.strip():
            if current is None:
                raise ValueError(f"flow before any '# <section>' header: {line!r}")
            current[parse_flow(line)] += 1
    return sections


def compare(golden: Dict[str, Counter], now: Dict[str, Counter]) -> str:
    """A readable account of every difference; empty when they agree."""
    report = [f"section only in the golden file: {name}" for name in golden if name not in now]
    report += [f"section not in the golden file: {name}" for name in now if name not in golden]
    for name in golden.keys() & now.keys():
        lines = _compare_section(golden[name], now[name])
        if lines:
            report.append(f"in '{name}':")
            report += [f"  {line}" for line in lines]
    return "\n".join(report)


def _compare_section(golden: Counter, now: Counter) -> List[str]:
    """Flows lost, flows new, and flows whose cookie or actions changed."""
    lost, new = golden - now, now - golden
    old_at = {f.place: f for f in lost}
    lines = []
    for flow in sorted(new.elements(), key=lambda f: f.line):
        before = old_at.pop(flow.place, None)
        if before is None:
            lines.append(f"added:   {flow.line}")
        else:
            lines += [f"changed: {before.line}", f"     to: {flow.line}"]
    lines += [f"removed: {f.line}" for f in sorted(old_at.values(), key=lambda f: f.line)]
    return lines


# --- what Open vSwitch reports back ------------------------------------------

#: ``ovs-ofctl dump-flows`` spellings -> the ones format_flow writes.
OVS_FIELDS = {"icmp_type": "icmpv6_type", "nw_proto": "ip_proto",
              "dl_dst": "eth_dst", "dl_src": "eth_src"}
OVS_SHORTHANDS = {"ipv6": {"eth_type": "0x86dd"}, "mpls": {"eth_type": "0x8847"},
                  "icmp6": {"eth_type": "0x86dd", "ip_proto": "58"}}
OVS_ACTIONS = {"CONTROLLER:65535": "output:CONTROLLER"}


def parse_ovs_dump(text: str) -> Counter:
    """``ovs-ofctl --no-stats dump-flows`` output as golden ``add`` flows,
    so a bridge's rules compare with a golden section."""
    flows: Counter = Counter()
    for line in text.splitlines():
        if line.strip():
            flows[parse_flow("add " + _ovs_as_golden(line))] += 1
    return flows


def _ovs_as_golden(line: str) -> str:
    fields, _, actions = line.strip().partition(" actions=")
    spelled = []
    for item in fields.replace(", ", ",").split(","):
        name, _, value = item.partition("=")
        if name in OVS_SHORTHANDS and not value:
            spelled += [f"{k}={v}" for k, v in OVS_SHORTHANDS[name].items()]
        else:
            spelled.append(f"{OVS_FIELDS.get(name, name)}={value}")
    if not any(item.startswith("table=") for item in spelled):
        spelled.append("table=0")
    ours = ",".join(OVS_ACTIONS.get(a, a) for a in actions.split(","))
    return f"{','.join(spelled)} actions={ours}"
