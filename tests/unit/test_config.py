"""Domain-file validation: every error names the key and the reason."""
import copy
from ipaddress import IPv6Address, IPv6Network

import pytest

from dmm_ryu.config.domainfile import InvalidConfigError, load, parse

VALID = {
    "mode": "relay",
    "maars": {
        "maar1": {"dpid": 1, "address": "2001:db8:ffff::1", "pool": "2001:db8:1::/48",
                  "access_ports": [1], "transport_ports": [2]},
        "maar2": {"dpid": 2, "address": "2001:db8:ffff::2", "pool": "2001:db8:2::/48",
                  "prefix_length": 64, "access_ports": [1, 3], "transport_ports": [2]},
    },
    "cmd": {"address": "2001:db8:ffff::100", "maar": "maar1", "port": 3},
    "timers": {"lifetime": 120, "aggregation_timeout": 0.05},
    "mn_ids": {"00:00:00:00:01:01": "mn1@dmm.example"},
}


def with_change(path, value):
    raw = copy.deepcopy(VALID)
    node = raw
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return raw


def test_valid_domain_parses_to_typed_values():
    domain = parse(VALID)
    assert domain.mode == "relay"
    assert domain.maars["maar2"].pool == IPv6Network("2001:db8:2::/48")
    assert domain.maars["maar2"].access_ports == (1, 3)
    assert domain.cmd.address == IPv6Address("2001:db8:ffff::100")
    assert domain.timers == {"lifetime": 120, "aggregation_timeout": 0.05}
    assert domain.deregistration == "serving-only"
    assert domain.maar_by_dpid(2).name == "maar2"
    assert domain.maar_by_dpid(9) is None


def test_cmd_on_its_own_switch():
    raw = with_change(("cmd",), {"address": "2001:db8:ffff::100", "dpid": 256, "port": 1})
    cmd = parse(raw).cmd
    assert (cmd.dpid, cmd.port, cmd.maar) == (256, 1, None)
    raw["cmd"]["dpid"] = 2
    with pytest.raises(InvalidConfigError, match="cmd.dpid: 2 is a MAAR's switch"):
        parse(raw)


def test_listed_mns_only_by_default_when_mn_ids_given():
    domain = parse(VALID)
    assert domain.mn_policy == "listed"
    assert domain.mn_id_for("00:00:00:00:01:01") == "mn1@dmm.example"
    assert domain.mn_id_for("0a:00:00:00:00:02") is None


def test_any_mac_served_when_chosen_or_by_default_without_mn_ids():
    chosen = parse(with_change(("mn_policy",), "any"))
    assert chosen.mn_id_for("00:00:00:00:01:01") == "mn1@dmm.example"
    assert chosen.mn_id_for("0A:00:00:00:00:02") == "0a0000000002@dmm.example"
    assert chosen.notes == ()
    implicit = parse(with_change(("mn_ids",), KeyError))
    assert implicit.mn_policy == "any"
    assert implicit.mn_id_for("0a:00:00:00:00:02") == "0a0000000002@dmm.example"
    assert "mn_policy: not set, so any MAC is served" in implicit.notes[0]


def test_null_template_without_mn_ids_serves_nobody():
    closed = parse(with_change(("mn_ids",), KeyError) | {"mn_id_template": None})
    assert closed.mn_policy == "listed"
    assert closed.mn_id_for("0a:00:00:00:00:02") is None
    assert closed.notes == ("mn_policy: listed and mn_ids is empty: no MN can attach",)


def test_new_keys_default_sensibly():
    domain = parse(VALID)
    assert (domain.punt_rate, domain.punt_burst, domain.gateway) == (100, 50, "shared")
    assert domain.access_technology == 4  # IEEE 802.11
    assert (domain.option_types.previous_maar, domain.option_types.serving_maar) == (67, 68)
    assert domain.maars["maar1"].max_bindings == 4096
    assert "prefix_idle" not in domain.timers


