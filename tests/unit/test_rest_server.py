"""The REST server on loopback under plain threads (and, in subprocesses,
under eventlet): bounds on slow, oversized and too many clients."""
import json
import selectors
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from dmm_ryu.ops import server as srv
from dmm_ryu.ops.rest import RestApp
from tests.unit.fakeview import FakeView

HEALTH = b"GET /dmm/v1/health HTTP/1.0\r\nHost: x\r\n\r\n"
PARTIAL = b"GET /dmm/v1/hea"
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def served(app=None, **options):
    threads = []

    def spawn(function, *args):
        threads.append(srv._daemon_thread(function, *args))

    server = srv.serve(app or RestApp(FakeView()), "127.0.0.1", 0, spawn=spawn,
                       poll_interval=0.05, **options)
    try:
        yield server
    finally:
        server.shutdown()
        for thread in threads:
            thread.join(2.0)
        assert not any(thread.is_alive() for thread in threads), "a server thread survived"


def exchange(port, data, wait=2.0):
    """Send ``data``, read to EOF: (status, headers text, body bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), head.decode("latin-1"), body


def half_open(port, count):
    """``count`` connections that sent part of a request line and hold."""
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(PARTIAL)
        socks.append(sock)
    return socks


def still_open(socks, within):
    """The sockets the server has not closed (EOF or reset) within ``within`` s."""
    selector = selectors.DefaultSelector()
    for sock in socks:
        selector.register(sock, selectors.EVENT_READ)
    deadline = time.monotonic() + within
    while selector.get_map() and time.monotonic() < deadline:
        for key, _ in selector.select(deadline - time.monotonic()):
            try:
                assert key.fileobj.recv(1024) == b"", "a half-open connection got an answer"
            except ConnectionResetError:
                pass
            selector.unregister(key.fileobj)
    left = [key.fileobj for key in selector.get_map().values()]
    selector.close()
    for sock in socks:
        sock.close()
    return left


def test_serves_the_app_and_refuses_non_utf8_paths_as_json():
    with served() as server:
        status, head, body = exchange(server.server_port, HEALTH)
        assert status == 200 and json.loads(body)["status"] == "ok"
        status, head, body = exchange(server.server_port,
                                      b"GET /dmm/v1/cmd/bindings/\xff%ff HTTP/1.0\r\n\r\n")
        assert status == 400 and "Content-Type: application/json" in head
        assert json.loads(body) == {"code": 400, "message": "the request path is not valid UTF-8"}


@pytest.mark.parametrize("max_connections", [srv.DEFAULT_MAX_CONNECTIONS, 2000])
def test_api_answers_while_1000_half_open_connections_are_held(max_connections):
    """With the default bound the newcomers evict the oldest half-open
    connections; with room for all 1,000, all are held by threads and
    still do not delay a complete request.  Either way each half-open
    connection is closed once the head deadline passes."""
    timeout = 3.0  # the head deadline; no bound here on how fast a loaded machine answers
    with served(timeout=timeout, max_connections=max_connections) as server:
        socks = half_open(server.server_port, 1000)
        status, _, _ = exchange(server.server_port, HEALTH, wait=10.0)
        answered_before_any_deadline = server.counts[srv.HEAD_TIMEOUT] == 0
        assert status == 200
        assert still_open(socks, within=timeout + 20) == []
        counts = server.counts
    assert answered_before_any_deadline or max_connections < 1000
    assert counts[srv.EVICTED] + counts[srv.HEAD_TIMEOUT] == 1000
    assert counts[srv.EVICTED] >= (745 if max_connections < 1000 else 0)


def test_head_deadline_is_one_deadline_not_a_timeout_per_read():
    with served(timeout=0.5) as server:
        sock = socket.create_connection(("127.0.0.1", server.server_port))
        started = time.monotonic()
        try:
            for byte in HEALTH[:-4]:                        # never the blank line
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert still_open([sock], within=0.5) == []
        assert time.monotonic() - started < 1.2
        assert server.counts[srv.HEAD_TIMEOUT] == 1


def _blocking_app(entered: threading.Semaphore, release: threading.Event):
    def app(environ, start_response):
        entered.release()
        release.wait(5)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]
    return app


def test_every_slot_serving_means_503_at_once_and_no_eviction():
    entered, release = threading.Semaphore(0), threading.Event()
    with served(_blocking_app(entered, release), max_connections=2) as server:
        answers = []
        clients = [threading.Thread(target=lambda: answers.append(
            exchange(server.server_port, HEALTH, wait=5)[0])) for _ in range(2)]
        for client in clients:
            client.start()
        assert entered.acquire(timeout=2) and entered.acquire(timeout=2)
        started = time.monotonic()
        status, head, body = exchange(server.server_port, HEALTH)
        assert (status, json.loads(body)["code"]) == (503, 503) and "Retry-After: 1" in head
        assert time.monotonic() - started < 0.5
        release.set()
        for client in clients:
            client.join(5)
        assert answers == [200, 200]
        assert (server.counts[srv.BUSY], server.counts[srv.EVICTED]) == (1, 0)


def test_a_full_server_evicts_the_oldest_half_open_connection_first():
    with served(max_connections=3) as server:
        oldest, younger = half_open(server.server_port, 1), half_open(server.server_port, 2)
        assert exchange(server.server_port, HEALTH)[0] == 200
        assert still_open(oldest, within=1.0) == []
        assert len(still_open(younger, within=0.2)) == 2
        assert server.counts[srv.EVICTED] == 1


@pytest.mark.parametrize("request_bytes, status, reason", [
    (b"GET /" + b"a" * srv.MAX_HEAD + b" HTTP/1.0\r\n\r\n", 414, srv.LINE_TOO_LONG),
    (b"GET / HTTP/1.0\r\n" + b"X-Pad: " + b"p" * srv.MAX_HEAD + b"\r\n\r\n", 431,
     srv.HEADERS_TOO_LARGE),
    (b"GET / HTTP/1.0\r\n" + b"X: y\r\n" * 1400 + b"\r\n", 431, srv.HEADERS_TOO_LARGE),
    (b"GET / HTTP/9.0\r\n\r\n", 505, srv.BAD_HEAD),
    (b"NONSENSE\r\n\r\n", 400, srv.BAD_HEAD),
])
def test_oversized_or_malformed_heads_get_a_json_error(request_bytes, status, reason):
    with served() as server:
        answer, head, body = exchange(server.server_port, request_bytes)
        assert answer == status and "Content-Type: application/json" in head
        assert json.loads(body)["code"] == status
        assert server.counts[reason] == 1


def test_a_head_just_inside_the_bounds_is_served():
    line = b"GET /dmm/v1/health?" + b"a" * (srv.MAX_HEAD - 32) + b" HTTP/1.0\r\n"
    with served() as server:
        status, _, body = exchange(server.server_port, line + b"X: " + b"h" * 8000 + b"\r\n\r\n")
    assert status == 400 and "unknown query parameter" in json.loads(body)["message"]


def test_an_application_that_raises_gets_json_500_without_traceback(caplog):
    def broken(environ, start_response):
        raise RuntimeError("secret detail")

    with served(broken) as server:
        status, _, body = exchange(server.server_port, HEALTH)
    assert status == 500 and json.loads(body) == {"code": 500, "message": "internal error"}
    assert b"secret" not in body and "secret detail" in caplog.text


def test_events_reach_the_count_hook():
    reasons = []
    with served(count=reasons.append) as server:
        exchange(server.server_port, b"GET / HTTP/9.0\r\n\r\n")
    assert reasons == [srv.BAD_HEAD]


def test_shutdown_closes_the_port_and_cuts_open_connections():
    with served(timeout=30) as server:
        port = server.server_port
        socks = half_open(port, 3)
    assert still_open(socks, within=1.0) == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)


@pytest.mark.parametrize("options", [{"timeout": 0}, {"max_connections": 0}])
def test_refuses_nonsense_bounds(options):
    with pytest.raises(ValueError):
        srv.RestServer(RestApp(FakeView()), "127.0.0.1", 0, **options)


EVENTLET_SCRIPT = """
import eventlet
eventlet.monkey_patch({patch})
import json, socket, sys, time
# the venv's .pth may have imported another checkout's dmm_ryu at start-up
for name in [m for m in sys.modules if m == "dmm_ryu" or m.startswith("dmm_ryu.")]:
    del sys.modules[name]
