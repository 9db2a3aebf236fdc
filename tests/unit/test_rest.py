"""The REST API called as a WSGI app, every answer checked against the OpenAPI document."""
import json
import logging

import pytest
from webob import Request

from dmm_ryu.ops.rest import INTERNAL_ERROR, RestApp, RestConfig
from tests.unit.fakeview import FakeView, response_schema, validate

TOKEN = "s3cret-token"
BINDINGS = "/dmm/v1/cmd/bindings"
ONE_BINDING = "/dmm/v1/cmd/bindings/{mn_id}"
PREFIX = "/dmm/v1/prefixes/{prefix}"


@pytest.fixture
def view():
    return FakeView()


@pytest.fixture
def app(view):
    return RestApp(view)


@pytest.fixture
def dereg_app(view):
    return RestApp(view, RestConfig(dereg_enabled=True, token=TOKEN))


def call(app, path, template=None, method="GET", headers=None):
    """Send one request; check Content-Type and the body against the schema
    the document gives for ``template`` (any path answers errors as Error)."""
    response = Request.blank(path, method=method, headers=headers or {}).get_response(app)
    assert response.content_type == "application/json"
    body = json.loads(response.body)
    if template is None:
        assert response.status_code >= 400
        validate(body, {"$ref": "#/components/schemas/Error"})
    else:
        validate(body, response_schema(template, method, response.status_code))
    if "message" in body:
        assert body["code"] == response.status_code
    return response, body


def mn_ids(body):
    return sorted(b["mn_id"] for b in body["bindings"])


def test_bindings_lists_every_bce(app):
    response, body = call(app, BINDINGS, BINDINGS)
    assert response.status_code == 200
    assert mn_ids(body) == ["mn1@dmm.example", "mn2@dmm.example", "mn3@dmm.example"]


@pytest.mark.parametrize("query, expected", [
    ("maar=maar1", ["mn1@dmm.example", "mn2@dmm.example"]),  # mn1: maar1 anchors a prefix
    ("maar=maar3", ["mn3@dmm.example"]),
    ("prefix=2001:db8:1::/48", ["mn1@dmm.example", "mn2@dmm.example"]),
    ("prefix=2001:db8:2:1::%2F64", ["mn1@dmm.example"]),
    ("maar=maar2&prefix=2001:db8:1::/48", ["mn1@dmm.example"]),
    ("prefix=2001:db8:9::/48", []),
])
def test_bindings_filters(app, query, expected):
    response, body = call(app, f"{BINDINGS}?{query}", BINDINGS)
    assert response.status_code == 200
    assert mn_ids(body) == expected


@pytest.mark.parametrize("query, fragment", [
    ("prefix=nonsense", "bad IPv6 prefix"),
    ("prefix=2001:db8:1::1/48", "has host bits set"),
    ("prefix=10.0.0.0/8", "bad IPv6 prefix"),
    ("colour=blue", "unknown query parameter 'colour'"),
    ("maar=maar1&maar=maar2", "once"),
    ("maar=", "non-empty"),
    ("maar=maar9", "unknown MAAR 'maar9'"),
])
def test_bindings_bad_arguments_are_400(app, query, fragment):
    response, body = call(app, f"{BINDINGS}?{query}", BINDINGS)
    assert response.status_code == 400
    assert fragment in body["message"]


def test_one_binding_with_its_previous_maar(app):
    response, body = call(app, f"{BINDINGS}/mn1%40dmm.example", ONE_BINDING)
    assert response.status_code == 200
    assert body["serving_maar"] == "maar2"
    assert body["previous_maars"] == [
        {"maar": "maar1", "address": "2001:db8:ff::1", "prefix": "2001:db8:1:1::/64"}]
    assert [p["local"] for p in body["prefixes"]] == [False, True]


def test_unknown_binding_is_404(app):
    response, body = call(app, f"{BINDINGS}/nobody", ONE_BINDING)
    assert response.status_code == 404
    assert "nobody" in body["message"]


