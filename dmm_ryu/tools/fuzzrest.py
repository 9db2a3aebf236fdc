"""REST inputs for the fuzzer: random methods, paths, queries, headers and
bodies, as raw WSGI environs (the path and query as the latin-1 text a WSGI
server hands over, so any octet can arrive), against the operator API of
the fuzzed controller (:class:`~dmm_ryu.ops.rest.RestApp` over
:class:`~dmm_ryu.ops.runtime_view.ControllerView`).

An answer breaks the contract if it is a 500 or carries a traceback;
anything escaping the WSGI call is a crash.
"""
from __future__ import annotations

import io
import random
from typing import Optional, Tuple
from urllib.parse import quote

from dmm_ryu.ops.rest import RestApp, RestConfig
from dmm_ryu.ops.runtime_view import ControllerView
from dmm_ryu.testbed.fakedomain import FakeDomain

TOKEN = "fuzz-token"
METHODS = ("GET", "GET", "GET", "DELETE", "POST", "PUT", "HEAD", "OPTIONS", "PATCH", "G\x00T", "")
PATHS = ("/dmm/v1/cmd/bindings", "/dmm/v1/cmd/bindings/{mn}", "/dmm/v1/maars",
         "/dmm/v1/maars/{maar}", "/dmm/v1/maars/{maar}/bindings", "/dmm/v1/prefixes/{prefix}",
         "/dmm/v1/stats", "/dmm/v1/health", "/dmm/v1/openapi.json", "/metrics", "/", "")
QUERY_KEYS = ("limit", "after", "maar", "prefix", "x", "", "limit")


def rest_app(dom: FakeDomain) -> RestApp:
    """The API of ``dom``'s controller, forced de-registration enabled."""
    view = ControllerView(dom.dmm, send=dom.run, clock=lambda: dom.now)
    return RestApp(view, RestConfig(dereg_enabled=True, token=TOKEN))


def _junk(rng: random.Random) -> str:
    """Text of any latin-1 octets, as WSGI carries undecodable bytes."""
    size = rng.choice((0, 1, 3, 12, 300))
    return bytes(rng.getrandbits(8) for _ in range(size)).decode("latin-1")


def _segment(rng: random.Random, dom: FakeDomain, kind: str) -> str:
    known = {"mn": [dom.dmm.domain.mn_id_for("0a:00:00:00:00:01") or "mn"],
             "maar": sorted(dom.dmm.domain.maars) + ["cmd"],
             "prefix": ["2001:db8:1::/64", "2001:db8:1::/48", "2001:db8:1::1/64", "::/0",
                        "2001:db8:1::", "%2F", "..", "/128"]}[kind]
    if rng.random() < 0.6:
        return rng.choice(known)
    return rng.choice((_junk(rng), quote(_junk(rng)), "%ff%fe", "%", "a" * 5000))


def _path(rng: random.Random, dom: FakeDomain) -> str:
    if rng.random() < 0.1:
        return "/" + _junk(rng)
    path = rng.choice(PATHS)
    for kind in ("mn", "maar", "prefix"):
        path = path.replace("{%s}" % kind, _segment(rng, dom, kind))
    return path + rng.choice(("", "", "/", "//", "/x"))


def _query(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.choice((0, 0, 1, 2, 3))):
        value = rng.choice(("1", "0", "-1", "1000", "1001", "99999999999999999999", "",
                            "maar1", "2001:db8:1::/64", _junk(rng), "%ff"))
        parts.append(f"{rng.choice(QUERY_KEYS)}={value}")
    return "&".join(parts) if rng.random() < 0.9 else _junk(rng)


def environ(rng: random.Random, dom: FakeDomain) -> dict:
    body = _junk(rng).encode("latin-1") if rng.random() < 0.2 else b""
    env = {"REQUEST_METHOD": rng.choice(METHODS), "PATH_INFO": _path(rng, dom),
           "QUERY_STRING": _query(rng), "SERVER_NAME": "localhost", "SERVER_PORT": "8080",
           "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
           "wsgi.errors": io.StringIO(), "CONTENT_LENGTH": str(len(body)), "SCRIPT_NAME": ""}
    auth = rng.choice((None, f"Bearer {TOKEN}", "Bearer wrong", "Basic x", _junk(rng)))
    if auth is not None:
        env["HTTP_AUTHORIZATION"] = auth
    return env


def call(app: RestApp, env: dict) -> Tuple[str, bytes]:
    """The status line and body of one request."""
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"] = status

    body = b"".join(app(env, start_response))
    return seen["status"], body


def answer_break(status: str, body: bytes) -> Optional[str]:
    """Why an answer breaks the REST contract, or None."""
    if status.startswith("5"):
        return f"answered {status}"
    if b"Traceback" in body:
        return "traceback in the body"
    return None
