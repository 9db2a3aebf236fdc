"""The REST API of the domain, as a plain WSGI application over a DomainView.

Framework-agnostic on purpose: WebOb requests and responses and a router of a
dozen lines, so the tests call it without a server and the adapter serves it
with :mod:`dmm_ryu.ops.server` under any hub.  Every answer is JSON
(``/metrics`` excepted), errors included: ``{"code": ..., "message": ...}``
with the matching status.  Client input never gives a 500: a path or query
that is not UTF-8, an unknown parameter or a bad value is a counted 400; a
handler that raises gives a logged, counted 500, never a traceback.  Lists are
paginated (``?limit=&after=``) so one request builds at most ``limit`` items.
The document at /dmm/v1/openapi.json is the contract.
"""
from __future__ import annotations

import hmac
import inspect
import json
import logging
import re
from dataclasses import dataclass
from ipaddress import IPv6Network
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from prometheus_client import CollectorRegistry
from webob import Request, Response

from dmm_ryu.ops import metrics
from dmm_ryu.ops.openapi import DOCUMENT
from dmm_ryu.ops.view import BindingView, DomainView, MaarView

LOG = logging.getLogger(__name__)

#: Error reason counted in the view's Stats when a handler raises.
INTERNAL_ERROR = "rest_internal_error"
#: Error reason counted for every 400 (the client sent something unusable).
BAD_REQUEST = "rest_bad_request"

#: Page size of a list when ``limit`` is not given, and the largest allowed.
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True)
class RestConfig:
    """What the adapter reads from its config and passes here.

    ``host``/``port`` are for the adapter's server (loopback by default: the
    API is unauthenticated for reads).  Forced de-registration is off unless
    ``dereg_enabled``, and then needs ``token``.
    """

    host: str = "127.0.0.1"
    port: int = 8080
    dereg_enabled: bool = False
    token: Optional[str] = None

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ValueError(f"REST port must be 1-65535, not {self.port}")
        if self.dereg_enabled and not self.token:
            raise ValueError("forced de-registration is enabled but no REST token is set")


