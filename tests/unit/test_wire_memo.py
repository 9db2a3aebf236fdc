"""The identity memo and the codec's once-per-message encoding."""
from ipaddress import IPv6Address, IPv6Network

from dmm_ryu.wire import mh
from dmm_ryu.wire.memo import IdentityMemo
from dmm_ryu.wire.mh.codec import _unsummed
from dmm_ryu.wire.mh.options import DEFAULT_OPTION_TYPES, OptionTypes

A, B, C = (IPv6Address(f"2001:db8:ffff::{n}") for n in (1, 2, 3))


def pbu(sequence: int = 7) -> mh.ProxyBindingUpdate:
    return mh.ProxyBindingUpdate(sequence, 3600, mh.MobilityOptions(
        mn_id="mn1@dmm.example", hnps=(IPv6Network("2001:db8:1::/64"),),
        handoff=mh.HandoffIndicator.BETWEEN_MAGS, serving_maar=C))


def test_memo_encodes_each_object_once_and_starts_over_when_full():
    calls = []
    memo = IdentityMemo(lambda v: calls.append(v) or len(calls), size=2)
    one, other = frozenset({1}), frozenset({1})
    assert (memo(one), memo(one), memo(other)) == (1, 1, 2)  # equal is not identical
    assert memo(frozenset({3})) == 3  # the memo was full: it starts over
    assert memo(one) == 4 and len(calls) == 4


def test_one_message_sent_to_two_peers_is_checksummed_for_each():
    message = pbu()
    to_b, to_c = mh.encode_mh(message, A, B), mh.encode_mh(message, A, C)
    assert to_b[:4] + to_b[6:] == to_c[:4] + to_c[6:] and to_b[4:6] != to_c[4:6]
    assert mh.decode_mh(to_b, A, B) == message == mh.decode_mh(to_c, A, C)


def test_remembered_bytes_equal_a_fresh_encoding():
    message = pbu()
    first = mh.encode_mh(message, A, B)
    assert mh.encode_mh(message, A, B) == first == mh.encode_mh(pbu(), A, B)
    assert first[:4] + b"\0\0" + first[6:] == _unsummed(message, DEFAULT_OPTION_TYPES)


def test_other_option_types_are_not_served_from_the_default_memo():
    message, types = pbu(), OptionTypes(serving_maar=200)
    default, custom = mh.encode_mh(message, A, B), mh.encode_mh(message, A, B, types)
    assert default != custom
    assert mh.decode_mh(custom, A, B, types) == message


def test_an_acknowledgement_is_not_kept_alive_by_the_memo():
    from dmm_ryu.wire.mh.codec import _PBU_UNSUMMED
    pba = mh.ProxyBindingAck(mh.Status.ACCEPTED, 7, 3600, pbu().options)
    mh.encode_mh(pba, A, B)
    assert all(kept is not pba for kept in _PBU_UNSUMMED._kept.values())


def test_the_memo_holds_no_tracked_pair_per_entry():
    """Entries live until the memo starts over, long enough for the garbage
    collector to promote them and rescan them at every full collection: an
    entry adds no object the collector tracks beyond the value it keeps
    alive (issue 13: the records' memos once doubled the full collections
    of a handover run)."""
    import gc
    memo = IdentityMemo(lambda v: f"{v}", size=1024)
    values = [frozenset({n}) for n in range(500)]
    gc.collect()
    tracked = len(gc.get_objects())
    for value in values:
        memo(value)
    assert len(gc.get_objects()) - tracked < 10


def test_a_value_encoded_to_none_is_remembered_as_such():
    calls = []
    memo = IdentityMemo(lambda v: calls.append(v))
    value = frozenset({1})
    assert memo(value) is None and memo(value) is None and len(calls) == 1