def test_maars(app):
    response, body = call(app, "/dmm/v1/maars", "/dmm/v1/maars")
    assert response.status_code == 200
    assert [(m["name"], m["connected"]) for m in body["maars"]] == [
        ("maar1", True), ("maar2", True), ("maar3", False)]


def test_one_maar_shows_its_tunnel_ends(app):
    response, body = call(app, "/dmm/v1/maars/maar1", "/dmm/v1/maars/{name}")
    assert response.status_code == 200
    assert body["tunnels"] == [{"prefix": "2001:db8:1:1::/64", "peer": "maar2",
                                "peer_address": "2001:db8:ff::2", "role": "anchor",
                                "mn_id": "mn1@dmm.example"}]


def test_maar_bindings(app):
    template = "/dmm/v1/maars/{name}/bindings"
    response, body = call(app, "/dmm/v1/maars/maar2/bindings", template)
    assert mn_ids(body) == ["mn1@dmm.example"]
    response, body = call(app, "/dmm/v1/maars/maar9/bindings", template)
    assert response.status_code == 404


def test_unknown_maar_is_404(app):
    response, body = call(app, "/dmm/v1/maars/maar9", "/dmm/v1/maars/{name}")
    assert response.status_code == 404
    assert body["message"] == "unknown MAAR 'maar9'"


@pytest.mark.parametrize("path", [
    "/dmm/v1/prefixes/2001:db8:1:1::%2F64",   # URL-encoded slash
    "/dmm/v1/prefixes/2001:db8:1:1::/64",     # split across segments
    "/dmm/v1/prefixes/2001:db8:1:1::42",      # an address finds its prefix
])
def test_prefix(app, path):
    response, body = call(app, path, PREFIX)
    assert response.status_code == 200
    assert body == {"prefix": "2001:db8:1:1::/64", "mn_id": "mn1@dmm.example",
                    "anchor": "maar1", "serving_maar": "maar2"}


@pytest.mark.parametrize("path, status", [
    ("/dmm/v1/prefixes/2001:db8:7::%2F64", 404),
    ("/dmm/v1/prefixes/2001:db8::/32", 404),   # wider than any delegated prefix
    ("/dmm/v1/prefixes/zzz", 400),
    ("/dmm/v1/prefixes/2001:db8:1::/129", 400),
])
def test_prefix_errors(app, path, status):
    response, _ = call(app, path, PREFIX)
    assert response.status_code == status


def test_stats(app):
    response, body = call(app, "/dmm/v1/stats", "/dmm/v1/stats")
    assert response.status_code == 200
    assert {"direction": "tx", "type": "PBA", "status": 157, "count": 1} in body["messages"]
    assert {"direction": "rx", "type": "PBU", "status": None, "count": 3} in body["messages"]
    assert body["errors"] == {"mh_from_unknown_maar": 1}
    assert body["handover_latency_ms"]["proxy"] == {"count": 3, "p50": 12.0, "p99": 30.0,
                                                    "max": 30.0}


@pytest.mark.parametrize("status, code", [("ok", 200), ("degraded", 503)])
def test_health(app, view, status, code):
    view.health_status = status
    response, body = call(app, "/dmm/v1/health", "/dmm/v1/health")
    assert response.status_code == code
    assert body["status"] == status


def test_openapi_document_is_served(app):
    response, body = call(app, "/dmm/v1/openapi.json", "/dmm/v1/openapi.json")
    assert response.status_code == 200
    assert body["openapi"].startswith("3.0")


def test_metrics_are_prometheus_text(app):
    response = Request.blank("/metrics").get_response(app)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b'dmm_maar_connected{maar="maar3"} 0.0' in response.body


@pytest.mark.parametrize("path", ["/", "/dmm/v1", "/dmm/v1/cmd/bindings/a/b", "/dmm/v2/maars"])
def test_unknown_path_is_json_404(app, path):
    response, body = call(app, path)
    assert response.status_code == 404