class HttpError(Exception):
    """An answer other than success, raised anywhere below the dispatcher."""

    def __init__(self, code: int, message: str, headers: Optional[Dict[str, str]] = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers or {}

    def response(self) -> Response:
        response = json_response({"code": self.code, "message": self.message}, self.code)
        response.headers.update(self.headers)
        return response


def json_response(body: object, status: int = 200) -> Response:
    data = (json.dumps(body, sort_keys=True) + "\n").encode()
    return Response(body=data, status=status, content_type="application/json", charset=None)


class _Route:
    """A path template (``{name}`` one segment, ``{name:path}`` the rest,
    slashes included) and the handler name for each method."""

    def __init__(self, template: str, methods: Dict[str, str]) -> None:
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        pattern = re.sub(r"\{(\w+):path\}", r"(?P<\1>.+)", pattern)
        self.regex = re.compile(pattern + "$")
        self.methods = methods


_ROUTES = [
    _Route("/dmm/v1/cmd/bindings", {"GET": "list_bindings"}),
    _Route("/dmm/v1/cmd/bindings/{mn_id}", {"GET": "get_binding", "DELETE": "deregister"}),
    _Route("/dmm/v1/maars", {"GET": "list_maars"}),
    _Route("/dmm/v1/maars/{name}", {"GET": "get_maar"}),
    _Route("/dmm/v1/maars/{name}/bindings", {"GET": "maar_bindings"}),
    _Route("/dmm/v1/prefixes/{prefix:path}", {"GET": "get_prefix"}),
    _Route("/dmm/v1/stats", {"GET": "stats"}),
    _Route("/dmm/v1/health", {"GET": "health"}),
    _Route("/dmm/v1/openapi.json", {"GET": "openapi"}),
    _Route("/metrics", {"GET": "metrics"}),
]


def _route(method: str, path: str) -> Tuple[str, Dict[str, str]]:
    """The handler name and path arguments for a request, or 404/405."""
    for route in _ROUTES:
        match = route.regex.match(path)
        if match is None:
            continue
        if method not in route.methods:
            allow = ", ".join(sorted(route.methods))
            raise HttpError(405, f"{method} not allowed on {path}; use {allow}", {"Allow": allow})
        return route.methods[method], match.groupdict()
    raise HttpError(404, f"no such resource: {path}")


def _query(request: Request, allowed: Tuple[str, ...] = ()) -> Dict[str, str]:
    """The query arguments, each at most once, non-empty, and one of ``allowed``."""
    keys: List[str] = list(request.GET.keys())
    for key in keys:
        if key not in allowed:
            known = ", ".join(allowed) or "none"
            raise HttpError(400, f"unknown query parameter {key!r} (allowed: {known})")
        if keys.count(key) > 1 or not request.GET[key]:
            raise HttpError(400, f"query parameter {key!r} must be given once, non-empty")
    return dict(request.GET.items())


def _decoded_path(request: Request) -> str:
    """The path as text, forcing the query parse too: WSGI hands both over as
    raw bytes (latin-1), and WebOb's UTF-8 decode is the client's error."""
    try:
        path = request.path_info
    except UnicodeDecodeError:
        raise HttpError(400, "the request path is not valid UTF-8") from None
    try:
        request.GET
    except UnicodeDecodeError:
        raise HttpError(400, "the query string is not valid UTF-8") from None
    return path.rstrip("/") or "/"


@dataclass(frozen=True)
class Page:
    """``?limit=&after=`` of a list: at most ``limit`` items whose key (the
    MN-ID, the MAAR name) sorts after ``after``, the previous page's last key."""

    limit: int = DEFAULT_LIMIT
    after: Optional[str] = None

    PARAMETERS = ("limit", "after")

    @classmethod
    def from_query(cls, query: Dict[str, str]) -> "Page":
        text = query.get("limit", str(DEFAULT_LIMIT))
        if not (text.isascii() and text.isdigit() and len(text) <= 4
                and 1 <= int(text) <= MAX_LIMIT):
            raise HttpError(400, f"limit must be an integer from 1 to {MAX_LIMIT}, not {text!r}")
        return cls(int(text), query.get("after"))

    def cut(self, items: Sequence, key: Callable[[object], str]) -> list:
        """This page of a full list, for a view that cannot page itself."""
        later = [item for item in items if self.after is None or key(item) > self.after]
        return sorted(later, key=key)[:self.limit]

    def next(self, items: Sequence, key: Callable[[object], str]) -> Optional[str]:
        """The cursor of the following page: the last key of a full page, else
        None.  A full last page therefore leads to one empty page, the price of
        never asking the view for more than ``limit`` items."""
        return key(items[-1]) if len(items) == self.limit else None


def _mn_id(binding: BindingView) -> str:
    return binding.mn_id


def _name(maar: MaarView) -> str:
    return maar.name


def _pages_itself(method: Callable) -> bool:
    """True if a view method takes ``limit`` and ``after`` keyword arguments."""
    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    return all(name in parameters for name in Page.PARAMETERS)


def bindings_page(view: DomainView, page: Page, maar: Optional[str] = None,
                  prefix: Optional[IPv6Network] = None) -> List[BindingView]:
    """One page of ``view.bindings(maar, prefix)`` in MN-ID order.

    A view whose ``bindings`` takes ``limit``/``after`` (it must return the
    first ``limit`` matching bindings with an MN-ID above ``after``, in MN-ID
    order) is asked for that page only, so a request never builds more than
    ``limit`` bindings; any other view is asked for all and cut here.
    """
    if _pages_itself(view.bindings):
        return list(view.bindings(maar, prefix, limit=page.limit, after=page.after))
    return page.cut(view.bindings(maar, prefix), _mn_id)


def _network(text: str) -> IPv6Network:
    try:
        return IPv6Network(text, strict=True)
    except ValueError as err:
        raise HttpError(400, f"bad IPv6 prefix {text!r}: {err}") from None


class RestApp:
    """The WSGI callable: ``RestApp(view, RestConfig(...))``.

    ``registry`` lets the adapter expose the domain metrics in a registry it
    also uses for other collectors; by default /metrics has its own.
    """

    def __init__(self, view: DomainView, config: RestConfig = RestConfig(),
                 registry: Optional[CollectorRegistry] = None) -> None:
        self._view = view
        self._config = config
        self._registry = metrics.registry_for(view, registry)

    def __call__(self, environ, start_response):
        return self.respond(Request(environ))(environ, start_response)

    def respond(self, request: Request) -> Response:
        try:
            path = _decoded_path(request)
            name, args = _route(request.method, path)
            handler: Callable[..., Response] = getattr(self, "_" + name)
            return handler(request, **args)
        except HttpError as err:
            if err.code == 400:
                self._count(BAD_REQUEST)
            return err.response()
        except Exception:  # a view bug must not reach the client as a traceback
            LOG.exception("dmm rest: %s %r failed", request.method,
                          request.environ.get("PATH_INFO"))
            self._count(INTERNAL_ERROR)
            return HttpError(500, "internal error; see the controller log").response()

    def _count(self, reason: str) -> None:
        try:
            self._view.stats().error(reason)
        except Exception:  # the view is already failing: the log line is what is left
            LOG.exception("dmm rest: could not count %s", reason)

    def _maar_or(self, code: int, name: str) -> MaarView:
        """The MAAR, or ``code``: 404 for a path, 400 for a filter value."""
        maar = self._view.maar(name)
        if maar is None:
            raise HttpError(code, f"unknown MAAR {name!r}")
        return maar

    def _list_bindings(self, request: Request) -> Response:
        query = _query(request, ("maar", "prefix") + Page.PARAMETERS)
        prefix = _network(query["prefix"]) if "prefix" in query else None
        if "maar" in query:
            self._maar_or(400, query["maar"])
        return self._binding_page(Page.from_query(query), query.get("maar"), prefix)

    def _binding_page(self, page: Page, maar: Optional[str] = None,
                      prefix: Optional[IPv6Network] = None) -> Response:
        bindings = bindings_page(self._view, page, maar, prefix)
        return json_response({"bindings": [b.to_json() for b in bindings],
                              "next": page.next(bindings, _mn_id)})

    def _get_binding(self, request: Request, mn_id: str) -> Response:
        _query(request)
        binding = self._view.binding(mn_id)
        if binding is None:
            raise HttpError(404, f"no binding for MN {mn_id!r}")
        return json_response(binding.to_json())

    def _deregister(self, request: Request, mn_id: str) -> Response:
        _query(request)
        self._authorize(request)
        if not self._view.deregister(mn_id):
            raise HttpError(404, f"no binding for MN {mn_id!r}")
        LOG.info("dmm rest: forced de-registration of %s requested", mn_id)
        return json_response({"mn_id": mn_id, "status": "deregistering"}, 202)

    def _authorize(self, request: Request) -> None:
        """Forced de-registration: off unless configured, then a bearer token."""
        if not self._config.dereg_enabled:
            raise HttpError(403, "forced de-registration is disabled on this controller "
                                 "(enable it and set a token in the controller's config)")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HttpError(401, "a bearer token is required",
                            {"WWW-Authenticate": 'Bearer realm="dmm"'})
        expected = self._config.token.encode()
        if not hmac.compare_digest(token.strip().encode(), expected):
            raise HttpError(403, "invalid token")

    def _list_maars(self, request: Request) -> Response:
        """Paged here, not in the view: MAARs are few (the domain file's)."""
        page = Page.from_query(_query(request, Page.PARAMETERS))
        maars = page.cut(self._view.maars(), _name)
        return json_response({"maars": [m.to_json() for m in maars],
                              "next": page.next(maars, _name)})

    def _get_maar(self, request: Request, name: str) -> Response:
        _query(request)
        return json_response(self._maar_or(404, name).to_json())

    def _maar_bindings(self, request: Request, name: str) -> Response:
        page = Page.from_query(_query(request, Page.PARAMETERS))
        self._maar_or(404, name)
        return self._binding_page(page, maar=name)

    def _get_prefix(self, request: Request, prefix: str) -> Response:
        _query(request)
        held = self._view.prefix(_network(prefix))
        if held is None:
            raise HttpError(404, f"no binding holds {prefix}")
        return json_response(held.to_json())

    def _stats(self, request: Request) -> Response:
        _query(request)
        return json_response(self._view.stats().to_json())

    def _health(self, request: Request) -> Response:
        _query(request)
        health = self._view.health()
        return json_response(health, 200 if health.get("status") == "ok" else 503)

    def _openapi(self, request: Request) -> Response:
        _query(request)
        return json_response(DOCUMENT)

    def _metrics(self, request: Request) -> Response:
        _query(request)
        response = Response(body=metrics.exposition(self._registry))
        response.headers["Content-Type"] = metrics.CONTENT_TYPE
        return response
