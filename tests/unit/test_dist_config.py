"""Per-node controllers and CMD leadership as the operator sees them:
``[dmm] nodes`` checking, health()/metrics/dmmctl showing who leads."""
import pytest

from dmm_ryu.app import served_nodes
from dmm_ryu.config.domainfile import InvalidConfigError, load_text
from dmm_ryu.ops import metrics
from dmm_ryu.ops.runtime_view import ControllerView
from dmm_ryu.runtime.controller import DmmController
from dmm_ryu.tools import dmmctl
from mininet_topos.dmm import domain_yaml
from tests.unit.fakeview import FakeView
from tests.unit.test_metrics import scrape

LEAD = {"election": "cmd", "instance": "cmd-b", "leader": "cmd-b", "leading": True,
        "role": "master", "generation_id": 41}


@pytest.fixture
def domain():
    return load_text(domain_yaml(3, 1))


def test_no_nodes_option_serves_every_node(domain):
    assert served_nodes([], domain) is None


def test_nodes_option_names_the_subset(domain):
    assert served_nodes(["maar2", "maar1", "maar1"], domain) == ["maar1", "maar2"]


def test_an_unknown_node_is_a_config_error_naming_the_known_ones(domain):
    with pytest.raises(InvalidConfigError, match=r"maar9 not in the domain .*cmd, maar1"):
        served_nodes(["cmd", "maar9"], domain)


def test_health_names_the_nodes_and_who_leads(domain):
    controller = DmmController(domain, nodes=["cmd"])
    health = ControllerView(controller, lambda out: None, leadership=lambda: LEAD).health()
    assert health["nodes"] == ["cmd"] and health["leadership"] == LEAD
    assert "leadership" not in ControllerView(controller, lambda out: None).health()


def test_leader_gauge(domain):
    view = FakeView()
    health = view.health()
    view.health = lambda: {**health, "leadership": LEAD}
    samples = scrape(metrics.registry_for(view))
    key = ("dmm_cmd_leader", (("instance", "cmd-b"), ("leader", "cmd-b"), ("role", "master")))
    assert samples[key] == 1.0


def test_no_leader_gauge_without_an_election():
    assert not [k for k in scrape(metrics.registry_for(FakeView())) if k[0] == "dmm_cmd_leader"]


def test_dmmctl_health_shows_the_leader():
    text = dmmctl.show_health({"status": "ok", "mode": "proxy", "nodes": ["cmd"],
                               "maars_connected": 0, "maars_total": 0, "bindings": 2,
                               "leadership": dict(LEAD, instance="cmd-a", leading=False,
                                                  role="slave")})
    assert "cmd-a (SLAVE, generation 41)" in text
    assert "CMD leader       cmd-b" in text
