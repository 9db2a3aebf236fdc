"""``./dmm fuzz``: attack a whole fake domain from outside and check, after
every input, that it still holds together (issue #12's fuzz target).

Inputs, per mode (relay, locator, proxy, pmipv6), on one
:class:`~dmm_ryu.testbed.fakedomain.FakeDomain` each:

* packet-ins mutated from valid frames (:mod:`dmm_ryu.tools.fuzzseeds`,
  :mod:`dmm_ryu.tools.fuzzmutate`), fed to ``DmmController.packet_in``;
  what the controller answers is carried through the fake switches;
  virtual time passes now and then, so timers fire;
* REST requests (:mod:`dmm_ryu.tools.fuzzrest`) to the same controller;
* mutated domain files (:func:`dmm_ryu.runtime.configfuzz.fuzz_domain_files`).

After every input the invariants of :mod:`dmm_ryu.tools.fuzzcheck` are
checked.  A *crash* is an exception escaping the controller or the REST
app; a *break* is a failed invariant.  Each finding is kept once per
place (exception site or invariant) with its first input, and the domain
it happened in is rebuilt, so one bug is not counted a million times.
"""
from __future__ import annotations

import argparse
import copy
import json
import logging
import random
import sys
import threading
import time
import traceback
from collections import Counter
from typing import Dict, List, Optional

from dmm_ryu.runtime.configfuzz import fuzz_domain_files
from dmm_ryu.runtime.stats import Stats
from dmm_ryu.tools import fuzzcheck, fuzzrest
from dmm_ryu.tools.fuzzmutate import mutate, target_of
from dmm_ryu.tools.fuzzseeds import MN_MACS, MODES, Seed, handovers, corpus, fresh_domain
from dmm_ryu.wire import ndp


