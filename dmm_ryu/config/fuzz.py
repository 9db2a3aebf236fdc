"""Fuzzing the domain-file reader with mutated valid files.

Each input is a valid domain file changed once or a few times, either as
text (bytes flipped, lines duplicated or cut, YAML tokens such as ``&a``,
``*a``, ``[``, ``.nan`` inserted) or as a structure (a value replaced by a
hostile one, a key deleted, renamed or added, a MAAR cloned, two values
swapped), so most inputs get past the YAML layer and reach the checks.

For every input the reader must either accept the file or refuse it with one
:class:`InvalidConfigError`; anything else is a *crash*.  An accepted file is
then handed to ``build`` (which may refuse it with ``InvalidConfigError``,
as ``./dmm check`` does) and, when built, to ``run``, which exercises what
the controller derives from it; ``run`` raising anything is
*accepted_but_unbuildable*: a file the check passes but the controller
cannot run.  This module sits in the config layer, so the higher layers pass
``build`` and ``run`` in (``dmm_ryu.runtime.configfuzz``).
"""
from __future__ import annotations

import copy
import random
from typing import Any, Callable, Dict, List, Optional

import yaml

from dmm_ryu.config.domainfile import DomainFile, load_text
from dmm_ryu.config.values import InvalidConfigError

_MAAR = {"dpid": 1, "address": "2001:db8:ffff::1", "pool": "2001:db8:1::/48",
         "access_ports": [2, 3], "transport_ports": [1]}

SEEDS: List[Dict[str, Any]] = [
    {"mode": "relay", "timers": {"lifetime": 120, "aggregation_timeout": 0.05},
     "maars": {"maar1": dict(_MAAR),
               "maar2": dict(_MAAR, dpid=2, address="2001:db8:ffff::2", pool="2001:db8:2::/48",
                             prefix_length=64, access_ports=[2, 4])},
     "cmd": {"address": "2001:db8:ffff::100", "maar": "maar1", "port": 4},
     "mn_ids": {"00:00:00:00:01:01": "mn1@dmm.example"}},
    {"mode": "pmipv6", "lma": "maar1", "upstream_mac": "0e:00:00:00:ff:fe",
     "maars": {"maar1": dict(_MAAR),
               "maar2": dict(_MAAR, dpid=2, address="2001:db8:ffff::2", pool="2001:db8:2::/48")},
     "cmd": {"address": "2001:db8:ffff::100", "dpid": 256, "port": 1}},
    {"mode": "locator", "deregistration": "renew", "mn_policy": "any",
     "mn_id_template": "{mac}@example.net", "detach_guard": 2.5, "punt_rate": 200,
     "punt_burst": 20, "access_technology": "802.3", "gateway": "dlif",
     "option_types": {"previous_maar": 200, "serving_maar": 201},
     "timers": {"lifetime": 40, "refresh_ratio": 0.5, "retransmit_initial": 0.5,
                "retransmit_max": 4, "retransmit_limit": 3, "prefix_idle": 60},
     "maars": {"maar1": dict(_MAAR, max_bindings=100, prefix_length=56),
               "maar2": dict(_MAAR, dpid=2, address="2001:db8:ffff::2", pool="2001:db8:2::/48")},
     "cmd": {"address": "2001:db8:ffff::100", "dpid": 256, "port": 1},
     "mn_ids": {"0a:00:00:00:00:01": "alice@example.net"}},
]

HOSTILE = [None, True, False, 0, -1, 1, 2**64, 2**200, 0.5, float("nan"), float("inf"),
           -float("inf"), "", "x", "cmd", "{mac}@{domain}", "{mac!r}", "{0}", "{", "maar1",
           "2001:db8:ffff::1", "2001:db8:1::/48", "ff02::1", "fe80::1", "::", "10.0.0.1",
           "00:00:00:00:01:01", "01:00:5e:00:00:01", "802.11", [], [1], [1, 1], [2], [1, 2],
           ["a"], {}, {"a": 1}, {"maar1": {}}, "a b@c", "\u0000", "é" * 300, 10**6]
#: Values a key may well hold: edges of what is valid, so that many
#: mutated files are accepted and reach ``run``.
PLAUSIBLE: Dict[str, list] = {
    "mode": ["relay", "locator", "proxy", "pmipv6"], "deregistration": ["renew", "serving-only"],
    "lma": ["maar1", "maar2"], "maar": ["maar1", "maar2"], "port": [1, 2, 5, 0xFFFFFF00],
    "dpid": [3, 2**40 + 1, 2**64 - 1, 256], "access_ports": [[2], [5, 6], [1]],
    "transport_ports": [[1], [7, 1], [2]], "prefix_length": [48, 56, 64, 127, 128],
    "pool": ["2001:db8:3::/48", "2001:db8::/32", "fd00::/8", "2001:db8:1::/64"],
    "address": ["2001:db8:ffff::3", "fd00::1", "2001:db8:1::1", "2001:db8:ffff::100"],
    "lifetime": [4, 40, 262140], "refresh_ratio": [0.01, 0.99], "retransmit_initial": [0.001, 8],
    "retransmit_max": [0.5, 3600], "retransmit_limit": [1, 1000], "prefix_idle": [0, 0.5],
    "aggregation_timeout": [0.001, 60], "detach_guard": [0.001, 3600],
    "mn_policy": ["any", "listed"], "mn_id_template": ["{mac}", "x{mac}-{mac}@y", None],
    "max_bindings": [1, 2, 2**20], "punt_rate": [1, 10**6], "punt_burst": [1, 10**6],
    "access_technology": [1, 255, "ppp", 802.11, "IEEE_802_16E"], "gateway": ["dlif", "shared"],
    "previous_maar": [2, 255, 68], "serving_maar": [3, 67], "upstream_mac": ["02:00:00:00:00:01",
                                                                             "0e:00:00:00:00:01"],
}
TOKENS = ["&a ", "*a", "[", "]", "{", "}", ": ", "- ", "? ", "<<: ", "!!binary ", "!!set ",
          "!!python/object:os.system ", ".nan", ".inf", "-.inf", "1e999", "~", "'", '"',
          "\t", "\n  ", "\xff", "\ufeff", "9" * 5000, "[" * 100, "{a: 1, a: 2}", "%YAML 1.1\n",
          "---\n", "...\n", "#", "0x10", "0o7", "1_000", "10:00:00", "yes", "null"]


