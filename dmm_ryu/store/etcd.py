"""The etcd v3 backend of the store, over etcd's JSON gateway.

Client choice: a small client of our own over ``http.client`` against the
JSON gateway etcd 3.4 serves under ``/v3/`` (``kv/range``, ``kv/txn``,
``lease/grant``, ``lease/keepalive``, ``lease/revoke``), not a library:

* python-etcd3 speaks gRPC, whose C core runs its own threads and polls its
  own sockets; it is known to hang under eventlet's monkey-patching,
  which ryu-manager and osken-manager apply before any app loads.
* etcd3gw (HTTP/JSON via requests, works under eventlet) was checked: it
  talks to a single host and port, its ``transaction()`` takes the raw JSON
  txn body anyway (we would build the compares and the base64 ourselves), and
  it brings requests, urllib3, futurist and pbr for what is here under 200
  lines.
  What we need and it does not give is endpoint failover with one time budget
  per call, and a precise reading of etcd's errors ("no leader", timeouts).
* ``http.client`` uses ``socket``, which eventlet patches: under ryu-manager
  each call is green and yields while it waits; under native threads it is an
  ordinary blocking call.  Connections are kept alive per thread (per green
  thread under eventlet) and per endpoint.

No new dependency.  Every call has one deadline (``timeout`` seconds) across
all endpoints, so nothing hangs when etcd has lost its quorum.  A request
that was surely not applied (connection refused, "no leader", or any read)
moves on to the next endpoint; a write that timed out does not, because it
may still be applied: the caller gets StoreUnavailable and must not
acknowledge, and its retry meets the compare-and-swap (a StoreConflict whose
``actual`` revision may then be its own earlier write: re-read to tell).
The endpoint that answered last is tried first next time.

Layout in etcd: every key lives under ``prefix``; a commit is one txn that
compares each expected key (``create_revision == 0`` for "absent",
``mod_revision == N`` otherwise), puts and deletes on success, and reads the
expected keys on failure to report the actual revision.  A record's revision
is its etcd ``mod_revision``.  etcd limits one txn to 128 operations
(``--max-txn-ops``) and one request to 1.5 MiB.

``fence`` (set by :class:`~dmm_ryu.store.election.Election`): extra compares
every commit carries, so only the elected instance's writes apply; it raises
StoreUnavailable when this instance may not write at all (``writable()``
asks the same without writing).
"""
from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
from typing import Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from dmm_ryu.store.base import Record, StoreConflict, StoreError, StoreUnavailable

JSON = Dict[str, object]