def test_new_keys_are_read():
    raw = with_change(("gateway",), "dlif") | {
        "punt_rate": 10, "punt_burst": 5, "access_technology": 802.3,
        "option_types": {"previous_maar": 200}, "timers": {"prefix_idle": 30}}
    raw["maars"]["maar1"]["max_bindings"] = 7
    domain = parse(raw)
    assert (domain.punt_rate, domain.punt_burst, domain.gateway) == (10, 5, "dlif")
    assert domain.access_technology == 3
    assert (domain.option_types.previous_maar, domain.option_types.serving_maar) == (200, 68)
    assert domain.timers["prefix_idle"] == 30.0
    assert domain.maars["maar1"].max_bindings == 7
    assert parse(with_change(("access_technology",), "PPP")).access_technology == 2
    assert parse(with_change(("access_technology",), 200)).access_technology == 200


@pytest.mark.parametrize("path,value,message", [
    (("maars",), {}, "maars: at least one MAAR is required"),
    (("maars", "maar1", "pool"), "2001:db8:2::/56", "maars.maar1.pool: 2001:db8:2::/56 overlaps maar2's"),
    (("maars", "maar1", "pool"), "10.0.0.0/8", "maars.maar1.pool: not an IPv6 prefix"),
    (("maars", "maar2", "dpid"), 1, "maars.maar2.dpid: 1 already used by maar1"),
    (("maars", "maar2", "address"), "2001:db8:ffff::1", "maars.maar2.address: 2001:db8:ffff::1 already used"),
    (("maars", "maar1", "address"), "nonsense", "maars.maar1.address: not an IPv6 address"),
    (("maars", "maar1", "dpid"), KeyError, "maars.maar1.dpid: missing"),
    (("maars", "maar1", "dpid"), "one", "maars.maar1.dpid: expected an integer"),
    (("maars", "maar1", "prefix_length"), 40, "maars.maar1.prefix_length: /40 is shorter"),
    (("maars", "maar1", "access_ports"), [], "maars.maar1.access_ports: expected a non-empty list"),
    (("maars", "maar1", "access_ports"), [2], "maars.maar1.transport_ports: a port cannot be both"),
    (("maars", "maar1", "colour"), "red", "maars.maar1.colour: unknown key"),
    (("cmd", "maar"), "maar9", "cmd.maar: unknown MAAR 'maar9'"),
    (("cmd", "address"), "2001:db8:ffff::2", "cmd.address: 2001:db8:ffff::2 is also a MAAR"),
    (("cmd", "dpid"), 9, "cmd: give either maar (CMD beside a MAAR) or dpid"),
    (("cmd", "maar"), KeyError, "cmd: give either maar (CMD beside a MAAR) or dpid"),
    (("mode",), "anycast", "mode: 'anycast' is not one of relay"),
    (("mode",), "pmipv6", "lma: mode pmipv6 needs the LMA's MAAR name"),
    (("deregistration",), "never", "deregistration: 'never' is not one of"),
    (("timers", "lifetime"), 130, "timers.lifetime: 130 is not a multiple of 4"),
    (("timers", "retransmit_initial"), -1, "timers.retransmit_initial: -1 out of range (0, 3600]"),
    (("timers", "retransmit_limit"), 0.5, "timers.retransmit_limit: expected an integer"),
    (("upstream_mac",), "router", "upstream_mac: not a MAC address"),
    (("mn_ids",), {"zz": "a@b"}, "mn_ids.zz: not a MAC address"),
    (("mn_id_template",), "fixed", "mn_id_template: must contain {mac}"),
    (("controllers",), 1, "(top level).controllers: unknown key"),
])
def test_errors_name_the_key_and_reason(path, value, message):
    with pytest.raises(InvalidConfigError) as err:
        parse(with_change(path, value))
    assert message in str(err.value)


def test_load_reports_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(InvalidConfigError, match="cannot read"):
        load(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("maars: [unclosed\n")
    with pytest.raises(InvalidConfigError, match="not valid YAML"):
        load(str(bad))
    bad.write_text("- just\n- a list\n")
    with pytest.raises(InvalidConfigError, match=r"\(top level\): expected a mapping"):
        load(str(bad))