sys.path.insert(0, {root!r})
from dmm_ryu.ops import server as srv
from dmm_ryu.ops.rest import RestApp
from tests.unit.fakeview import FakeView

server = srv.serve(RestApp(FakeView()), "127.0.0.1", 0, timeout=0.5, poll_interval=0.05,
                   {spawn})
socks = []
for _ in range(300):
    sock = socket.create_connection(("127.0.0.1", server.server_port))
    sock.sendall(b"GET /dmm/v1/hea")
    socks.append(sock)
started = time.monotonic()
sock = socket.create_connection(("127.0.0.1", server.server_port))
sock.sendall(b"GET /dmm/v1/health HTTP/1.0\\r\\n\\r\\n")
answer = b""
while chunk := sock.recv(4096):
    answer += chunk
elapsed = time.monotonic() - started
eventlet.sleep(0.8)
closed = sum(s.recv(16) == b"" for s in socks)
server.shutdown()
print(json.dumps({{"status": int(answer.split()[1]), "elapsed": elapsed, "closed": closed,
                  "counts": server.counts, "green": eventlet.patcher.is_monkey_patched("socket")}}))
"""


@pytest.mark.parametrize("patch, spawn", [
    ("", ""),                                             # everything green, default spawn
    ("thread=False", "spawn=eventlet.spawn"),             # as ryu-manager patches
])
def test_serves_under_eventlet(patch, spawn):
    script = EVENTLET_SCRIPT.format(patch=patch, root=str(ROOT), spawn=spawn)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=30, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["green"] and result["status"] == 200 and result["elapsed"] < 2.0
    assert result["closed"] == 300
    assert result["counts"][srv.EVICTED] + result["counts"][srv.HEAD_TIMEOUT] == 300
