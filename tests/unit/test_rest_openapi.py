"""The OpenAPI document matches the router, and its schemas are sound."""
import json
import re

import pytest

from dmm_ryu.ops import rest
from dmm_ryu.ops.openapi import DOCUMENT
from tests.unit.fakeview import SchemaError, validate


def _routed():
    """(template, method) pairs the router serves, in the document's spelling."""
    pairs = set()
    for route in rest._ROUTES:
        template = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route.regex.pattern.rstrip("$"))
        pairs |= {(template, method.lower()) for method in route.methods}
    return pairs


def test_document_describes_exactly_the_routed_operations():
    documented = {(path, method) for path, ops in DOCUMENT["paths"].items() for method in ops}
    assert documented == _routed()


def _refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_reference_resolves():
    schemas = DOCUMENT["components"]["schemas"]
    for ref in _refs(DOCUMENT):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas


def test_every_operation_documents_its_path_parameters_and_errors():
    for path, operations in DOCUMENT["paths"].items():
        for operation in operations.values():
            declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert declared == set(re.findall(r"\{(\w+)\}", path))
            assert {"400", "404", "405", "500"} <= set(operation["responses"])


def test_document_is_plain_json_and_validates_as_itself():
    text = json.dumps(DOCUMENT)
    validate(json.loads(text), {"$ref": "#/components/schemas/OpenAPI"})



@pytest.mark.parametrize("value, schema", [
    ({"code": 404}, {"$ref": "#/components/schemas/Error"}),                     # missing
    ({"code": 404, "message": "x", "trace": "..."}, {"$ref": "#/components/schemas/Error"}),
    ({"code": 200, "message": "x"}, {"$ref": "#/components/schemas/Error"}),     # range
    ({"prefix": "2001:db8::/64", "mn_id": "m", "anchor": "a", "serving_maar": 3},
     {"$ref": "#/components/schemas/Prefix"}),                                     # type
    ({"prefix": "10.0.0.0/8", "mn_id": "m", "anchor": "a", "serving_maar": "s"},
     {"$ref": "#/components/schemas/Prefix"}),                                     # format
    ({"status": "fine"}, {"$ref": "#/components/schemas/Health"}),                 # enum
    ({"bindings": [{"mn_id": "m"}]}, {"$ref": "#/components/schemas/BindingList"}),  # items
    ({"messages": [], "errors": {"x": True}, "handover_latency_ms": {}},
     {"$ref": "#/components/schemas/Stats"}),                                      # bool != int
])
def test_checker_rejects_what_the_document_forbids(value, schema):
    with pytest.raises(SchemaError):
        validate(value, schema)


def test_checker_accepts_open_health_and_null_status():
    validate({"status": "ok", "anything": [1]}, {"$ref": "#/components/schemas/Health"})
    validate({"direction": "rx", "type": "PBU", "status": None, "count": 1},
             {"$ref": "#/components/schemas/MessageCount"})


PAGED = ("/dmm/v1/cmd/bindings", "/dmm/v1/maars", "/dmm/v1/maars/{name}/bindings")


@pytest.mark.parametrize("path", PAGED)
def test_paged_lists_document_limit_after_and_next(path):
    operation = DOCUMENT["paths"][path]["get"]
    query = {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "query"}
    assert {"limit", "after"} <= set(query)
    assert (query["limit"]["maximum"], query["limit"]["default"]) == (rest.MAX_LIMIT,
                                                                       rest.DEFAULT_LIMIT)
    name = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    schema = DOCUMENT["components"]["schemas"][name.rsplit("/", 1)[1]]
    assert "next" in schema["required"] and schema["properties"]["next"]["nullable"]


def test_every_list_schema_is_paged():
    lists = {name for name in DOCUMENT["components"]["schemas"] if name.endswith("List")}
    assert lists == {"BindingList", "MaarList"}
    for name in lists:
        assert "next" in DOCUMENT["components"]["schemas"][name]["required"]
