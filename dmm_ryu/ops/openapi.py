"""The OpenAPI 3.0 document of the REST API, served at /dmm/v1/openapi.json.

Written as data next to the code rather than generated from it, so it is
the contract: the tests check every response the app gives against the
schema this document names for its path, method and status.
"""
from __future__ import annotations

from typing import Dict, Iterable

VERSION = "1.1.0"

_STR = {"type": "string"}
_INT = {"type": "integer", "minimum": 0}
_NUM = {"type": "number"}
_BOOL = {"type": "boolean"}
_ADDR = {"type": "string", "format": "ipv6"}
_NET = {"type": "string", "format": "ipv6-prefix"}
#: The cursor of a paged list: pass it as ``after`` for the following page.
_NEXT = {"type": "string", "nullable": True,
         "description": "the last key of this page when it is full (pass it as `after`), "
                        "else null; a full last page is followed by one empty page"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(open_ended: bool = False, **properties) -> dict:
    """An object whose listed properties are all required."""
    return {"type": "object", "required": sorted(properties), "properties": properties,
            "additionalProperties": open_ended}


def _list(item: str) -> dict:
    return {"type": "array", "items": _ref(item)}


SCHEMAS: Dict[str, dict] = {
    "Error": _obj(code={"type": "integer", "minimum": 400, "maximum": 599}, message=_STR),
    "PrefixBinding": _obj(prefix=_NET, anchor=_STR, anchor_address=_ADDR, local=_BOOL),
    "PreviousMaar": _obj(maar=_STR, address=_ADDR, prefix=_NET),
    "Binding": _obj(
        mn_id=_STR, serving_maar=_STR, serving_maar_address=_ADDR,
        prefixes=_list("PrefixBinding"), previous_maars=_list("PreviousMaar"),
        lifetime=_INT, registered_at=_NUM, expires_at=_NUM, last_update=_NUM,
    ),
    "BindingList": _obj(bindings=_list("Binding"), next=_NEXT),
    "Tunnel": _obj(prefix=_NET, peer=_STR, peer_address=_ADDR,
                   role={"type": "string", "enum": ["anchor", "serving"]}, mn_id=_STR),
    "Maar": _obj(
        name=_STR, dpid=_INT, address=_ADDR, pool=_NET, prefix_length=_INT,
        pool_size=_INT, pool_used=_INT, connected=_BOOL, bindings=_INT,
        tunnels=_list("Tunnel"),
    ),
    "MaarList": _obj(maars=_list("Maar"), next=_NEXT),
    "Prefix": _obj(prefix=_NET, mn_id=_STR, anchor=_STR, serving_maar=_STR),
    "MessageCount": _obj(
        direction={"type": "string", "enum": ["rx", "tx"]}, type=_STR,
        status={"type": "integer", "minimum": 0, "nullable": True}, count=_INT,
    ),
    "LatencySummary": _obj(count=_INT, p50=_NUM, p99=_NUM, max=_NUM),
    "Stats": _obj(
        messages=_list("MessageCount"),
        errors={"type": "object", "additionalProperties": _INT},
        handover_latency_ms={"type": "object", "additionalProperties": _ref("LatencySummary")},
    ),
    "Health": _obj(open_ended=True,
                   status={"type": "string", "enum": ["ok", "degraded", "down"]}),
    "Deregistration": _obj(mn_id=_STR, status={"type": "string", "enum": ["deregistering"]}),
    "OpenAPI": {"type": "object", "required": ["openapi", "paths"]},
}

_REASONS = {200: "OK", 202: "Accepted", 400: "Bad argument", 401: "No bearer token",
            403: "Forbidden", 404: "Not found", 405: "Method not allowed",
            500: "Internal error", 503: "Unhealthy"}


def _responses(ok: Dict[int, str], errors: Iterable[int] = ()) -> dict:
    """Responses of one operation: its successes, the given errors, and the
    400 (unexpected query), 404, 405 and 500 that any path can answer."""
    out = {str(code): _json(code, schema) for code, schema in ok.items()}
    for code in sorted(set(errors) | {400, 404, 405, 500}):
        out[str(code)] = _json(code, "Error")
    return out


def _json(code: int, schema: str) -> dict:
    return {"description": _REASONS[code], "content": {"application/json": {"schema": _ref(schema)}}}


def _param(name: str, where: str, description: str, schema: dict = _STR) -> dict:
    return {"name": name, "in": where, "required": where == "path",
            "description": description, "schema": schema}


_MN = _param("mn_id", "path", "MN identifier (NAI), URL-encoded")
_NAME = _param("name", "path", "MAAR name from the domain file")

def _paging(key: str) -> list:
    """``limit`` and ``after`` of a list ordered by ``key`` (see rest.Page)."""
    return [_param("limit", "query", "page size (default 100)",
                   {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
            _param("after", "query", f"the previous page's `next`: only items whose {key} "
                                     "sorts after this")]


_FILTERS = [_param("maar", "query", "only bindings this MAAR serves or anchors"),
            _param("prefix", "query", "only bindings holding a prefix equal to or inside this one"),
            *_paging("mn_id")]


def _get(summary: str, schema: str, params=()) -> dict:
    return {"get": {"summary": summary, "parameters": list(params),
                    "responses": _responses({200: schema})}}


PATHS = {
    "/dmm/v1/cmd/bindings": _get("The CMD's binding cache, by MN-ID", "BindingList", _FILTERS),
    "/dmm/v1/cmd/bindings/{mn_id}": {
        **_get("One MN's binding", "Binding", [_MN]),
        "delete": {
            "summary": "Forced de-registration (disabled unless configured; bearer token)",
            "parameters": [_MN],
            "security": [{"bearer": []}],
            "responses": _responses({202: "Deregistration"}, [401, 403]),
        },
    },
    "/dmm/v1/maars": _get("Every configured MAAR, by name", "MaarList", _paging("name")),
    "/dmm/v1/maars/{name}": _get("One MAAR", "Maar", [_NAME]),
    "/dmm/v1/maars/{name}/bindings": _get("Bindings a MAAR serves or anchors, by MN-ID",
                                          "BindingList", [_NAME, *_paging("mn_id")]),
    "/dmm/v1/prefixes/{prefix}": _get(
        "Who holds a prefix (or the address's prefix)", "Prefix",
        [_param("prefix", "path", "IPv6 prefix, e.g. 2001:db8:1::%2F64 (a literal / works too)")]),
    "/dmm/v1/stats": _get("Message, error and handover latency counters", "Stats"),
    "/dmm/v1/health": {"get": {"summary": "Controller health (503 unless ok)", "parameters": [],
                               "responses": _responses({200: "Health", 503: "Health"})}},
    "/dmm/v1/openapi.json": _get("This document", "OpenAPI"),
    "/metrics": {"get": {
        "summary": "Prometheus exposition (text/plain; version=0.0.4)", "parameters": [],
        "responses": {"200": {"description": "OK", "content": {"text/plain": {"schema": _STR}}},
                      **_responses({})},
    }},
}

DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "dmm-ryu REST API", "version": VERSION,
             "description": "Read-only state of the DMM domain, plus forced de-registration."},
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    },
}
