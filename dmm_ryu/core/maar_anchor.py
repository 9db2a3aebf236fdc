"""The MAAR as a P-MAAR (draft 3.2-3.5, Appendix B): PBUs from the CMD
tell it the MN moved on (tunnel its prefix to the new S-MAAR and answer
with the HNP it anchors) or that the session ended (forget it)."""
from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Address
from typing import List, Optional

from dmm_ryu.core import routes
from dmm_ryu.core.actions import Action, CancelTimer, SendMessage, StartTimer
from dmm_ryu.core.config import Dereg, Mode
from dmm_ryu.core.messages import REQUEST_PREFIX, answer, dlif_options, seq_newer
from dmm_ryu.core.routes import MaarBce
from dmm_ryu.core.trust import in_pools, pbu_problem
from dmm_ryu.wire.mh.model import ProxyBindingAck, ProxyBindingUpdate, Status


class AnchorSide:
    """Mixed into :class:`~dmm_ryu.core.maar.Maar`: the methods below use its
    BCEs, pool, backoff, attachments and timers."""

    def _pbu(self, src: IPv6Address, pbu: ProxyBindingUpdate, now: float) -> List[Action]:
        opts = pbu.options
        refusal = self._pbu_refusal(src, pbu, now)
        if refusal is not None:
            reason, status = refusal
            self.counters[f"refused_{reason}"] += 1
            return [SendMessage(self.address, src, answer(pbu, status, hnps=()))]
        last = self._cmd_seqs.get(opts.mn_id)
        if last is not None and not seq_newer(pbu.sequence, last):
            self.counters["refused_135"] += 1
            refusal = answer(pbu, Status.SEQUENCE_OUT_OF_WINDOW, hnps=())
            return [SendMessage(self.address, src, replace(refusal, sequence=last))]
        bce = self.bces.get(opts.mn_id)
        if bce is not None and opts.timestamp < bce.ts:
            self.counters["stale_pbu_ignored"] += 1
            stale = answer(pbu, Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED, hnps=())
            return [SendMessage(self.address, src, stale)]
        if pbu.lifetime == 0:
            return self._forget(bce, src, pbu)
        if bce is None:
            status = Status.NOT_LMA_FOR_THIS_MOBILE_NODE
            return [SendMessage(self.address, src, answer(pbu, status, hnps=()))]
        self._cmd_seqs[opts.mn_id] = pbu.sequence
        return self._moved_away(bce, src, pbu, now)

    def _pbu_refusal(self, src: IPv6Address, pbu: ProxyBindingUpdate, now: float):
        """(counter reason, PBA status) for a PBU not to act on: not from the
        CMD (129), an option missing or a timestamp ahead of our clock, a
        prefix of no pool (155), or a Serving MAAR option that is not
        another MAAR (128); None when it may be processed."""
        if src != self._domain.cmd:
            return int(Status.ADMINISTRATIVELY_PROHIBITED), Status.ADMINISTRATIVELY_PROHIBITED
        problem = pbu_problem(pbu, now, self._timers, self._domain.mode, from_cmd=True)
        if problem is not None:
            return int(problem), problem
        if not in_pools(pbu.options.hnps, self.pools):
            return "155", Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX
        serving = pbu.options.serving_maar
        if pbu.lifetime and (serving == self.address or serving not in self.pools):
            return "serving_maar", Status.REASON_UNSPECIFIED
        return None

    def _moved_away(self, bce: MaarBce, src: IPv6Address, pbu: ProxyBindingUpdate,
                    now: float) -> List[Action]:
        """PBU with the Serving MAAR option: the MN is at another MAAR.

        Tunnel our prefix to it, drop the P-MAAR list and the MN's MAC and
        port (Appendix B: a P-MAAR keeps only the pointer; 66 bytes a BCE,
        issue 17) and answer
        with the HNP we anchor and (gateway: dlif) our DLIF, which the
        S-MAAR presents to the MN for it (RFC 8885 4.7, 4.8).  A prefix the CMD does not list was never
        registered (a registration overtaken by a newer one): release it.
        """
        opts = pbu.options
        if bce.local is not None and bce.local not in opts.hnps and REQUEST_PREFIX not in opts.hnps:
            self.pool.release(bce.local)
            bce.local = None
        self._backoff.stop(("retx", bce.mn_id))
        bce.pending, bce.final, bce.leaving = None, True, False
        bce.serving, bce.lifetime = opts.serving_maar, pbu.lifetime
        bce.ts = bce.ts if opts.timestamp is None else opts.timestamp
        bce.p_maars, bce.mac, bce.port = routes.NO_P_MAARS, "", 0
        self._prune_usage(bce)
        actions = routes.sync(bce) + self._stop_timers(bce, ("retx", "refresh", "locate"))
        actions += self.attachments.gone(bce.mn_id)
        actions += self._p_maar_timer(bce, now)
        hnps = () if bce.local is None else (bce.local,)
        dlif = dlif_options(self._domain.dlifs, (self.address,)) if hnps else {}
        if bce.local is None:
            del self.bces[bce.mn_id]
            self._cmd_seqs.pop(bce.mn_id, None)
        if hnps and self._domain.mode is Mode.LOCATOR:
            actions.append(SendMessage(self.address, opts.serving_maar,
                                       answer(pbu, hnps=hnps, **dlif)))
        actions.append(SendMessage(self.address, src,
                                   answer(pbu, hnps=hnps, serving_maar=opts.serving_maar, **dlif)))
        return actions

    def _p_maar_timer(self, bce: MaarBce, now: float) -> List[Action]:
        """Draft 3.5: "serving-only" stops the BCE timer, "renew" keeps it so
        the P-MAAR asks the CMD again when it expires."""
        key = ("expire", bce.mn_id)
        if self._domain.dereg is Dereg.RENEW and bce.local is not None:
            return [StartTimer(key, now + bce.lifetime)]
        return [CancelTimer(key)]

    def _forget(self, bce: Optional[MaarBce], src: IPv6Address,
                pbu: ProxyBindingUpdate) -> List[Action]:
        """De-registration PBU from the CMD: the session is over everywhere."""
        reply = SendMessage(self.address, src, answer(pbu, lifetime=0))
        return ([] if bce is None else self._drop(bce)) + [reply]

    def _dereg_answered(self, bce: MaarBce, pba: ProxyBindingAck, now: float) -> List[Action]:
        """Answer to our lifetime-0 PBU: leaving the domain, or a "renew"
        P-MAAR that the CMD keeps alive with a non-zero lifetime."""
        if bce.leaving or pba.lifetime == 0:
            return self._drop(bce)
        bce.lifetime = pba.lifetime
        self.counters["renewed"] += 1
        return [StartTimer(("expire", bce.mn_id), now + pba.lifetime)]
