"""The golden-dump comparison sees every changed rule and nothing else:
reordering is not a change, and a change is reported readably."""
import dataclasses
from collections import Counter

from tests.unit import golden
from tests.unit.test_of_scenarios import GOLDEN

TEXT = (GOLDEN / "fig2.txt").read_text()
SECTION = "maar2: full rule set (rebuild) in fig2"


def test_a_golden_file_parses_into_its_sections_and_flows():
    sections = golden.parse(TEXT)
    assert SECTION in sections
    lines = [line for line in TEXT.splitlines() if line.strip() and not line.startswith("#")]
    assert sum(sum(c.values()) for c in sections.values()) == len(lines)


def reordered(text):
    """Sections in reverse order, each with its flows reversed and the
    fields of every match reversed."""
    blocks = []
    for block in text.strip().split("\n\n")[::-1]:
        header, *flows = block.splitlines()
        blocks.append("\n".join([header] + [_reverse_fields(f) for f in flows[::-1]]))
    return "\n\n".join(blocks) + "\n"


def _reverse_fields(line):
    command, fields, *actions = line.split(" ")
    return " ".join([command, ",".join(fields.split(",")[::-1]), *actions])


def test_line_and_field_order_do_not_count():
    shuffled = reordered(TEXT)
    assert shuffled != TEXT and sorted(shuffled) == sorted(TEXT)
    assert golden.compare(golden.parse(TEXT), golden.parse(shuffled)) == ""


def mutated(sections, change):
    """A copy of ``sections`` with the first tunnel flow of SECTION changed."""
    flows = sections[SECTION]
    victim = next(f for f in flows if "push_mpls:0x8847" in f.actions)
    out = {name: Counter(c) for name, c in sections.items()}
    out[SECTION][victim] -= 1
    out[SECTION][change(victim)] += 1
    return out, victim


def test_a_changed_action_is_reported_as_that_rule_changed():
    sections = golden.parse(TEXT)
    def to_port_9(flow):
        actions = flow.actions[:-1] + ("output:9",)
        return dataclasses.replace(flow, actions=actions,
                                   line=flow.line.replace(flow.actions[-1], "output:9"))
    now, victim = mutated(sections, to_port_9)
    diff = golden.compare(sections, now)
    assert diff.splitlines() == [f"in '{SECTION}':", f"  changed: {victim.line}",
                                 f"       to: {victim.line.replace(victim.actions[-1], 'output:9')}"]


def test_a_changed_match_is_reported_as_one_rule_removed_and_one_added():
    sections = golden.parse(TEXT)
    now, victim = mutated(sections, lambda f: dataclasses.replace(
        f, priority=f.priority + 1, line=f.line.replace(f"priority={f.priority}",
                                                        f"priority={f.priority + 1}")))
    lines = golden.compare(sections, now).splitlines()
    assert lines[0] == f"in '{SECTION}':"
    assert sorted(line.split(":")[0].strip() for line in lines[1:]) == ["added", "removed"]
    assert f"  removed: {victim.line}" in lines


def test_a_missing_section_is_named():
    sections = golden.parse(TEXT)
    now = {k: v for k, v in sections.items() if k != SECTION}
    assert golden.compare(sections, now) == f"section only in the golden file: {SECTION}"


#: Lines as ``ovs-ofctl --no-stats dump-flows`` (OVS 3.1) printed them for fig2's maar3.
OVS_DUMP = """\
 cookie=0xd301000000000000, priority=2000,icmp6,in_port=2,icmp_type=135,nd_target=fe80::1 actions=CONTROLLER:65535
 cookie=0xd301000000000000, priority=2000,ipv6,in_port=1,ipv6_dst=2001:db8:ffff::3,nw_proto=135 actions=CONTROLLER:65535
 cookie=0xd301000000000000, priority=1000,mpls,in_port=1,dl_dst=0e:00:00:00:00:03 actions=goto_table:2
 cookie=0xd301000000000000, table=2, priority=0 actions=drop
"""
GOLDEN_LINES = """\
add table=0,priority=2000,cookie=0xd301000000000000,in_port=2,eth_type=0x86dd,ip_proto=58,icmpv6_type=135,nd_target=fe80::1 actions=output:CONTROLLER
add table=0,priority=2000,cookie=0xd301000000000000,in_port=1,eth_type=0x86dd,ip_proto=135,ipv6_dst=2001:db8:ffff::3 actions=output:CONTROLLER
add table=0,priority=1000,cookie=0xd301000000000000,in_port=1,eth_dst=0e:00:00:00:00:03,eth_type=0x8847 actions=goto_table:2
add table=2,priority=0,cookie=0xd301000000000000 actions=drop
"""


def test_ovs_spellings_read_as_the_golden_ones():
    (expected,) = golden.parse("# s\n" + GOLDEN_LINES).values()
    assert golden.parse_ovs_dump(OVS_DUMP) == expected
