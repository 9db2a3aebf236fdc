"""How the etcd client reads etcd's answers, against fake JSON gateways:
which failures move on to the next endpoint, which end the call, and that
nothing waits past the deadline."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from dmm_ryu.store.base import StoreError, StoreUnavailable
from dmm_ryu.store.election import Election
from dmm_ryu.store.etcd import EtcdClient, EtcdStore, _error_message, b64, prefix_end

OK = (200, {"header": {"revision": "9"}, "kvs": []})
NO_LEADER = (503, {"error": {"grpc_code": 14, "message": "etcdserver: no leader"}})
DEADLINE = (500, {"error": "context deadline exceeded", "code": 2})
TOO_MANY = (400, {"error": "etcdserver: too many operations in txn request", "code": 3})


class FakeGateway:
    """An HTTP server answering every POST with ``reply`` (status, JSON) after
    ``delay`` seconds; ``drop_idle`` closes each connection after one answer
    without saying so, as a restarted etcd does to a kept-alive connection."""

    def __init__(self, reply=OK, delay=0.0, drop_idle=False):
        self.reply, self.delay, self.drop_idle = reply, delay, drop_idle
        self.paths = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                gateway.paths.append(self.path)
                time.sleep(gateway.delay)
                status, body = gateway.reply
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = gateway.drop_idle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # clients that gave up
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateways():
    made = []

    def make(**kwargs):
        made.append(FakeGateway(**kwargs))
        return made[-1]

    yield make
    for gateway in made:
        gateway.close()


def test_no_leader_moves_on_and_remembers_the_endpoint_that_answered(gateways):
    minority, majority = gateways(reply=NO_LEADER), gateways()
    client = EtcdClient([minority.endpoint, majority.endpoint], timeout=2)
    assert client.txn([], [], [])["header"]["revision"] == "9"
    client.txn([], [], [])
    assert (minority.paths, majority.paths) == (["/v3/kv/txn"], ["/v3/kv/txn"] * 2)


def test_a_failed_write_is_not_repeated_elsewhere(gateways):
    failing, other = gateways(reply=DEADLINE), gateways()
    client = EtcdClient([failing.endpoint, other.endpoint], timeout=2)
    with pytest.raises(StoreUnavailable, match="context deadline exceeded"):
        client.txn([], [], [])
    assert other.paths == []


def test_a_failed_read_is_repeated_elsewhere(gateways):
    failing, other = gateways(reply=DEADLINE), gateways()
    client = EtcdClient([failing.endpoint, other.endpoint], timeout=2)
    assert client.range(b"k") == []
    assert other.paths == ["/v3/kv/range"]


def test_a_refused_request_is_a_store_error_not_unavailability(gateways):
    client = EtcdClient([gateways(reply=TOO_MANY).endpoint], timeout=2)
    with pytest.raises(StoreError, match="too many operations") as caught:
        client.txn([], [], [])
    assert not isinstance(caught.value, StoreUnavailable)


def test_a_silent_endpoint_costs_at_most_the_timeout(gateways):
    silent, other = gateways(delay=3), gateways()
    client = EtcdClient([silent.endpoint, other.endpoint], timeout=0.5)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="timed out"):
        client.txn([], [], [])
    assert time.monotonic() - started < 0.8
    assert other.paths == []


def test_a_silent_endpoint_leaves_reads_time_for_the_next(gateways):
    silent, other = gateways(delay=3), gateways()
    client = EtcdClient([silent.endpoint, other.endpoint], timeout=1)
    assert client.range(b"k") == [] and other.paths == ["/v3/kv/range"]


def test_a_kept_alive_connection_closed_by_the_server_is_reopened(gateways):
    gateway = gateways(drop_idle=True)
    client = EtcdClient([gateway.endpoint], timeout=2)
    for _ in range(3):
        client.txn([], [], [])
    assert len(gateway.paths) == 3


def test_endpoints_must_be_plain_http():
    with pytest.raises(ValueError, match="http://HOST:PORT"):
        EtcdClient(["https://127.0.0.1:2379"])
    assert EtcdClient(["127.0.0.1:2379"]).endpoints == [("127.0.0.1", 2379)]


@pytest.mark.parametrize("prefix, end", [
    (b"dmm/", b"dmm0"), (b"a\xff", b"b"), (b"\xff\xff", b"\0"), (b"", b"\0")])
def test_prefix_end_covers_exactly_the_prefix(prefix, end):
    assert prefix_end(prefix) == end


@pytest.mark.parametrize("status, body, message", [
    (503, json.dumps(NO_LEADER[1]), "etcdserver: no leader"),
    (500, json.dumps(DEADLINE[1]), "context deadline exceeded"),
    (502, "<html>bad gateway</html>", "HTTP 502")])
def test_error_message_reads_both_gateway_shapes(status, body, message):
    assert _error_message(status, body.encode()) == message


class FakeLeaseClient:
    """Grants and keeps alive leases of ``ttl`` seconds; ``down`` fails all."""

    def __init__(self, ttl):
        self.ttl, self.down = ttl, False

    def _check(self):
        if self.down:
            raise StoreUnavailable("etcd unavailable: fake")

    def lease_grant(self, ttl):
        self._check()
        return 42, self.ttl

    def lease_keepalive(self, lease):
        self._check()
        return self.ttl

    def txn(self, compare, success, failure):
        self._check()
        return {"succeeded": True, "header": {"revision": "7"}}

    def lease_revoke(self, lease):
        self._check()


def test_a_leader_cut_off_from_etcd_steps_down_within_the_ttl():
    client = FakeLeaseClient(ttl=1)
    changes = []
    election = Election(SimpleNamespace(client=client, prefix=b"p/"), "cmd", "a",
                        ttl=1, on_change=changes.append).start()
    try:
        assert _eventually(lambda: election.is_leader)
        client.down = True
        cut = time.monotonic()
        assert _eventually(lambda: not election.is_leader)
        assert time.monotonic() - cut <= 1.0 + election.tick
        assert _eventually(lambda: changes == [True, False])
        assert election.campaign_errors > 0
    finally:
        election.resign()


def _eventually(predicate, timeout=3.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_failing_callback_does_not_end_the_campaign():
    def broken(now):
        raise RuntimeError("callback bug")

    client = FakeLeaseClient(ttl=1)
    election = Election(SimpleNamespace(client=client, prefix=b"p/"), "cmd", "a",
                        ttl=1, on_change=broken).start()
    try:
        assert _eventually(lambda: election.is_leader)
        time.sleep(3 * election.tick)
        assert election._thread.is_alive() and election.is_leader
    finally:
        election.resign()


def test_a_leader_cut_off_is_degraded_fences_its_writes_and_leads_again():
    client = FakeLeaseClient(ttl=1)
    store = SimpleNamespace(client=client, prefix=b"p/")
    election = Election(store, "cmd", "a", ttl=1).start()
    try:
        assert _eventually(lambda: election.is_leader)
        assert election.term == 7 and not election.degraded
        assert store.fence() == [{"key": b64(b"election/p/cmd"), "target": "CREATE",
                                  "result": "EQUAL", "create_revision": "7"}]
        client.down = True
        assert _eventually(lambda: election.degraded)
        assert not election.is_leader
        with pytest.raises(StoreUnavailable, match="degraded"):
            store.fence()
        client.down = False  # etcd renews leases when it regains a leader
        assert _eventually(lambda: election.is_leader and not election.degraded)
    finally:
        election.resign()
    assert not election.degraded, "resigned: not the leader any more"


class FakeTxnClient:
    """Answers every txn with ``reply``; records the compares sent."""

    def __init__(self, reply):
        self.reply, self.compares = reply, []

    def txn(self, compare, success, failure):
        self.compares.append(compare)
        return self.reply


def fenced_store(reply, fence):
    store = EtcdStore(["http://127.0.0.1:1"])
    store.client, store.fence = FakeTxnClient(reply), fence
    return store


def test_every_commit_carries_the_fence():
    guard = {"key": "ZQ==", "target": "CREATE", "result": "EQUAL", "create_revision": "7"}
    store = fenced_store({"succeeded": True, "header": {"revision": "9"}}, lambda: [guard])
    assert store.commit({"mn/x": b"1"}, {"mn/x": 0}) == {"mn/x": 9}
    assert store.client.compares[0][-1] == guard and store.writable()


def test_a_failed_fence_is_unavailability_not_a_conflict():
    absent = {"responses": [{"response_range": {}}]}
    store = fenced_store(absent, lambda: [])
    with pytest.raises(StoreUnavailable, match="term has ended"):
        store.commit({"mn/x": b"1"}, {"mn/x": 0})


def test_a_fence_that_refuses_sends_nothing():
    def refuse():
        raise StoreUnavailable("degraded")

    store = fenced_store({"succeeded": True}, refuse)
    with pytest.raises(StoreUnavailable):
        store.commit({"mn/x": b"1"})
    assert store.client.compares == [] and not store.writable()
