"""Malformed domain files, each refused with the key (or byte) named.

Every case is a whole file run through what ``./dmm check`` runs (the safe
reader, the parser and the assembly); none may pass, none may raise
anything but :class:`InvalidConfigError`.  The first block are the files
that gave a traceback or passed the check yet broke the controller
(issue 12); the rest guard the other rules of the domain file.
"""
import pytest

from dmm_ryu.config.domainfile import InvalidConfigError, load_text
from dmm_ryu.runtime.assembly import build

BASE = """\
mode: relay
maars:
  maar1:
    dpid: 1
    address: "2001:db8:ffff::1"
    pool: "2001:db8:1::/48"
    access_ports: [2, 3]
    transport_ports: [1]
  maar2:
    dpid: 2
    address: "2001:db8:ffff::2"
    pool: "2001:db8:2::/48"
    access_ports: [2]
    transport_ports: [1]
cmd: {address: "2001:db8:ffff::100", maar: maar1, port: 4}
mn_ids:
  "0a:00:00:00:00:01": mn1@dmm.example
  "0a:00:00:00:00:02": mn2@dmm.example
timers: {lifetime: 40}
"""

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n" \
       "c: [*b, *b, *b, *b, *b, *b, *b, *b]\n"


def edit(old, new, text=BASE):
    assert old in text
    return text.replace(old, new, 1)


def extra(lines):
    return BASE + lines


NO_IDS = edit('mn_ids:\n  "0a:00:00:00:00:01": mn1@dmm.example\n  "0a:00:00:00:00:02": mn2@dmm.example\n',
              "")

