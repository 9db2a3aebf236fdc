"""The compact forms that keep runtime memory per MN small (issue 17): the
shared empty P-MAAR list, ``installed`` as an ordered tuple, the CMD's
sequence numbers as one flat tuple per MN.  Each must behave exactly like
the dicts and sets it replaced."""
import copy
import pickle
from ipaddress import IPv6Address, IPv6Network

import pytest

from dmm_ryu.core import routes
from dmm_ryu.core.actions import ANCHOR, SERVING, InstallLocalRoute, InstallTunnel, RemoveTunnel
from dmm_ryu.core.cmd_seqs import SequenceNumbers
from dmm_ryu.core.routes import NO_P_MAARS, MaarBce
from dmm_ryu.testbed.fakedomain import FakeDomain, domain_text
from dmm_ryu.tools import fuzzcheck
from dmm_ryu.wire.ndp import router_solicitation

P1, P2 = IPv6Network("2001:db8:1::/64"), IPv6Network("2001:db8:2::/64")
MAAR1, MAAR2 = IPv6Address("2001:db8:ff::1"), IPv6Address("2001:db8:ff::2")
MAC = "02:00:00:00:00:01"


def serving_bce(p_maars):
    bce = MaarBce.temporal("mn1", P2)
    bce.mac, bce.port, bce.final, bce.p_maars = MAC, 3, True, p_maars
    return bce


def test_temporal_bces_share_one_read_only_empty_p_maar_list():
    one, other = MaarBce.temporal("mn1", P1), MaarBce.temporal("mn2", P2)
    assert one.p_maars is other.p_maars is NO_P_MAARS and one.p_maars == {}
    with pytest.raises(TypeError):
        one.p_maars[P2] = MAAR2
    with pytest.raises(TypeError):
        one.p_maars.pop(P2, None)
    assert NO_P_MAARS == {}  # nothing got in
    assert copy.deepcopy(one).p_maars is NO_P_MAARS
    assert pickle.loads(pickle.dumps(NO_P_MAARS)) is NO_P_MAARS


def test_dropping_the_last_p_maar_prefix_returns_to_the_shared_empty_list():
    bce = serving_bce({P1: MAAR1})
    routes.drop_p_maars(bce, [P2])  # not there: the same dict stays
    assert bce.p_maars == {P1: MAAR1} and bce.p_maars is not NO_P_MAARS
    routes.drop_p_maars(bce, {P1})
    assert bce.p_maars is NO_P_MAARS
    routes.drop_p_maars(bce, [P1])  # dropping from the shared one never writes to it
    assert bce.p_maars is NO_P_MAARS


def test_a_one_prefix_p_maar_list_is_a_read_only_mapping_equal_to_the_dict():
    one = routes.p_maar_list({P1: MAAR1})
    assert isinstance(one, routes.OnePMaar) and one == {P1: MAAR1} and {P1: MAAR1} == one
    assert one != {P2: MAAR1} and one != {P1: MAAR2} and one != {}
    assert P1 in one and P2 not in one and one[P1] == MAAR1 and one.get(P2) is None
    assert list(one.items()) == [(P1, MAAR1)] and dict(one) == {P1: MAAR1} and len(one) == 1
    with pytest.raises(KeyError):
        one[P2]
    with pytest.raises(TypeError):
        one[P2] = MAAR2
    assert copy.deepcopy(one) == one and pickle.loads(pickle.dumps(one)) == one
    assert repr(one) == repr({P1: MAAR1})
    assert routes.p_maar_list({}) is NO_P_MAARS
    two = {P1: MAAR1, P2: MAAR2}
    assert routes.p_maar_list(two) is two


def test_learning_and_dropping_p_maars_keep_the_smallest_form():
    bce = serving_bce({P1: MAAR1, P2: MAAR2})
    routes.drop_p_maars(bce, [P2])
    assert isinstance(bce.p_maars, routes.OnePMaar) and bce.p_maars == {P1: MAAR1}
    decoded = serving_bce({P2: MAAR2})  # a record decodes to a dict
    assert isinstance(routes.compact(decoded).p_maars, routes.OnePMaar)
    assert decoded.p_maars == {P2: MAAR2}


