"""De-registration (draft 3.5), both methods, and the end of a session:
when the MN leaves the domain or its lifetime runs out, the session
disappears everywhere and the prefixes return to their pools."""
import pytest

from dmm_ryu.core.config import Dereg, Mode
from dmm_ryu.sim.network import Link
from dmm_ryu.sim.domain import CMD_ADDRESS, bindings, build, violations
from dmm_ryu.wire.mh.model import HandoffIndicator

LIFETIME = 400


def moved_once(dereg, mode=Mode.PROXY):
    domain = build(3, mode, dereg)
    domain.move("mn", 0)
    domain.move("mn", 1)
    assert domain.net.settle() and violations(domain) == []
    return domain


def pbus_from(domain, maar, since=0):
    return [s.message for s in domain.net.log[since:]
            if s.src == maar.address and not hasattr(s.message, "status")]


def assert_all_gone(domain):
    assert len(domain.cmd.store) == 0
    assert all(m.bces == {} and m.pool.allocated() == {} for m in domain.maars)
    assert list(domain.net.dataplane.entries()) == []
    assert violations(domain) == []


def test_serving_only_p_maar_stops_its_timer():
    """Method 1: the P-MAAR never de-registers on its own; only the S-MAAR
    keeps the session alive (re-registrations) and ends it."""
    domain = moved_once(Dereg.SERVING_ONLY)
    p_maar, s_maar = domain.maars[:2]
    mark = len(domain.net.log)
    domain.net.run_for(3 * LIFETIME)
    assert pbus_from(domain, p_maar, mark) == []
    assert len(pbus_from(domain, s_maar, mark)) == 3  # re-registrations at 0.8 lifetime
    assert domain.net.settle() and violations(domain) == []
    domain.move("mn", None)
    assert domain.net.settle()
    assert_all_gone(domain)


def test_renew_p_maar_asks_again_and_the_cmd_renews():
    """Method 2: the P-MAAR's BCE expires, it sends a de-registration, the
    CMD answers with a non-zero lifetime because the MN is still here."""
    domain = moved_once(Dereg.RENEW)
    p_maar = domain.maars[0]
    mark = len(domain.net.log)
    domain.net.run_for(3 * LIFETIME + 1)
    asked = pbus_from(domain, p_maar, mark)
    assert len(asked) == 3
    assert all(m.lifetime == 0 and m.options.handoff == HandoffIndicator.NOT_CHANGED for m in asked)
    answers = [s.message for s in domain.net.log[mark:]
               if s.dst == p_maar.address and hasattr(s.message, "status")]
    assert [a.lifetime for a in answers] == [LIFETIME] * 3
    assert p_maar.counters["renewed"] == 3 and domain.cmd.counters["renewed"] == 3
    assert domain.net.settle() and violations(domain) == []
    domain.move("mn", None)
    assert domain.net.settle()
    assert_all_gone(domain)


def test_renew_cleans_up_after_a_lost_deregistration():
    """The CMD's de-registration to the P-MAAR is lost for good: with
    "renew" the P-MAAR asks when its BCE expires, hears lifetime 0 and
    forgets.  (With "serving-only" it would keep the prefix: that is the
    price of never letting a P-MAAR de-register.)"""
    domain = moved_once(Dereg.RENEW)
    p_maar = domain.maars[0]
    domain.net.links[(CMD_ADDRESS, p_maar.address)] = Link(loss=1.0)
    domain.move("mn", None)
    assert domain.net.settle()
    assert domain.cmd.counters["gave_up"] == 1 and p_maar.bces != {}
    domain.net.links.clear()
    domain.net.run_for(LIFETIME)
    assert domain.net.settle()
    assert_all_gone(domain)


@pytest.mark.parametrize("dereg", list(Dereg))
def test_session_expires_without_re_registration(dereg):
    """The S-MAAR goes silent: one lifetime after the last registration the
    CMD ends the session and de-registers every MAAR of it."""
    domain = moved_once(dereg)
    domain.net.links[(domain.maars[1].address, CMD_ADDRESS)] = Link(loss=1.0)
    domain.net.run_for(2 * LIFETIME)
    assert domain.cmd.counters["expired"] == 1
    domain.net.links.clear()
    assert domain.net.settle()
    assert_all_gone(domain)


@pytest.mark.parametrize("mode", list(Mode))
def test_leaving_from_the_first_maar_and_coming_back(mode):
    domain = build(3, mode, lma=2 if mode is Mode.PMIPV6 else None)
    domain.move("mn", 0)
    domain.move("mn", None)
    assert domain.net.settle()
    assert_all_gone(domain)
    domain.move("mn", 1)
    assert domain.net.settle() and violations(domain) == []
    assert len(bindings(domain)) == 1