class World:
    """One mode's domain under attack, with MNs registered in it."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.dom = fresh_domain(mode)
        handovers(self.dom)
        self.dom.inject("maar3", 2, ndp.router_solicitation(MN_MACS[2]))
        self.target = target_of(self.dom)
        self.state = fuzzcheck.state(self.dom)

    def clone(self) -> "World":
        """An independent copy, a third of the cost of replaying the
        handovers: the copy gets its own lock and empty stats, and shares
        the (immutable) OpenFlow modules."""
        dmm = self.dom.dmm
        memo = {id(dmm.lock): threading.RLock(), id(dmm.stats): Stats(),
                id(dmm.env.parser): dmm.env.parser, id(dmm.env.ofproto): dmm.env.ofproto}
        return copy.deepcopy(self, memo)


class Campaign:
    """A seeded run; :meth:`packet_input` and :meth:`rest_input` are one input each."""

    def __init__(self, seed: int = 0, table_every: int = 500, reset_every: int = 5000) -> None:
        self.rng = random.Random(seed)
        self.table_every, self.reset_every = table_every, reset_every
        self.corpus = {mode: corpus(mode) for mode in MODES}
        self.pristine = {mode: World(mode) for mode in MODES}
        self.worlds = {mode: w.clone() for mode, w in self.pristine.items()}
        self.apps = {mode: fuzzrest.rest_app(w.dom) for mode, w in self.worlds.items()}
        self.counts: Counter = Counter()
        self.findings: Dict[str, dict] = {}

    # -- packet-ins ------------------------------------------------------------------

    def packet_input(self) -> None:
        mode = MODES[self.counts["inputs"] % len(MODES)]
        world = self.worlds[mode]
        self.counts["inputs"] += 1
        inp = mutate(self.rng, self.rng.choice(self.corpus[mode]), world.target)
        dom = world.dom
        errors = fuzzcheck.error_total(dom)
        try:
            outs = dom.dmm.packet_in(inp.dpid, inp.port, inp.frame, dom.now)
        except Exception as exc:
            return self._crash("packet_in", world, inp, exc)
        counted = fuzzcheck.error_total(dom) - errors
        after = fuzzcheck.state(dom) if not outs else None
        rejected = after == world.state and not fuzzcheck.attachment_signal(dom, *inp)
        self.counts["rejected" if rejected else "accepted"] += 1
        problem = fuzzcheck.counting_break(rejected, counted)
        if problem:
            self._break(problem, world, inp, reset=False)
        self._settle(world, inp, outs, after)

    def _settle(self, world: World, inp: Seed, outs: list, after) -> None:
        """Carry the answer through the domain, let time pass, check."""
        dom = world.dom
        passes = self.rng.random() < 0.02
        try:
            dom.run(outs)
            if passes:
                dom.advance(self.rng.choice((0.5, 1.0, 1.5, 3.0, 20.0, 45.0)))
        except Exception as exc:
            return self._crash("delivery", world, inp, exc)
        problems = (fuzzcheck.binding_breaks(dom) + fuzzcheck.count_breaks(dom)
                    + fuzzcheck.rule_breaks(dom))
        if self.counts["inputs"] % self.table_every < len(MODES):
            problems += fuzzcheck.table_breaks(dom)
        if problems:
            return self._break(problems[0], world, inp)
        world.state = fuzzcheck.state(dom) if outs or passes else after
        if self.counts["inputs"] % self.reset_every < len(MODES):
            self._reset(world.mode)

    # -- REST ------------------------------------------------------------------------

    def rest_input(self) -> None:
        mode = self.rng.choice(MODES)
        world = self.worlds[mode]
        self.counts["rest_inputs"] += 1
        env = fuzzrest.environ(self.rng, world.dom)
        shown = {k: env[k] for k in ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING")}
        try:
            status, body = fuzzrest.call(self.apps[mode], env)
        except Exception as exc:
            return self._crash("rest", world, shown, exc)
        problem = fuzzrest.answer_break(status, body)
        problems = ([fuzzcheck.Break(problem, shown["PATH_INFO"])] if problem else []
                    ) + fuzzcheck.binding_breaks(world.dom)
        if problems:
            return self._break(problems[0], world, shown)
        world.state = fuzzcheck.state(world.dom)

    # -- findings --------------------------------------------------------------------

    def _crash(self, where: str, world: World, inp, exc: BaseException) -> None:
        site = traceback.extract_tb(exc.__traceback__)[-1]
        place = f"{site.filename.split('dmm_ryu/')[-1]}:{site.lineno}"
        key = f"{where}: {type(exc).__name__} at {place}"
        self.counts["crashes"] += 1
        self._keep(key, world, inp, f"{type(exc).__name__}: {exc}")

    def _break(self, problem: fuzzcheck.Break, world: World, inp, reset: bool = True) -> None:
        """A failed invariant; the domain is rebuilt unless the break left
        its state as it was (a miscount)."""
        self.counts["breaks"] += 1
        self._keep(problem.kind, world, inp, problem.detail, reset)

    def _keep(self, key: str, world: World, inp, detail: str, reset: bool = True) -> None:
        entry = self.findings.setdefault(key, {"key": key, "count": 0, "mode": world.mode,
                                               "detail": detail, "input": _shown(inp)})
        entry["count"] += 1
        if reset:
            self._reset(world.mode)

    def _reset(self, mode: str) -> None:
        self.worlds[mode] = self.pristine[mode].clone()
        self.apps[mode] = fuzzrest.rest_app(self.worlds[mode].dom)

    # -- the run ---------------------------------------------------------------------

    def run(self, inputs: int, rest: int = 0, progress: Optional[float] = None) -> dict:
        """``inputs`` packet-ins with ``rest`` REST requests spread among them;
        the controller's warnings about them are muted meanwhile."""
        log = logging.getLogger("dmm")
        level, log.level = log.level, logging.CRITICAL
        try:
            return self._run(inputs, rest, progress)
        finally:
            log.setLevel(level)

    def _run(self, inputs: int, rest: int, progress: Optional[float]) -> dict:
        start = last = time.perf_counter()
        every = max(1, inputs // rest) if rest else 0
        for i in range(inputs):
            self.packet_input()
            if every and i % every == 0 and self.counts["rest_inputs"] < rest:
                self.rest_input()
            if progress and time.perf_counter() - last > progress:
                last = time.perf_counter()
                print(json.dumps(self.figures(last - start)), flush=True)
        while self.counts["rest_inputs"] < rest:
            self.rest_input()
        return self.figures(time.perf_counter() - start)

    def figures(self, seconds: float) -> dict:
        counts = self.counts
        return {"inputs": counts["inputs"], "rest_inputs": counts["rest_inputs"],
                "rejected": counts["rejected"], "accepted": counts["accepted"],
                "seconds": round(seconds, 1),
                "inputs_per_s": round((counts["inputs"] + counts["rest_inputs"])
                                      / max(seconds, 1e-9)),
                "crashes": counts["crashes"], "invariant_breaks": counts["breaks"],
                "findings": list(self.findings.values())}


def _shown(inp) -> dict:
    if isinstance(inp, Seed):
        return {"dpid": inp.dpid, "port": inp.port, "frame": inp.frame.hex()}
    return dict(inp)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="dmm fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=200_000, help="packet-in inputs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rest", type=int, default=None,
                        help="REST inputs (default: one per 50 packet-ins)")
    parser.add_argument("--config", type=int, default=500, help="mutated domain files")
    parser.add_argument("--table-every", type=int, default=500,
                        help="inputs between flow-table rebuild checks")
    parser.add_argument("--progress", type=float, default=60.0, help="seconds between reports")
    args = parser.parse_args(argv)
    campaign = Campaign(args.seed, table_every=args.table_every)
    rest = args.inputs // 50 if args.rest is None else args.rest
    figures = campaign.run(args.inputs, rest, progress=args.progress)
    config = fuzz_domain_files(args.config, args.seed) if args.config else {}
    figures["config"] = config
    print(json.dumps(figures, indent=1, default=str))
    bad = figures["crashes"] + figures["invariant_breaks"] + sum(
        config.get(k, 0) for k in ("crashes", "accepted_but_unbuildable"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