def b64(data: bytes) -> str:
    """etcd's JSON gateway carries keys and values as base64."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def prefix_end(prefix: bytes) -> bytes:
    """The ``range_end`` that makes a range cover every key starting with
    ``prefix`` (etcd's rule: last byte below 0xff plus one; all keys: NUL)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return b"\0"
    return stripped[:-1] + bytes([stripped[-1] + 1])


class _RetryElsewhere(Exception):
    """This endpoint surely did not apply the request: try the next one."""


def _endpoint_address(endpoint: str) -> Tuple[str, int]:
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    if parts.scheme != "http" or not parts.hostname or not parts.port:
        raise ValueError(f"etcd endpoint {endpoint!r}: expected http://HOST:PORT")
    return parts.hostname, parts.port


def _error_message(status: int, body: bytes) -> str:
    """The gateway's error text: ``{"error": "..."}`` or, for streams,
    ``{"error": {"message": "..."}}``."""
    try:
        error = json.loads(body.decode("utf-8", "replace").splitlines()[0])["error"]
    except (ValueError, KeyError, IndexError, TypeError):
        return f"HTTP {status}"
    return error.get("message", str(error)) if isinstance(error, dict) else str(error)


class EtcdClient:
    """JSON calls to the first etcd endpoint that can answer them."""

    def __init__(self, endpoints: List[str], timeout: float = 2.0) -> None:
        if not endpoints:
            raise ValueError("etcd: at least one endpoint is needed")
        self.endpoints = [_endpoint_address(e) for e in endpoints]
        self.timeout = timeout
        self._preferred = 0
        self._local = threading.local()

    def call(self, path: str, body: JSON, retry_safe: bool = False) -> JSON:
        """POST ``body`` to ``/v3/<path>``; raises StoreUnavailable when no
        endpoint answers within ``timeout``, StoreError for a refused request.
        ``retry_safe``: the request may be repeated on another endpoint even
        after a timeout (reads, keepalives)."""
        deadline = time.monotonic() + self.timeout
        payload = json.dumps(body).encode()
        count = len(self.endpoints)
        errors: List[str] = []
        for attempt in range(count):
            index = (self._preferred + attempt) % count
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            share = remaining / (count - attempt) if retry_safe else remaining
            try:
                reply = self._post(index, path, payload, share, retry_safe)
            except _RetryElsewhere as exc:
                errors.append(str(exc))
                continue
            except StoreUnavailable:
                self._preferred = (index + 1) % count
                raise
            self._preferred = index
            return reply
        self._preferred = (self._preferred + 1) % count
        raise StoreUnavailable(f"etcd unavailable: {'; '.join(errors) or 'no time left'}")

    def _post(self, index: int, path: str, payload: bytes, timeout: float,
              retry_safe: bool) -> JSON:
        host, port = self.endpoints[index]
        where = f"{host}:{port}"
        try:
            status, body = self._exchange(index, path, payload, timeout)
        except ConnectionRefusedError as exc:
            self._drop(index)
            raise _RetryElsewhere(f"{where}: {exc}") from exc
        except (socket.timeout, OSError, http.client.HTTPException) as exc:
            self._drop(index)
            reason = "timed out" if isinstance(exc, socket.timeout) else repr(exc)
            if retry_safe:
                raise _RetryElsewhere(f"{where}: {reason}") from exc
            raise StoreUnavailable(f"etcd {where}: {reason}") from exc
        if status == 200:
            return json.loads(body)
        message = _error_message(status, body)
        if "no leader" in message or (retry_safe and status >= 500):
            raise _RetryElsewhere(f"{where}: {message}")
        if status >= 500:
            raise StoreUnavailable(f"etcd {where}: {message}")
        raise StoreError(f"etcd {where} refused /v3/{path}: {message}")

    def _exchange(self, index: int, path: str, payload: bytes,
                  timeout: float) -> Tuple[int, bytes]:
        """One HTTP round trip; a kept-alive connection the server has
        closed meanwhile is replaced once."""
        fresh = index not in self._connections()
        while True:
            connection = self._connection(index, timeout)
            try:
                connection.request("POST", f"/v3/{path}", payload,
                                   {"Content-Type": "application/json"})
                response = connection.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError):
                self._drop(index)
                if fresh:
                    raise
                fresh = True

    def _connections(self) -> Dict[int, http.client.HTTPConnection]:
        if not hasattr(self._local, "connections"):
            self._local.connections = {}
        return self._local.connections

    def _connection(self, index: int, timeout: float) -> http.client.HTTPConnection:
        connections = self._connections()
        connection = connections.get(index)
        if connection is None:
            host, port = self.endpoints[index]
            connection = http.client.HTTPConnection(host, port, timeout=timeout)
            connections[index] = connection
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        return connection

    def _drop(self, index: int) -> None:
        connection = self._connections().pop(index, None)
        if connection is not None:
            connection.close()

    def range(self, key: bytes, range_end: Optional[bytes] = None) -> List[JSON]:
        """The key-values from ``key`` (up to ``range_end``), key order."""
        body: JSON = {"key": b64(key)}
        if range_end is not None:
            body["range_end"] = b64(range_end)
        return self.call("kv/range", body, retry_safe=True).get("kvs", [])

    def txn(self, compare: List[JSON], success: List[JSON],
            failure: List[JSON]) -> JSON:
        """One transaction; the reply's ``succeeded`` is absent when false."""
        return self.call("kv/txn", {"compare": compare, "success": success,
                                    "failure": failure})

    def lease_grant(self, ttl: int) -> Tuple[int, int]:
        """A new lease: (id, granted TTL; etcd raises TTLs below its minimum,
        2 s with the default election timeout)."""
        reply = self.call("lease/grant", {"TTL": ttl})
        return int(reply["ID"]), int(reply["TTL"])

    def lease_keepalive(self, lease: int) -> int:
        """Refresh ``lease``; its TTL from now, 0 when it has expired."""
        reply = self.call("lease/keepalive", {"ID": str(lease)}, retry_safe=True)
        return int(reply.get("result", {}).get("TTL", 0))

    def lease_revoke(self, lease: int) -> None:
        """End ``lease`` now, deleting its keys; an unknown lease is ignored."""
        try:
            self.call("lease/revoke", {"ID": str(lease)}, retry_safe=True)
        except StoreUnavailable:
            raise
        except StoreError as exc:
            if "lease not found" not in str(exc):
                raise

    def close(self) -> None:
        """Close this thread's connections (others close with their thread)."""
        for index in list(self._connections()):
            self._drop(index)


