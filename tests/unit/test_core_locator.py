"""Locator mode (draft 3.3) message for message: Figure 3 for every
handover, with one, two and three P-MAARs (1 + 3 per P-MAAR messages, no
PBA from the CMD to the S-MAAR), Figure 1 for the first registration, and
the re-registration rule: a binding refresh is answered by the CMD alone
and never starts a P-MAAR round."""
from ipaddress import IPv6Address, IPv6Network

import pytest

from dmm_ryu.core.config import Mode, Timers
from dmm_ryu.sim.domain import build, describe, violations
from dmm_ryu.sim.network import Link
from dmm_ryu.testbed.fakedomain import FakeDomain, domain_text
from dmm_ryu.wire.mh import ProxyBindingAck, decode_packet
from tests.unit.test_controller import MN_ID, attach, ra_prefixes

PREFS = [f"2001:db8:{i}::/64" for i in range(1, 5)]


def walk(n_maars: int, stops: int, timers: Timers = Timers()):
    """The MN attaches at MAAR1 and moves on to MAAR2, ..., one handover
    per further stop; the rows each move put on the wire."""
    domain = build(n_maars, Mode.LOCATOR, link=Link(delay=0.01), timers=timers)
    rows = []
    for index in range(stops):
        mark = len(domain.net.log)
        domain.move("mn", index)
        assert domain.net.settle()
        assert violations(domain) == []
        rows.append(describe(domain, mark))
    return domain, rows


def figure3(s_maar: str, p_maars, prefixes):
    """Figure 3's list for a handover to ``s_maar``, whose own prefix is
    ``prefixes[s_maar]``: the PBU, then per P-MAAR the PBU* from the CMD,
    its direct PBA to the S-MAAR and its PBA* to the CMD."""
    rows = [(s_maar, "CMD", "PBU", None, (prefixes[s_maar],), None, ())]
    rows += [("CMD", p, "PBU", None, (prefixes[p],), s_maar, ()) for p in p_maars]
    for p in p_maars:
        rows += [(p, s_maar, "PBA", 0, (prefixes[p],), None, ()),
                 (p, "CMD", "PBA", 0, (prefixes[p],), s_maar, ())]
    return rows


def in_figure_order(rows):
    """Equal delays interleave the P-MAARs' answers; each P-MAAR still
    answers the S-MAAR first, then the CMD (Figure 3's order)."""
    pbus = [r for r in rows[1:] if r[2] == "PBU"]
    answers = [r for r in rows[1:] if r[2] == "PBA"]
    ordered = [rows[0]] + pbus
    for pbu in pbus:
        ordered += [r for r in answers if r[0] == pbu[1]]
    return ordered


NAMES = {f"MAAR{i}": PREFS[i - 1] for i in range(1, 5)}


def test_first_registration_is_still_figure1():
    _, (rows,) = walk(3, 1)
    assert rows == [("MAAR1", "CMD", "PBU", None, (PREFS[0],), None, ()),
                    ("CMD", "MAAR1", "PBA", 0, (PREFS[0],), None, ())]


@pytest.mark.parametrize("p_maars", [1, 2, 3])
def test_every_handover_is_figure3(p_maars):
    """1, 2 and 3 P-MAARs: 4, 7 and 10 messages, none from the CMD to the
    S-MAAR, and the S-MAAR ends with a tunnel to every P-MAAR."""
    domain, rows = walk(p_maars + 1, p_maars + 1)
    last = rows[-1]
    s_maar = f"MAAR{p_maars + 1}"
    expected = figure3(s_maar, [f"MAAR{i}" for i in range(1, p_maars + 1)], NAMES)
    assert len(last) == 1 + 3 * p_maars
    assert in_figure_order(last) == expected
    assert [len(r) for r in rows[1:]] == [1 + 3 * k for k in range(1, p_maars + 1)]
    serving = domain.maars[p_maars].bces["mn"]
    assert serving.final and serving.pending is None
    assert sorted(map(str, serving.p_maars)) == PREFS[:p_maars]
    assert domain.maars[p_maars].counters["accepted_by_p_maar"] == 1
    assert domain.net.mns["mn"].prefixes == {IPv6Network(p) for p in PREFS[:p_maars + 1]}


