"""The CMD's OpenFlow role follows its etcd election.

Several CMD controller processes hold a connection to the CMD's switch;
only the elected one may program it or see its packet-ins.  The
:class:`CmdRole` keeper turns the election into OpenFlow 1.3 role requests
on that switch:

* the leader asks for MASTER with the *generation id* of its term: the
  ``create_revision`` of the election key it created.  etcd revisions only
  grow, each term creates the key anew, so a later leader always carries a
  larger generation, and the switch refuses a deposed leader's stale
  request (OFPRRFC_STALE) instead of handing it the switch back;
* every other instance asks for SLAVE with the generation of the current
  leader's term (so the switch never sees a generation newer than the next
  MASTER's), and sends it again whenever the term changes: a connection
  starts EQUAL, which would see packet-ins and could program the switch;
* a leader that loses its lease (``Election.is_leader`` turns False ttl
  after its last keepalive) goes SLAVE at the next poll, within ``POLL``
  seconds, unless it is ``degraded`` (etcd unreachable, no successor seen):
  then it keeps MASTER and its CMD refuses every PBU it cannot store
  (``dmm_ryu.runtime.cmd_node``).  Nobody else can be elected without an
  etcd quorum, and a later leader's larger generation deposes it at the
  switch.  When etcd answers again it either leads on (``on_master`` runs
  again: the CMD reloads what etcd holds) or steps down as above.

The keeper polls the election instead of taking its callback, so one thread
(the framework's green thread) sends every role request in order, and a
lost leadership is noticed even when the election's thread is stuck in an
etcd call.  While this instance is not MASTER the CMD's datapath is kept out
of the sender's (``hold``/``release``), so nothing the local CMD node
produces reaches the switch.
"""
from __future__ import annotations

import logging
from typing import Callable, Optional, Tuple

from dmm_ryu.store.base import StoreError
from dmm_ryu.store.etcd import unb64

LOG = logging.getLogger("dmm")

POLL = 0.2  #: s between two looks at the election
MASTER, SLAVE = "master", "slave"


class CmdRole:
    """This instance's role on the CMD switch, driven by ``election``.

    ``generation()`` reads the current term from etcd: (holder instance,
    create_revision of the election key), or None when no one holds it.
    ``on_master(datapath)`` runs after the MASTER request is sent (the app
    rebuilds the switch and reloads the CMD state); ``on_slave(datapath)``
    after a SLAVE request (the app stops sending to the switch).
    """

    def __init__(self, dpid: int, election, generation: Callable[[], Optional[Tuple[str, int]]],
                 on_master: Callable[[object], None], on_slave: Callable[[object], None],
                 count: Callable[[str], None]) -> None:
        self.dpid = dpid
        self.election = election
        self._generation = generation
        self._on_master, self._on_slave = on_master, on_slave
        self._count = count
        self.datapath = None
        self.role: Optional[str] = None  #: what was last requested on this connection
        self.generation_id: Optional[int] = None
        self.masters = 0  #: terms this instance took MASTER in
        self.degraded = False  #: MASTER kept while etcd is unreachable

    @property
    def is_master(self) -> bool:
        return self.role == MASTER and (self.election.is_leader or self.election.degraded)

    def connected(self, datapath) -> None:
        """The CMD switch (re)connected: it starts EQUAL, so the next poll
        asks again."""
        self.datapath, self.role = datapath, None

    def disconnected(self, datapath) -> None:
        if datapath is self.datapath:
            self.datapath, self.role = None, None

    def poll(self) -> None:
        """Bring the switch's role in line with the election."""
        datapath = self.datapath
        if datapath is None:
            return
        if self.election.is_leader:
            self._lead(datapath)
        elif self.election.degraded and self.role == MASTER:
            self._hold()
        else:
            self._follow(datapath)

    def _hold(self) -> None:
        """Lease lapsed, etcd silent: stay MASTER, refuse what needs a write."""
        if not self.degraded:
            self.degraded = True
            self._count("cmd_degraded")
            LOG.warning("dmm: CMD role: %s cannot reach an etcd quorum: keeps MASTER, "
                        "degraded (registrations refused until etcd answers)",
                        self.election.instance_id)

    def _read_term(self) -> Optional[Tuple[str, int]]:
        try:
            return self._generation()
        except StoreError as exc:
            self._count("role_generation_unavailable")
            LOG.warning("dmm: CMD role: cannot read the election term: %s", exc)
            return None

    def _term(self, datapath) -> Optional[Tuple[str, int]]:
        """The term etcd shows; None too if the switch reconnected while
        we read (the next poll starts over on the new connection)."""
        term = self._read_term()
        return term if datapath is self.datapath else None

    def _lead(self, datapath) -> None:
        if self.role == MASTER:
            if self.degraded:
                self._recovered(datapath)
            return
        term = self._term(datapath)
        if term is None or term[0] != self.election.instance_id:
            return  # our key is not (yet) readable: ask at the next poll
        self._request(datapath, MASTER, term[1])
        self.masters += 1
        self._on_master(datapath)

    def _recovered(self, datapath) -> None:
        """Leading again after a degraded spell: serve what etcd holds (a
        write that timed out may have been applied meanwhile)."""
        self.degraded = False
        LOG.warning("dmm: CMD role: %s reaches etcd again and leads on", self.election.instance_id)
        self._on_master(datapath)

    def _follow(self, datapath) -> None:
        self.degraded = False
        was_master = self.role == MASTER
        term = self._term(datapath)
        if datapath is not self.datapath:
            return
        generation = term[1] if term is not None else None
        if was_master and (generation is None or term[0] == self.election.instance_id):
            generation = self.generation_id  # our own term ended: step down in it
        if generation is None or (self.role == SLAVE and generation == self.generation_id):
            return
        self._request(datapath, SLAVE, generation)
        if was_master:
            self._on_slave(datapath)

    def _request(self, datapath, role: str, generation: int) -> None:
        ofp, parser = datapath.ofproto, datapath.ofproto_parser
        wire = ofp.OFPCR_ROLE_MASTER if role == MASTER else ofp.OFPCR_ROLE_SLAVE
        datapath.send_msg(parser.OFPRoleRequest(datapath, wire, generation))
        self.role, self.generation_id = role, generation
        LOG.info("dmm: CMD role: %s asks %s on dpid %#x (generation %d)",
                 self.election.instance_id, role.upper(), self.dpid, generation)

    def refused(self, text: str) -> None:
        """The switch refused a role request (a stale generation: a newer
        leader already holds it); the next poll asks again."""
        self._count("role_request_refused")
        LOG.warning("dmm: CMD role: request refused by the switch: %s", text)
        self.role = None

    def leadership(self) -> dict:
        """Who leads, for health(), metrics and dmmctl."""
        return {"election": "cmd", "instance": self.election.instance_id,
                "leader": self.election.leader(), "leading": self.election.is_leader,
                "role": self.role or "none", "generation_id": self.generation_id,
                "degraded": self.degraded}


def election_term(client, key: bytes) -> Optional[Tuple[str, int]]:
    """(holder, create_revision) of the election key, None if absent."""
    kvs = client.range(key)
    if not kvs:
        return None
    return unb64(kvs[0].get("value", "")).decode(), int(kvs[0]["create_revision"])


def run(role: CmdRole, sleep: Callable[[float], None], guard: Callable) -> None:
    """The keeper's thread: poll forever, each round guarded."""
    safe_poll = guard(role.poll)
    while True:
        safe_poll()
        sleep(POLL)
