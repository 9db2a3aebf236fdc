"""From the domain file to the core's configuration: the new keys reach
the core, and cross-key rules the parser cannot see are enforced."""
import pytest

from dmm_ryu.config.domainfile import InvalidConfigError, load_text
from dmm_ryu.runtime.assembly import build

BASE = """\
maars:
  maar1: {dpid: 1, address: "2001:db8:ffff::1", pool: "2001:db8:1::/48",
          access_ports: [2], transport_ports: [1], max_bindings: 10}
  maar2: {dpid: 2, address: "2001:db8:ffff::2", pool: "2001:db8:2::/120", prefix_length: 128,
          access_ports: [2], transport_ports: [1]}
cmd: {address: "2001:db8:ffff::100", dpid: 256, port: 1}
"""


def test_new_keys_reach_the_core():
    configs = build(load_text(BASE + "access_technology: ppp\n"))
    assert configs.maars["maar1"].max_bindings == 10
    assert configs.maars["maar2"].max_bindings == 4096
    assert configs.cmd.max_bindings == 4106  # what all MAARs may serve together
    assert configs.domain.access_tech == 2


def test_defaults_in_the_core():
    configs = build(load_text(BASE))
    assert configs.domain.access_tech == 4
    assert configs.domain.timers.prefix_idle == 0.0


def test_notes_warn_of_any_mac_and_of_a_pool_smaller_than_max_bindings():
    notes = build(load_text(BASE)).notes
    assert any(n.startswith("mn_policy: not set, so any MAC is served") for n in notes)
    assert ("maars.maar2.max_bindings: 4096 is more than the 256 prefixes of "
            "2001:db8:2::/120: the pool runs out first") in notes
    explicit = build(load_text(BASE + "mn_policy: any\n")).notes
    assert not any(n.startswith("mn_policy") for n in explicit)


@pytest.mark.parametrize("change,message", [
    (("2001:db8:ffff::100", "2001:db8:1::100"), "cmd.address: 2001:db8:1::100 lies in maar1's pool"),
    (('"2001:db8:ffff::2"', '"2001:db8:2::2"'), "maars.maar2.address: 2001:db8:2::2 lies in maar2's"),
    (("dpid: 256", f"dpid: {2**40 + 1}"), "cmd.dpid: its transport MAC is the transport MAC of MAAR maar1"),
])
def test_cross_key_rules(change, message):
    with pytest.raises(InvalidConfigError, match=message):
        build(load_text(BASE.replace(*change)))


def test_address_beyond_the_usable_part_of_a_cut_pool_is_fine():
    """A /32 pool is cut to what the labels number; an address above that
    part is never handed out, so it may lie in the configured pool."""
    text = BASE.replace('"2001:db8:1::/48"', '"2001:db8::/32"').replace(
        '"2001:db8:2::/120"', '"2001:db9::/48"')
    assert "only 2001:db8::/46" in " ".join(build(load_text(text)).notes)


@pytest.mark.parametrize("mode, noted", [("proxy", False), ("pmipv6", True)])
def test_prefix_idle_reaches_the_core_and_is_noted_where_void(mode, noted):
    from dmm_ryu.testbed.fakedomain import domain_text
    text = domain_text(mode).replace("timers: {lifetime: 40}", "timers: {lifetime: 40, prefix_idle: 30}")
    configs = build(load_text(text))
    assert configs.domain.timers.prefix_idle == 30.0
    assert any("prefix_idle" in note for note in configs.notes) is noted


def test_timestamp_window_reaches_the_core():
    from dmm_ryu.testbed.fakedomain import domain_text
    text = domain_text().replace("timers: {lifetime: 40}", "timers: {lifetime: 40, timestamp_window: 5}")
    assert build(load_text(text)).domain.timers.timestamp_window == 5.0


def test_dlif_gives_every_maar_its_own_dlif_derived_from_its_dpid():
    from dmm_ryu.testbed.fakedomain import domain_text
    dlifs = build(load_text(domain_text(extra="gateway: dlif\n"))).domain.dlifs
    assert {str(a): (str(d.link_local), d.mac.hex(":")) for a, d in dlifs.items()} == {
        f"2001:db8:ffff::{i}": (f"fe80::400:ff:fe00:{i}", f"06:00:00:00:00:0{i}") for i in (1, 2, 3)}
    assert build(load_text(domain_text())).domain.dlifs == {}


def test_dlif_refuses_an_mn_mac_that_is_a_dlif_mac():
    from dmm_ryu.testbed.fakedomain import domain_text
    text = domain_text(extra='gateway: dlif\nmn_ids: {"06:00:00:00:00:02": mn@x}\n')
    with pytest.raises(InvalidConfigError, match="DLIF MAC of MAAR maar2"):
        build(load_text(text))
    build(load_text(text.replace("gateway: dlif", "gateway: shared")))