def _paths(node: Any, prefix=()) -> List[tuple]:
    """Every path to a value in a nested dict/list document."""
    out = [prefix] if prefix else []
    items = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, list) else ()
    for key, child in items:
        out += _paths(child, prefix + (key,))
    return out


def _parent(doc: Any, path: tuple):
    node = doc
    for key in path[:-1]:
        node = node[key]
    return node


def _structured(rng: random.Random, doc: Dict[str, Any]) -> Dict[str, Any]:
    """One structural change: replace, delete, rename, add, clone or swap."""
    paths = _paths(doc)
    path = rng.choice(paths)
    parent, last = _parent(doc, path), path[-1]
    kind = rng.randrange(6)
    if kind == 0:
        pool = PLAUSIBLE.get(str(last)) if rng.random() < 0.6 else None
        parent[last] = copy.deepcopy(rng.choice(pool or HOSTILE))
    elif kind == 1 and isinstance(parent, dict):
        del parent[last]
    elif kind == 2 and isinstance(parent, dict):
        parent[rng.choice(["cmd", "maar1", "x", 1, "lma", str(last) + "_"])] = parent.pop(last)
    elif kind == 3 and isinstance(parent, dict):
        parent[rng.choice(["colour", "lma", "mn_policy", "max_bindings", "port"])] = \
            copy.deepcopy(rng.choice(HOSTILE))
    elif kind == 4 and isinstance(doc.get("maars"), dict) and doc["maars"]:
        name, body = rng.choice(sorted(doc["maars"].items(), key=lambda kv: str(kv[0])))
        clone = copy.deepcopy(body)
        if isinstance(clone, dict) and rng.random() < 0.7:
            n = rng.randrange(3, 4096)
            clone.update(dpid=n, address=f"2001:db8:ffff::{n:x}", pool=f"2001:db8:{n:x}::/48")
        doc["maars"][rng.choice(["maar9", "cmd", "m-x", f"maar{rng.randrange(3, 99)}",
                                 str(name).upper()])] = clone
    else:
        other = rng.choice(paths)
        try:
            value = copy.deepcopy(_parent(doc, other)[other[-1]])
        except (KeyError, IndexError, TypeError):
            return doc
        parent[last] = value
    return doc


def _text(rng: random.Random, text: str) -> str:
    """One textual change at a random place."""
    if not text:
        return rng.choice(TOKENS)
    at = rng.randrange(len(text))
    kind = rng.randrange(5)
    if kind == 0:
        return text[:at] + rng.choice(TOKENS) + text[at:]
    if kind == 1:
        return text[:at] + text[at + rng.randrange(1, 20):]
    if kind == 2:
        lines = text.splitlines(keepends=True)
        i = rng.randrange(len(lines))
        return "".join(lines[:i + 1] + [lines[i]] + lines[i + 1:])
    if kind == 3:
        return text[:at] + chr(rng.choice([0, 7, 0x85, 0xD800, 0x2028, rng.randrange(32, 127)])) \
            + text[at + 1:]
    return text[:at]


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    """Writes shared values out in full: anchors are the fuzzer's to insert."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def mutate(rng: random.Random) -> bytes:
    """A mutated valid domain file, as the bytes a reader would get."""
    doc = copy.deepcopy(rng.choice(SEEDS))
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        doc = _structured(rng, doc)
    text = yaml.dump(doc, Dumper=_Dumper, default_flow_style=rng.random() < 0.5)
    for _ in range(rng.randrange(0, 3) if rng.random() < 0.5 else 0):
        text = _text(rng, text)
    data = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.03:
        at = rng.randrange(len(data) + 1)
        data = data[:at] + bytes([rng.randrange(0x80, 0x100)]) + data[at:]
    return data


def fuzz(n_inputs: int, seed: int,
         build: Optional[Callable[[DomainFile], Any]] = None,
         run: Optional[Callable[[DomainFile, Any], Any]] = None) -> Dict[str, Any]:
    """Run ``n_inputs`` mutated files; counts and the first few failures."""
    rng = random.Random(seed)
    counts = dict(inputs=0, accepted=0, refused=0, crashes=0, accepted_but_unbuildable=0)
    failures: List[Dict[str, str]] = []
    for _ in range(n_inputs):
        data = mutate(rng)
        counts["inputs"] += 1
        stage = "load"
        try:
            domain = load_text(data)
            stage = "build"
            built = build(domain) if build else None
        except InvalidConfigError:
            counts["refused"] += 1
            continue
        except Exception as err:  # noqa: BLE001 -- finding these is the point
            counts["crashes"] += 1
            failures.append(dict(kind=f"crash in {stage}", error=repr(err), input=repr(data)))
            continue
        counts["accepted"] += 1
        try:
            if run:
                run(domain, built)
        except Exception as err:  # noqa: BLE001
            counts["accepted_but_unbuildable"] += 1
            failures.append(dict(kind="accepted_but_unbuildable", error=repr(err),
                                 input=repr(data)))
    return dict(counts, failures=failures[:10])