CASES = {
    # -- gave a traceback -------------------------------------------------------
    "non_utf8": (BASE.encode().replace(b"relay", b"rel\xffay"), "not UTF-8 text: byte 0xff at offset 9"),
    "lone_surrogate": (BASE.encode().replace(b"relay", b"\xed\xa0\x80"), "not UTF-8 text"),
    "deep_nesting": (extra("x: " + "[" * 5000), "x[0][0]"),
    "alias_bomb": (BOMB + BASE, "a: YAML anchors (&name) are not allowed"),
    "lma_as_list": (edit("mode: relay", "mode: pmipv6\nlma: [maar1]"), "lma: mode pmipv6 needs"),
    "lma_as_mapping": (edit("mode: relay", "mode: pmipv6\nlma: {maar1: 1}"), "lma: mode pmipv6 needs"),
    "cmd_maar_as_list": (edit("maar: maar1", "maar: [maar1]"), "cmd.maar: unknown MAAR"),
    "cmd_maar_null": (edit("maar: maar1", "maar: null"), "cmd.maar: unknown MAAR None"),
    "huge_integer": (edit("dpid: 2", "dpid: " + "9" * 5000), "maars.maar2.dpid: value longer than"),
    # -- passed the check, broke the controller ------------------------------------
    "template_extra_field": (NO_IDS + "mn_policy: any\nmn_id_template: '{mac}@{domain}'\n",
                             "mn_id_template: only the field {mac} is allowed, found {domain...}"),
    "template_index": (NO_IDS + "mn_id_template: '{mac[0]}@x'\n", "mn_id_template: only the field"),
    "template_conversion": (NO_IDS + "mn_id_template: '{mac!r}@x'\n", "mn_id_template: only the field"),
    "template_format_spec": (NO_IDS + "mn_id_template: '{mac:>999999}'\n", "only the field"),
    "template_positional": (NO_IDS + "mn_id_template: '{}@x'\n", "mn_id_template: only the field"),
    "template_unbalanced": (NO_IDS + "mn_id_template: '{mac@x'\n", "mn_id_template: not a format"),
    "template_without_mac": (NO_IDS + "mn_id_template: 'fixed@x'\n", "mn_id_template: must contain"),
    "template_with_space": (NO_IDS + "mn_id_template: '{mac} x'\n", "mn_id_template: MN-ID"),
    "template_too_long": (NO_IDS + f"mn_id_template: '{{mac}}{'x' * 250}'\n", "longer than 250"),
    "maar_named_cmd": (edit("  maar2:", "  cmd:"), "maars.cmd: 'cmd' is reserved for the CMD"),
    "maar_named_CMD": (edit("  maar2:", "  CMD:"), "maars.CMD: 'CMD' is reserved"),
    "cmd_port_is_access_port": (edit("port: 4", "port: 2"), "cmd.port: 2 is an access port of maar1"),
    "detach_guard_nan": (extra("detach_guard: .nan\n"), "detach_guard: nan is not a finite number"),
    "detach_guard_inf": (extra("detach_guard: .inf\n"), "detach_guard: inf is not a finite number"),
    "timer_nan": (edit("{lifetime: 40}", "{lifetime: 40, retransmit_max: .nan}"),
                  "timers.retransmit_max: nan is not a finite"),
    "timer_minus_inf": (edit("{lifetime: 40}", "{aggregation_timeout: -.inf}"),
                        "timers.aggregation_timeout: -inf is not a finite"),
    "duplicate_nai": (edit("mn2@dmm.example", "mn1@dmm.example"),
                      "mn_ids.0a:00:00:00:00:02: MN-ID 'mn1@dmm.example' is already 0a:00:00:00:00:01's"),
    "duplicate_mac_case": (edit('"0a:00:00:00:00:02"', '"0A:00:00:00:00:01"'), "is listed twice"),
    "nai_clashes_with_template": (edit("mn1@dmm.example", "0a0000000002@dmm.example") + "mn_policy: any\n",
                                  "mn_ids.0a:00:00:00:00:01: MN-ID '0a0000000002@dmm.example' is what"),
    "duplicate_top_key": (extra("mode: proxy\n"), "mode: duplicate key (first on line 1)"),
    "duplicate_maar_key": (edit("    dpid: 2\n", "    dpid: 2\n    dpid: 3\n"), "maars.maar2.dpid: duplicate key"),
    "duplicate_maar": (extra("maars: {}\n"), "maars: duplicate key"),
    "duplicate_int_key": (edit("access_ports: [2]", "access_ports: [2]\n    1: a\n    0x1: b"),
                          "maars.maar2.0x1: duplicate key"),
    # -- the YAML layer ---------------------------------------------------------
    "too_large": (BASE + "#" * (1 << 20), "larger than 1048576 bytes"),
    "alias": (edit('pool: "2001:db8:2::/48"', "pool: *p"), "maars.maar2.pool: YAML aliases"),
    "merge_key": (extra("<<: {mode: proxy}\n"), "<<: merge keys (<<) are not allowed"),
    "complex_key": (extra("? [a, b]\n: 1\n"), "a key must be a plain value"),
    "python_tag": (extra("x: !!python/object/apply:os.system [ls]\n"), "not valid YAML"),
    "two_documents": (BASE + "---\nmode: proxy\n", "not valid YAML"),
    "nul_byte": (BASE.replace("relay", "rel\x00ay"), "not valid YAML (unacceptable character"),
    "unclosed_flow": (edit("[2, 3]", "[2, 3"), "not valid YAML"),
    "empty_file": ("", "(top level): expected a mapping, got NoneType"),
    "top_level_list": ("- a\n- b\n", "(top level): expected a mapping, got list"),
    # -- values of the wrong type or range --------------------------------------
    "dpid_bool": (edit("dpid: 2", "dpid: true"), "maars.maar2.dpid: expected an integer, got True"),
    "dpid_too_big": (edit("dpid: 2", f"dpid: {2**64}"), "maars.maar2.dpid: 18446744073709551616 out of range"),
    "dpid_duplicate": (edit("dpid: 2", "dpid: 1"), "maars.maar2.dpid: 1 already used by maar1"),
    "dpid_mac_clash": (edit("dpid: 2", f"dpid: {2**40 + 1}"), "would share transport MAC"),
    "ports_string": (edit("access_ports: [2]", "access_ports: '2'"), "maars.maar2.access_ports: expected a non-empty list"),
    "port_float": (edit("access_ports: [2]", "access_ports: [2.5]"), "maars.maar2.access_ports[0]: expected an integer"),
    "port_reserved": (edit("access_ports: [2]", f"access_ports: [{0xFFFFFFFD}]"), "access_ports[0]: 4294967293 out of range"),
    "ports_overlap": (edit("transport_ports: [1]\ncmd", "transport_ports: [1, 2]\ncmd"),
                      "maars.maar2.transport_ports: a port cannot be both access and transport (2)"),
    "maar_name_not_identifier": (edit("  maar2:", "  maar/2:"), "maars.maar/2: a MAAR name must be an identifier"),
    "maar_name_number": (edit("  maar2:", "  7:"), "maars.7: a MAAR name must be an identifier"),
    "pool_host_bits": (edit("2001:db8:2::/48", "2001:db8:2::1/48"), "maars.maar2.pool: not an IPv6 prefix"),
    "pool_multicast": (edit("2001:db8:2::/48", "ff0e::/16"), "maars.maar2.pool: ff0e::/16 is a multicast"),
    "pool_shorter_than_prefix": (edit("    dpid: 2\n", "    dpid: 2\n    prefix_length: 40\n"),
                                 "maars.maar2.prefix_length: /40 is shorter than the pool"),
    "pools_overlap": (edit("2001:db8:2::/48", "2001:db8:1:8000::/49"), "maars.maar2.pool: 2001:db8:1:8000::/49 overlaps maar1's"),
    "address_link_local": (edit('"2001:db8:ffff::2"', '"fe80::2"'), "maars.maar2.address: fe80::2 is a link-local"),
    "address_scoped": (edit('"2001:db8:ffff::2"', '"2001:db8:ffff::2%eth0"'), "has a scope"),
    "address_in_pool": (edit('"2001:db8:ffff::2"', '"2001:db8:1::2"'), "maars.maar2.address: 2001:db8:1::2 lies in maar1's pool"),
    "cmd_address_in_pool": (edit("2001:db8:ffff::100", "2001:db8:2::100"), "cmd.address: 2001:db8:2::100 lies in maar2's"),
    "zero_timer": (edit("{lifetime: 40}", "{retransmit_initial: 0}"), "timers.retransmit_initial: 0 out of range"),
    "negative_lifetime": (edit("{lifetime: 40}", "{lifetime: -4}"), "timers.lifetime: -4 out of range"),
    "huge_timer": (edit("{lifetime: 40}", "{retransmit_max: 1.0e+300}"), "timers.retransmit_max: 1e+300 out of range"),
    "refresh_ratio_one": (edit("{lifetime: 40}", "{refresh_ratio: 1.0}"), "refresh_ratio must lie strictly"),
    "prefix_idle_negative": (edit("{lifetime: 40}", "{prefix_idle: -1}"), "timers.prefix_idle: -1 out of range [0"),
    "mode_list": (edit("mode: relay", "mode: [relay]"), "mode: ['relay'] is not one of"),
    "mac_read_as_number": (edit('"0a:00:00:00:00:02"', "10:00:00:00:01:01"), "YAML read it as a number: quote it"),
    "mn_mac_multicast": (edit('"0a:00:00:00:00:02"', '"01:00:5e:00:00:01"'), "01:00:5e:00:00:01 is a multicast MAC"),
    "mn_mac_is_upstream": (edit('"0a:00:00:00:00:02"', '"0e:00:00:00:ff:fe"'),
                           "mn_ids.0e:00:00:00:ff:fe: an MN cannot have the upstream router's MAC"),
    "nai_not_string": (edit("mn2@dmm.example", "[mn2]"), "mn_ids.0a:00:00:00:00:02: MN-ID must be"),
    "upstream_is_gateway": (extra('upstream_mac: "02:00:00:00:00:01"\n'), "upstream_mac: 02:00:00:00:00:01 is the MNs' default-router MAC"),
    # -- the keys this round adds -----------------------------------------------
    "policy_unknown": (extra("mn_policy: some\n"), "mn_policy: 'some' is not one of listed, any"),
    "policy_any_without_template": (extra("mn_policy: any\nmn_id_template: null\n"), "mn_id_template: mn_policy any needs"),
    "template_with_listed": (extra("mn_id_template: '{mac}@x'\n"), "mn_id_template: only used with mn_policy: any"),
    "max_bindings_zero": (edit("    dpid: 2\n", "    dpid: 2\n    max_bindings: 0\n"), "maars.maar2.max_bindings: 0 out of range"),
    "max_bindings_string": (edit("    dpid: 2\n", "    dpid: 2\n    max_bindings: many\n"), "maars.maar2.max_bindings: expected an integer"),
    "punt_rate_zero": (extra("punt_rate: 0\n"), "punt_rate: 0 out of range 1..1000000"),
    "punt_burst_float": (extra("punt_burst: 1.5\n"), "punt_burst: expected an integer"),
    "access_technology_unknown": (extra("access_technology: lte\n"), "access_technology: 'lte' is not one of"),
    "access_technology_zero": (extra("access_technology: 0\n"), "access_technology: 0 out of range 1..255"),
    "option_types_rfc5213_clash": (extra("option_types: {previous_maar: 22}\n"), "option_types: option types collide"),
    "option_types_equal": (extra("option_types: {previous_maar: 68}\n"), "option_types: option types must be distinct"),
    "option_types_unknown_key": (extra("option_types: {home: 1}\n"), "option_types.home: unknown key"),
    "gateway_unknown": (extra("gateway: per-mn\n"), "gateway: 'per-mn' is not one of shared, dlif"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_refused_with_the_key_named(name):
    text, message = CASES[name]
    with pytest.raises(InvalidConfigError) as err:
        build(load_text(text))
    assert message in str(err.value)


def test_the_base_file_is_valid():
    configs = build(load_text(BASE))
    assert sorted(configs.maars) == ["maar1", "maar2"]
