"""The configuration the trust rules need: every MAAR's usable pool at the
CMD and at every MAAR, each with its own prefix length, and the timestamp
validity window."""
from ipaddress import IPv6Address, IPv6Network

import pytest

from dmm_ryu.config.domainfile import load_text
from dmm_ryu.core.config import CmdConfig, ConfigError, DomainConfig, Pool, Timers
from dmm_ryu.runtime.assembly import build
from tests.unit.test_assembly import BASE

MAAR1, MAAR2 = IPv6Address("2001:db8:ffff::1"), IPv6Address("2001:db8:ffff::2")


def test_pools_reach_the_cmd_and_every_maar_with_their_prefix_length():
    configs = build(load_text(BASE))
    expected = {MAAR1: Pool(IPv6Network("2001:db8:1::/48"), 64),
                MAAR2: Pool(IPv6Network("2001:db8:2::/120"), 128)}
    assert configs.cmd.pools == expected
    for maar in configs.maars.values():
        assert maar.pools == expected


@pytest.mark.parametrize("prefix, held", [
    ("2001:db8:1:7::/64", True),
    ("2001:db8:1:6::/63", False),     # the pool's prefixes are /64s
    ("2001:db8:1:7::/65", False),
    ("2001:db8:9::/64", False),       # another pool
])
def test_a_pool_holds_only_its_own_prefixes_at_its_length(prefix, held):
    assert Pool(IPv6Network("2001:db8:1::/48"), 64).holds(IPv6Network(prefix)) is held


def test_the_cmd_needs_a_pool_for_each_maar_and_no_other():
    domain = DomainConfig(IPv6Address("2001:db8:ffff::100"))
    pool = {MAAR1: Pool(IPv6Network("2001:db8:1::/48"))}
    CmdConfig(domain, frozenset({MAAR1}), pools=pool).check()
    with pytest.raises(ConfigError):
        CmdConfig(domain, frozenset({MAAR1, MAAR2}), pools=pool).check()


@pytest.mark.parametrize("window", [0.0, -1.0, float("inf"), float("nan")])
def test_timestamp_window_must_be_positive_and_finite(window):
    with pytest.raises(ConfigError):
        Timers(timestamp_window=window).check()