def test_the_demo_path_is_4_7_7():
    """MAAR1 -> MAAR2 -> MAAR3 -> MAAR1, as the demo and the e2e move."""
    domain = build(3, Mode.LOCATOR, link=Link(delay=0.01))
    counts = []
    for index in (0, 1, 2, 0):
        mark = len(domain.net.log)
        domain.move("mn", index)
        assert domain.net.settle()
        counts.append(len(describe(domain, mark)))
    assert counts == [2, 4, 7, 7]
    back = domain.maars[0].bces["mn"]
    assert back.local == IPv6Network(PREFS[0]) and sorted(map(str, back.p_maars)) == PREFS[1:3]


def test_a_binding_refresh_involves_no_p_maar():
    """HI 5 re-registration (RFC 5213 5.3.3): the CMD answers the S-MAAR
    with the session's HNPs and a Previous MAAR option per P-MAAR prefix;
    no PBU reaches a P-MAAR, and the P-MAARs' tunnels stay."""
    timers = Timers(lifetime=40)
    domain, _ = walk(3, 3, timers)
    mark = len(domain.net.log)
    domain.net.run_for(40 * timers.refresh_ratio + 1)
    assert domain.net.settle()
    rows = describe(domain, mark)
    assert rows == [
        ("MAAR3", "CMD", "PBU", None, (PREFS[2],), None, ()),
        ("CMD", "MAAR3", "PBA", 0, tuple(PREFS[:3]), None,
         (("MAAR1", PREFS[0]), ("MAAR2", PREFS[1]))),
    ]
    assert domain.cmd.counters["refreshes"] == 1
    assert violations(domain) == []


def test_a_lost_second_direct_pba_is_repaired_by_the_early_re_registration():
    """The first P-MAAR's direct PBA accepts the registration; the second
    one's is lost (never retransmitted).  The S-MAAR re-registers
    ``retransmit_initial`` later; the CMD's answer names the missing anchor
    in a Previous MAAR option, and the tunnel follows without a P-MAAR
    round (the lost link stays lost)."""
    timers = Timers(lifetime=40)
    domain = build(3, Mode.LOCATOR, link=Link(delay=0.01), timers=timers)
    maar1, maar2, maar3 = domain.maars
    for index in (0, 1):
        domain.move("mn", index)
        assert domain.net.settle()
    domain.net.set_link(domain.cmd.address, maar1.address, Link(delay=0.05))
    domain.net.links[(maar1.address, maar3.address)] = Link(loss=1.0)
    domain.move("mn", 2)
    domain.net.run_for(0.3)
    assert maar3.bces["mn"].p_maars == {IPv6Network(PREFS[1]): maar2.address}
    domain.net.run_for(timers.retransmit_initial + 0.5)
    assert domain.net.settle()
    assert maar3.bces["mn"].p_maars == {IPv6Network(PREFS[0]): maar1.address,
                                        IPv6Network(PREFS[1]): maar2.address}
    assert maar3.counters["refresh_registrations"] == 1
    assert violations(domain) == []


def test_fake_domain_puts_figure3_on_the_wire():
    """Through the runtime and fake switches: the encoded PBU/PBAs of a
    handover are Figure 3's four, with no PBA from the CMD to MAAR2."""
    dom = FakeDomain(domain_text("locator"))
    attach(dom, "maar1")
    mark = len(dom.wire)
    attach(dom, "maar2")
    names = {f"2001:db8:ffff::{i}": f"maar{i}" for i in (1, 2, 3)}
    names["2001:db8:ffff::100"] = "cmd"
    seen = []
    for frame in dom.wire[mark:]:
        src, dst, msg = decode_packet(frame[14:])
        kind = "PBA" if isinstance(msg, ProxyBindingAck) else "PBU"
        seen.append((names[str(src)], names[str(dst)], kind, msg.options.serving_maar is not None))
    assert seen == [("maar2", "cmd", "PBU", False), ("cmd", "maar1", "PBU", True),
                    ("maar1", "maar2", "PBA", False), ("maar1", "cmd", "PBA", True)]
    assert dom.dmm.cmd_node.binding(MN_ID).serving == IPv6Address("2001:db8:ffff::2")
    name, _, frame = dom.last_ra()
    assert name == "maar2" and sorted(ra_prefixes(frame)) == [("2001:db8:1::/64", False),
                                                              ("2001:db8:2::/64", True)]
