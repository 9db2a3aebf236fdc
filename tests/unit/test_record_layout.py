"""The MN records' layout 2 (issue 13): a settled MAAR BCE is stored without
its rules, which are derived again on load; a temporal one keeps them; the
layouts this version does not read are refused, clearly."""
import json
from ipaddress import IPv6Address, IPv6Network

import pytest

from dmm_ryu.core import routes, slices
from dmm_ryu.core.actions import ANCHOR, InstallTunnel
from dmm_ryu.core.routes import MaarBce
from dmm_ryu.runtime import persistence
from dmm_ryu.runtime.persistence import PREFIX, NodeState
from dmm_ryu.store import records
from dmm_ryu.store.base import MemoryStore, StoreError
from dmm_ryu.testbed.fakedomain import FakeDomain, domain_text
from tests.unit.test_controller import MN_ID, attach

PREFIX_1 = IPv6Network("2001:db8:1::/64")
PEER = IPv6Address("2001:db8:ffff::2")
TUNNEL = InstallTunnel(MN_ID, PREFIX_1, PEER, ANCHOR)


def bce(**fields) -> MaarBce:
    base = dict(mn_id=MN_ID, mac="", port=0, local=PREFIX_1, serving=PEER, p_maars={},
                final=True, leaving=False, seq=1, ts=2, lifetime=3600, pending=None,
                installed=(TUNNEL,))
    return MaarBce(**{**base, **fields})


def round_trip(entry: MaarBce) -> tuple:
    """The BCE's record member, and the BCE read back from it."""
    piece = slices.MaarSlice(MN_ID, entry, None, (), None, ())
    body = json.loads(records.dumps(persistence._maar_out(piece)))
    return body["bce"], routes.compact(persistence._maar_in(MN_ID, body).bce)


def test_a_settled_bce_is_stored_without_rules_and_gets_them_back():
    member, back = round_trip(bce())
    assert member["installed"] is None
    assert back.installed == (TUNNEL,) == routes.ordered(routes.wanted(back))


def test_a_temporal_bce_keeps_the_rules_of_the_state_before_it():
    temporal = bce(serving=None, final=False, mac="0a:00:00:00:00:01", port=2)
    member, back = round_trip(temporal)
    assert routes.wanted(temporal) is None and member["installed"] is not None
    assert back.installed == (TUNNEL,)


def test_a_temporal_bce_stored_without_rules_is_refused():
    body = json.loads(records.dumps(persistence._maar_out(
        slices.MaarSlice(MN_ID, bce(), None, (), None, ()))))
    body["bce"].update(serving=None, final=False)
    with pytest.raises(ValueError, match="temporal BCE stored without its rules"):
        persistence._maar_in(MN_ID, body)


def test_a_layout_1_record_with_its_rules_still_loads():
    body = json.loads(records.dumps(persistence._maar_out(
        slices.MaarSlice(MN_ID, bce(serving=None, final=False), None, (), None, ()))))
    body["bce"].update(serving=str(PEER), final=True)  # settled, its rules written as v1 did
    assert routes.compact(persistence._maar_in(MN_ID, body).bce).installed == (TUNNEL,)


def test_a_record_of_an_unknown_layout_is_refused_naming_it():
    dom = FakeDomain(domain_text("proxy"))
    store = MemoryStore()
    store.commit({PREFIX + MN_ID: json.dumps({"v": 3, "mn_id": MN_ID, "timers": []}).encode()})
    with pytest.raises(StoreError, match=f"{PREFIX}{MN_ID}: record of layout 3"):
        NodeState(store, dom.dmm.nodes["maar1"].core).load(0.0)


def test_a_domain_after_two_attachments_stores_no_settled_rules_and_restores_them():
    stores = {}
    dom = FakeDomain(domain_text("proxy"), store_of=lambda name: stores.setdefault(name, MemoryStore()))
    attach(dom, "maar1")
    attach(dom, "maar2")
    rules = {name: dom.dmm.nodes[name].core.bces[MN_ID].installed for name in ("maar1", "maar2")}
    for name in rules:
        record = json.loads(stores[name].get(PREFIX + MN_ID).value)
        assert record["v"] == 2 and record["bce"]["installed"] is None
    dom.restart()
    assert {name: dom.dmm.nodes[name].core.bces[MN_ID].installed for name in rules} == rules
    assert all(rules.values())


@pytest.mark.parametrize("value", [b"not json", b"[1]",
                                   b'{"v": 2, "mn_id": "m", "timers": [], "bce": 7}'])
def test_a_record_that_cannot_be_restored_is_refused_naming_its_key(value):
    dom = FakeDomain(domain_text("proxy"))
    store = MemoryStore()
    store.commit({PREFIX + MN_ID: value})
    with pytest.raises(StoreError, match=f"{PREFIX}{MN_ID}: "):
        NodeState(store, dom.dmm.nodes["maar1"].core).load(0.0)