def test_sync_keeps_installed_as_an_ordered_tuple_and_emits_only_differences():
    bce = serving_bce({P1: MAAR1})
    first = routes.sync(bce)
    tunnel = InstallTunnel("mn1", P1, MAAR1, SERVING, MAC, 3)
    local = InstallLocalRoute("mn1", P2, MAC, 3)
    assert first == [local, tunnel] and bce.installed == (local, tunnel)
    assert routes.sync(bce) == []
    routes.drop_p_maars(bce, [P1])
    assert routes.sync(bce) == [RemoveTunnel("mn1", P1, MAAR1, SERVING)]
    assert bce.installed == (local,)


def test_a_decoded_frozenset_is_compacted_and_syncs_like_the_tuple():
    decoded = serving_bce({})
    decoded.installed = frozenset({InstallTunnel("mn1", P1, MAAR1, SERVING, MAC, 3),
                                   InstallLocalRoute("mn1", P2, MAC, 3)})
    fresh = copy.deepcopy(decoded)
    assert routes.sync(decoded) == [RemoveTunnel("mn1", P1, MAAR1, SERVING)]
    routes.compact(fresh)
    assert fresh.p_maars is NO_P_MAARS and isinstance(fresh.installed, tuple)
    assert routes.sync(fresh) == [RemoveTunnel("mn1", P1, MAAR1, SERVING)]
    assert decoded.installed == fresh.installed == (InstallLocalRoute("mn1", P2, MAC, 3),)


def test_anchor_bce_installs_its_tunnel_once():
    bce = MaarBce.temporal("mn1", P1)
    bce.serving, bce.final = MAAR2, True
    assert routes.sync(bce) == [InstallTunnel("mn1", P1, MAAR2, ANCHOR)]
    assert routes.sync(bce) == [] and len(bce.installed) == 1


def test_sequence_numbers_count_per_mn_and_peer_and_forget_cleanly():
    seqs = SequenceNumbers()
    assert [seqs.next("mn1", MAAR1) for _ in range(3)] == [1, 2, 3]
    assert seqs.next("mn1", MAAR2) == 1 and seqs.next("mn2", MAAR1) == 1
    seqs.set("mn1", MAAR1, 65535)  # a 135 resynchronised it
    assert seqs.next("mn1", MAAR1) == 0 and seqs.of("mn1") == {MAAR1: 0, MAAR2: 1}
    seqs.forget("mn1", MAAR1)
    assert seqs.of("mn1") == {MAAR2: 1}
    seqs.forget("mn1", MAAR2)
    seqs.forget("mn9", MAAR2)  # never known: nothing happens
    assert seqs.of("mn1") == {} and seqs.next("mn1", MAAR1) == 1
    seqs.drop("mn1")
    seqs.clear()
    assert seqs.of("mn1") == {} and seqs.of("mn2") == {}


def test_a_handover_leaves_one_copy_of_what_each_node_keeps_per_mn():
    """After a move, the serving MAAR's admission places reuse the
    attachment table's pair, and the P-MAAR's BCE keeps only the pointer."""
    dom = FakeDomain(domain_text("proxy"))
    for maar in ("maar1", "maar2"):
        dom.inject(maar, 2, router_solicitation(MAC))
    p_maar, s_maar = dom.dmm.maar_nodes[:2]
    (mn_id,) = s_maar.core.bces
    assert s_maar._admitted[mn_id][0] is s_maar.core.attachments.present[mn_id]
    anchor = p_maar.core.bces[mn_id]
    assert anchor.serving == s_maar.core.address and (anchor.mac, anchor.port) == ("", 0)
    assert anchor.p_maars is NO_P_MAARS and len(anchor.installed) == 1
    assert isinstance(s_maar.core.bces[mn_id].p_maars, routes.OnePMaar)
    assert fuzzcheck.count_breaks(dom) == []
