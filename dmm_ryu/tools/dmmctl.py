"""dmmctl: the operator's command line over the controller's REST API.

Only the standard library (urllib), so it runs anywhere the controller's
package is installed, without the OpenFlow framework.  Exit codes: 0 done,
1 the controller answered with an error (its JSON message is printed),
2 the controller cannot be reached (or the command line is wrong).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence

DEFAULT_URL = "http://127.0.0.1:8080"
API = "/dmm/v1"


class Unreachable(Exception):
    """No HTTP answer at all: refused, timed out, bad host."""


class HttpFailure(Exception):
    """The controller answered with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")


class Call(NamedTuple):
    """One request a subcommand makes, and how to show its answer."""

    method: str
    path: str
    render: Callable[[object], str]
    query: Dict[str, Optional[str]] = {}
    token: Optional[str] = None
    paged: bool = False  # a paginated list (``?limit=&after=``, ``next``)


def request(base_url: str, call: Call, timeout: float) -> object:
    """Send ``call`` and return the decoded JSON body of a 2xx answer."""
    query = urllib.parse.urlencode({k: v for k, v in call.query.items() if v is not None})
    url = base_url.rstrip("/") + API + call.path + (f"?{query}" if query else "")
    headers = {"Accept": "application/json"}
    if call.token:
        headers["Authorization"] = f"Bearer {call.token}"
    req = urllib.request.Request(url, method=call.method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return _decode(response.status, response.read())
    except urllib.error.HTTPError as err:
        raise HttpFailure(err.code, _error_message(err.code, err.read())) from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise Unreachable(f"cannot reach the controller at {base_url}: {reason}") from None


#: Page size dmmctl asks for when it walks a paginated list.
PAGE = 1000


def fetch(base_url: str, call: Call, timeout: float) -> object:
    """``request``, following a paginated list (``next``) to its end: the
    pages' items are joined under the list's own key."""
    if not call.paged:
        return request(base_url, call, timeout)
    call = call._replace(query={**call.query, "limit": str(PAGE)})
    body = request(base_url, call, timeout)
    while isinstance(body, dict) and body.get("next"):
        key = next(k for k, v in body.items() if isinstance(v, list))
        page = request(base_url, call._replace(query={**call.query, "after": body["next"]}),
                       timeout)
        body = {**page, key: body[key] + page[key]}
    return body


def _decode(status: int, data: bytes) -> object:
    try:
        return json.loads(data)
    except ValueError:
        raise HttpFailure(status, "the answer is not JSON: is this a dmm-ryu controller?") from None


def _error_message(status: int, data: bytes) -> str:
    try:
        body = json.loads(data)
    except ValueError:
        return data.decode(errors="replace").strip() or "no message"
    if not isinstance(body, dict):
        return str(body)
    return body.get("message") or json.dumps(body, sort_keys=True)


def _segment(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def table(headers: Sequence[str], rows: List[Sequence[object]]) -> str:
    """Columns padded to their widest cell; an empty table says so."""
    if not rows:
        return "(none)"
    cells = [list(map(str, headers))] + [list(map(str, row)) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()
                     for row in cells)


def fields(pairs: Sequence[tuple]) -> str:
    width = max(len(key) for key, _ in pairs)
    return "\n".join(f"{key.ljust(width)}  {value}" for key, value in pairs)


def _held(prefixes: List[dict]) -> str:
    """Prefixes, each non-local one with the P-MAAR anchoring it."""
    return ", ".join(p["prefix"] if p["local"] else f"{p['prefix']} (at {p['anchor']})"
                     for p in prefixes)


def _expiry(binding: dict) -> str:
    left = int(binding["expires_at"] - time.time())
    return f"in {left}s" if left > 0 else "expired"


def show_bindings(body) -> str:
    rows = [(b["mn_id"], b["serving_maar"], _held(b["prefixes"]), b["lifetime"], _expiry(b))
            for b in body["bindings"]]
    return table(("MN-ID", "S-MAAR", "PREFIXES", "LIFETIME", "EXPIRES"), rows)


def show_binding(b) -> str:
    head = fields([("MN-ID", b["mn_id"]),
                   ("S-MAAR", f"{b['serving_maar']} ({b['serving_maar_address']})"),
                   ("lifetime", f"{b['lifetime']}s"), ("expires", _expiry(b))])
    rows = [(p["prefix"], p["anchor"], p["anchor_address"], "yes" if p["local"] else "no")
            for p in b["prefixes"]]
    return head + "\n\n" + table(("PREFIX", "ANCHOR", "ANCHOR ADDRESS", "LOCAL"), rows)


def show_maars(body) -> str:
    rows = [(m["name"], f"{m['dpid']:#x}", m["address"], m["pool"],
             f"{m['pool_used']}/{m['pool_size']}", "yes" if m["connected"] else "NO",
             m["bindings"], len(m["tunnels"])) for m in body["maars"]]
    return table(("NAME", "DPID", "ADDRESS", "POOL", "USED", "CONNECTED", "BINDINGS", "TUNNELS"),
                 rows)


def show_prefix(p) -> str:
    return fields([("prefix", p["prefix"]), ("MN-ID", p["mn_id"]), ("anchor", p["anchor"]),
                   ("S-MAAR", p["serving_maar"])])


def show_stats(s) -> str:
    messages = [(m["direction"], m["type"], "" if m["status"] is None else m["status"],
                 m["count"]) for m in s["messages"]]
    latency = [(mode, v["count"], v["p50"], v["p99"], v["max"])
               for mode, v in s["handover_latency_ms"].items()]
    return "\n\n".join([
        "messages\n" + table(("DIR", "TYPE", "STATUS", "COUNT"), messages),
        "errors\n" + table(("REASON", "COUNT"), list(s["errors"].items())),
        "handover latency (ms)\n" + table(("MODE", "COUNT", "P50", "P99", "MAX"), latency),
    ])


def show_health(h) -> str:
    """Status, the nodes served, and with CMD high availability who leads."""
    pairs = [("status", h["status"]), ("mode", h.get("mode", "?")),
             ("nodes", ", ".join(h.get("nodes", ())) or "?"),
             ("MAARs connected", f"{h.get('maars_connected', '?')}/{h.get('maars_total', '?')}"),
             ("bindings", h.get("bindings", "?"))]
    lead = h.get("leadership")
    if lead is not None:
        pairs += [("CMD instance", f"{lead['instance']} ({lead['role'].upper()}, generation "
                                   f"{lead['generation_id']})"),
                  ("CMD leader", lead["leader"] or "none elected")]
    return fields(pairs)


def show_deregistration(body) -> str:
    return f"de-registration of {body['mn_id']} started"


_PLANS: Dict[str, Callable[[argparse.Namespace], Call]] = {
    "bindings": lambda a: Call("GET", "/cmd/bindings", show_bindings,
                               {"maar": a.maar, "prefix": a.prefix}, paged=True),
    "binding": lambda a: Call("GET", f"/cmd/bindings/{_segment(a.mn_id)}", show_binding),
    "maars": lambda a: Call("GET", "/maars", show_maars, paged=True),
    "prefix": lambda a: Call("GET", f"/prefixes/{_segment(a.prefix)}", show_prefix),
    "stats": lambda a: Call("GET", "/stats", show_stats),
    "health": lambda a: Call("GET", "/health", show_health),
    "deregister": lambda a: Call("DELETE", f"/cmd/bindings/{_segment(a.mn_id)}",
                                 show_deregistration, token=a.token),
}


def _common() -> argparse.ArgumentParser:
    """Global options, accepted before or after the subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=argparse.SUPPRESS,
                        help=f"controller REST URL (env DMMCTL_URL; default {DEFAULT_URL})")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print the controller's JSON instead of a table")
    common.add_argument("--timeout", type=float, default=argparse.SUPPRESS,
                        help="seconds to wait for the controller (default 5)")
    return common


def parser() -> argparse.ArgumentParser:
    common = _common()
    top = argparse.ArgumentParser(prog="dmmctl", parents=[common],
                                  description="Inspect a dmm-ryu mobility domain.")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bindings = sub.add_parser("bindings", parents=[common], help="the CMD's binding cache")
    bindings.add_argument("--maar", help="only bindings this MAAR serves or anchors")
    bindings.add_argument("--prefix", help="only bindings holding a prefix inside this one")
    sub.add_parser("binding", parents=[common], help="one MN's binding").add_argument("mn_id")
    sub.add_parser("maars", parents=[common], help="the MAARs and what they carry")
    sub.add_parser("prefix", parents=[common], help="who holds a prefix or address"
                   ).add_argument("prefix")
    sub.add_parser("stats", parents=[common], help="message, error and latency counters")
    sub.add_parser("health", parents=[common],
                   help="status, the nodes served, and which CMD instance leads")
    dereg = sub.add_parser("deregister", parents=[common], help="force an MN's de-registration")
    dereg.add_argument("mn_id")
    dereg.add_argument("--token", default=os.environ.get("DMMCTL_TOKEN"),
                       help="bearer token (env DMMCTL_TOKEN)")
    return top


def _parse(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parse, then default the global options (not via set_defaults: the
    parent's actions are shared with every subparser, which would then reset
    an option given before the subcommand)."""
    args = parser().parse_args(argv)
    globals_ = {"url": os.environ.get("DMMCTL_URL", DEFAULT_URL), "json": False, "timeout": 5.0}
    for name, default in globals_.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parse(argv)
    call = _PLANS[args.command](args)
    try:
        body = fetch(args.url, call, args.timeout)
    except Unreachable as err:
        print(f"dmmctl: {err}", file=sys.stderr)
        return 2
    except HttpFailure as err:
        print(f"dmmctl: {err}", file=sys.stderr)
        return 1
    print(json.dumps(body, indent=2, sort_keys=True) if args.json else call.render(body))
    return 0


if __name__ == "__main__":
    sys.exit(main())
