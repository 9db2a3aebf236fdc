"""Leader election among controller instances, on an etcd lease.

Each instance holds its own lease and, every ``tick``, refreshes it and
campaigns: one txn creates the election key with its lease *only if the key
is absent* (``create_revision == 0``), otherwise reads who holds it.  The
leader is the instance whose lease the key carries.  When the leader dies its
keepalives stop, etcd deletes the key with the lease, and the next campaign
of another instance wins.

Timing (``ttl`` = 2 s, etcd 3.4's minimum with the default 1 s election
timeout; ``tick`` = ttl / 8):

* failover after ``kill -9`` of the leader: its lease expires at most ``ttl``
  after its last keepalive; etcd's lessor looks for expired leases every
  0.5 s; a follower campaigns within ``tick``.  Bound: ttl + 0.5 s + tick +
  two round trips, about 2.8 s at ttl = 2 s.
* no overlap: an instance counts itself leader only until ``ttl`` after it
  *sent* its last successful keepalive, which is no later than etcd's
  expiry of that lease, so it steps down (``is_leader`` turns False, even if
  its thread is stuck) before anyone else can win.
* etcd unreachable (quorum lost): nobody can be elected.  The leader whose
  lease lapsed without news of a successor is ``degraded``: it may keep its
  OpenFlow MASTER role (``dmm_ryu.shell.role``) to answer, but the store it
  fences refuses every write, so it accepts nothing it cannot store.  Its
  next successful campaign ends that: leader again (etcd renews leases when
  it regains a leader) or follower of whoever holds the key.

Fencing: an Election makes its store's commits conditional on the election
key still carrying this instance's term (``create_revision``), in the same
txn (``EtcdStore.fence``): a deposed or lapsed leader can never write, even
with a request already on the wire when a successor won.

The election key is ``election/<store prefix><name>``: outside the store's
records, so ``load()`` never returns it (unless the store's prefix is empty).

The loop runs in a ``threading.Thread``: under ryu-manager's monkey-patching
that is a green thread and the HTTP calls yield.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, List, Optional

from dmm_ryu.store.base import StoreError, StoreUnavailable
from dmm_ryu.store.etcd import EtcdStore, b64, unb64

LOG = logging.getLogger(__name__)


class Election:
    """Campaigns for ``name`` as ``instance_id`` until resign()."""

    def __init__(self, store: EtcdStore, name: str, instance_id: str, ttl: int = 2,
                 on_change: Optional[Callable[[bool], None]] = None) -> None:
        self._client = store.client
        self.key = b"election/" + store.prefix + name.encode()
        self.instance_id = instance_id
        self.ttl = ttl
        self.tick = ttl / 8
        self.on_change = on_change
        self.campaign_errors = 0
        self._lease = 0
        self._valid_until = 0.0
        self._holder: Optional[str] = None
        self._holder_lease = -1
        self.term = 0  #: create_revision of the election key while we hold it
        self._published = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"election-{name}-{instance_id}")
        store.fence = self.fence

    @property
    def is_leader(self) -> bool:
        """True while the key carries our lease and that lease surely lives."""
        return (self._lease != 0 and self._holder_lease == self._lease
                and time.monotonic() < self._valid_until)

    @property
    def degraded(self) -> bool:
        """Our lease lapsed (etcd did not answer its keepalives) but no
        campaign since showed a successor: we may still be the only leader
        there is, yet cannot prove our lease lives, so we must not write."""
        return (self._lease != 0 and self._holder_lease == self._lease
                and not self.is_leader)

    def fence(self) -> List[dict]:
        """The txn compares that make a store write conditional on our term;
        StoreUnavailable while we do not surely lead (no request is sent)."""
        if not self.is_leader:
            why = "degraded: etcd unreachable" if self.degraded else "not the leader"
            raise StoreUnavailable(f"{self.instance_id} does not surely lead ({why})")
        return [{"key": b64(self.key), "target": "CREATE", "result": "EQUAL",
                 "create_revision": str(self.term)}]

    def leader(self) -> Optional[str]:
        """The instance that held the key at the last campaign, or None."""
        return self._holder

    def start(self) -> "Election":
        self._thread.start()
        return self

    def resign(self) -> None:
        """Stop campaigning and hand leadership over now (revoking the lease
        deletes the key, so a follower wins at its next tick)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        lease, self._lease = self._lease, 0
        if lease:
            try:
                self._client.lease_revoke(lease)
            except StoreError as exc:
                LOG.warning("election %s: revoking lease failed (%s); it expires in %d s",
                            self.key.decode(), exc, self.ttl)
        self._publish()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._campaign()
            except StoreError as exc:
                self.campaign_errors += 1
                LOG.warning("election %s: %s", self.key.decode(), exc)
            self._publish()
            self._stop.wait(self.tick)

    def _campaign(self) -> None:
        self._refresh_lease()
        reply = self._client.txn(
            [{"key": b64(self.key), "target": "CREATE", "result": "EQUAL",
              "create_revision": "0"}],
            [{"request_put": {"key": b64(self.key), "value": b64(self.instance_id.encode()),
                              "lease": str(self._lease)}}],
            [{"request_range": {"key": b64(self.key)}}])
        if reply.get("succeeded", False):
            self._holder, self._holder_lease = self.instance_id, self._lease
            self.term = int(reply.get("header", {}).get("revision", 0))
            return
        kvs = reply["responses"][0]["response_range"].get("kvs", [])
        if kvs:
            self._holder = unb64(kvs[0].get("value", "")).decode()
            self._holder_lease = int(kvs[0].get("lease", 0))
            self.term = int(kvs[0].get("create_revision", 0)) \
                if self._holder_lease == self._lease else 0
        else:
            self._holder, self._holder_lease, self.term = None, -1, 0

    def _refresh_lease(self) -> None:
        """Keep our lease alive, or take a new one if it expired."""
        sent = time.monotonic()
        ttl = self._client.lease_keepalive(self._lease) if self._lease else 0
        if ttl == 0:
            self._lease, ttl = self._client.lease_grant(self.ttl)
        self._valid_until = sent + ttl

    def _publish(self) -> None:
        """Tell on_change about a change of our leadership."""
        leading = self.is_leader
        if leading == self._published:
            return
        self._published = leading
        LOG.info("election %s: %s %s leadership%s", self.key.decode(), self.instance_id,
                 "took" if leading else "lost",
                 " (lease lapsed, etcd unreachable: degraded)" if self.degraded else "")
        if self.on_change is None:
            return
        try:
            self.on_change(leading)
        except Exception:  # a callback's bug must not end the campaign
            LOG.exception("election %s: on_change callback failed", self.key.decode())