def _compare(key: bytes, revision: int) -> JSON:
    if revision == 0:
        return {"key": b64(key), "target": "CREATE", "result": "EQUAL",
                "create_revision": "0"}
    return {"key": b64(key), "target": "MOD", "result": "EQUAL",
            "mod_revision": str(revision)}


def _operation(key: bytes, value: Optional[bytes]) -> JSON:
    if value is None:
        return {"request_delete_range": {"key": b64(key)}}
    return {"request_put": {"key": b64(key), "value": b64(value)}}


def _revision_of(kvs: List[JSON]) -> int:
    return int(kvs[0]["mod_revision"]) if kvs else 0


class EtcdStore:
    """KvStore on etcd: one key per record under ``prefix``."""

    def __init__(self, endpoints: List[str], prefix: str = "dmm/",
                 timeout: float = 2.0) -> None:
        self.client = EtcdClient(endpoints, timeout)
        self.prefix = prefix.encode()
        self.fence: Optional[Callable[[], List[JSON]]] = None

    def writable(self) -> bool:
        """False when the fence already refuses writes (no request sent)."""
        try:
            self._fence()
        except StoreUnavailable:
            return False
        return True

    def _fence(self) -> List[JSON]:
        return [] if self.fence is None else self.fence()

    def _key(self, key: str) -> bytes:
        return self.prefix + key.encode()

    def _record(self, kv: JSON) -> Record:
        key = unb64(kv["key"])[len(self.prefix):].decode()
        return Record(key, unb64(kv.get("value", "")), int(kv["mod_revision"]))

    def load(self, prefix: str = "") -> List[Record]:
        start = self._key(prefix)
        return [self._record(kv) for kv in self.client.range(start, prefix_end(start))]

    def get(self, key: str) -> Optional[Record]:
        kvs = self.client.range(self._key(key))
        return self._record(kvs[0]) if kvs else None

    def commit(self, writes: Mapping[str, Optional[bytes]],
               expect: Mapping[str, int] = {}) -> Dict[str, int]:
        expected = list(expect.items())
        fence = self._fence()
        reply = self.client.txn(
            [_compare(self._key(k), r) for k, r in expected] + fence,
            [_operation(self._key(k), v) for k, v in writes.items()],
            [{"request_range": {"key": b64(self._key(k))}} for k, _ in expected])
        if not reply.get("succeeded", False):
            raise self._conflict(expected, reply["responses"])
        revision = int(reply["header"]["revision"])
        return {k: 0 if v is None else revision for k, v in writes.items()}

    @staticmethod
    def _conflict(expected: List[Tuple[str, int]], responses: List[JSON]) -> StoreError:
        """The first expectation the failed txn's reads contradict."""
        actual = [_revision_of(r["response_range"].get("kvs", [])) for r in responses]
        wrong = [(k, r, a) for (k, r), a in zip(expected, actual) if r != a]
        if not wrong:  # every record as expected: the fence failed
            return StoreUnavailable("etcd: the write's election term has ended (another "
                                    "instance leads)")
        return StoreConflict(*wrong[0])

    def close(self) -> None:
        self.client.close()