def test_trailing_slash_is_tolerated(app):
    response, _ = call(app, "/dmm/v1/maars/", "/dmm/v1/maars")
    assert response.status_code == 200


@pytest.mark.parametrize("method, path, allow", [
    ("POST", BINDINGS, "GET"),
    ("PUT", f"{BINDINGS}/mn2", "DELETE, GET"),
    ("DELETE", "/dmm/v1/maars/maar1", "GET"),
    ("PATCH", "/metrics", "GET"),
])
def test_wrong_method_is_405_with_allow(app, method, path, allow):
    response, body = call(app, path, method=method)
    assert response.status_code == 405
    assert method in body["message"]
    assert response.headers["Allow"] == allow


def test_query_on_a_parameterless_endpoint_is_400(app):
    response, body = call(app, "/dmm/v1/stats?verbose=1", "/dmm/v1/stats")
    assert response.status_code == 400
    assert "allowed: none" in body["message"]


def test_view_failure_is_a_logged_counted_json_500(view, app, caplog):
    view.fail = True
    with caplog.at_level(logging.ERROR, logger="dmm_ryu.ops.rest"):
        response, body = call(app, "/dmm/v1/maars", "/dmm/v1/maars")
    assert response.status_code == 500
    assert "Traceback" not in response.text and "view exploded" not in response.text
    assert "view exploded" in caplog.text
    assert view.stats().errors()[INTERNAL_ERROR] == 1


def test_failure_while_counting_a_failure_is_still_a_500(view, app, monkeypatch):
    view.fail = True
    monkeypatch.setattr(view, "stats", view._check)
    response, _ = call(app, "/dmm/v1/stats", "/dmm/v1/stats")
    assert response.status_code == 500


def delete(app, mn_id="mn2@dmm.example", authorization=None):
    headers = {"Authorization": authorization} if authorization else {}
    return call(app, f"{BINDINGS}/{mn_id}", ONE_BINDING, "DELETE", headers)


def test_deregistration_is_disabled_by_default(app, view):
    response, body = delete(app, authorization=f"Bearer {TOKEN}")
    assert response.status_code == 403
    assert "disabled" in body["message"]
    assert view.deregistered == []


@pytest.mark.parametrize("authorization", [None, "Basic dXNlcjpwdw==", "Bearer ", "Bearer"])
def test_deregistration_without_bearer_token_is_401(dereg_app, view, authorization):
    response, _ = delete(dereg_app, authorization=authorization)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert view.deregistered == []


@pytest.mark.parametrize("token", ["wrong", TOKEN + "x", "s3cret-tokén"])
def test_deregistration_with_wrong_token_is_403(dereg_app, view, token):
    response, body = delete(dereg_app, authorization=f"Bearer {token}")
    assert response.status_code == 403
    assert body["message"] == "invalid token"
    assert view.deregistered == []


def test_deregistration_accepted(dereg_app, view):
    response, body = delete(dereg_app, authorization=f"bearer {TOKEN}")
    assert response.status_code == 202
    assert body == {"mn_id": "mn2@dmm.example", "status": "deregistering"}
    assert view.deregistered == ["mn2@dmm.example"]


def test_deregistration_of_unknown_mn_is_404(dereg_app):
    response, _ = delete(dereg_app, "ghost", authorization=f"Bearer {TOKEN}")
    assert response.status_code == 404


@pytest.mark.parametrize("kwargs", [{"dereg_enabled": True}, {"dereg_enabled": True, "token": ""},
                                    {"port": 0}, {"port": 70000}])
def test_config_refuses_inconsistent_settings(kwargs):
    with pytest.raises(ValueError):
        RestConfig(**kwargs)


def test_config_defaults_to_loopback_and_no_deregistration():
    config = RestConfig()
    assert (config.host, config.port, config.dereg_enabled) == ("127.0.0.1", 8080, False)
