"""The HTTP server of the REST API, bounded against slow and greedy clients.

One code path under eventlet green threads (ryu-manager, os-ken 3, os-ken 4's
eventlet hub: sockets and time monkey-patched) and under native threads
(os-ken 4's default hub), stdlib only.  The framework's ``hub.WSGIServer``
is not used: os-ken 4's native hub has none, and the eventlet one
(``eventlet.wsgi``) has no deadline on the request head, so a client that
sends half a request line holds one of its 1,024 green threads for ever
(1,030 of them made the API unreachable), and its debug default sends
tracebacks to clients.

The bounds, all per server:

* **Head deadline.**  The request line and headers must arrive within
  ``timeout`` seconds of the accept: one deadline for the whole head, not a
  per-read timeout, so a byte every few seconds does not keep a connection.
  After the head every socket operation has ``timeout``.  A late head is
  dropped without an answer (nothing useful can reach such a client).
* **Sizes.**  A request line over :data:`MAX_HEAD` bytes gets 414, a header
  block over :data:`MAX_HEAD` bytes 431; both JSON, as every API error.
* **Connections.**  At most ``max_connections`` are open.  When full, a new
  connection evicts the oldest connection still sending its head (the
  slow clients, which hold a slot longest, are the ones dropped), so no
  number of half-open connections locks a complete request out; only when
  every slot is serving a request is the newcomer answered 503 at once and
  closed (best effort: the client may see a reset instead).
* **One request per connection** (HTTP/1.0 answers, ``Connection: close``):
  no idle keep-alive connection holds a slot.

Each event above is counted by a stable reason (``counts``, and the
``count`` hook, e.g. ``Stats.error``).  Connections run in threads made by
``spawn``: daemon threads by default; pass the hub's ``spawn`` where
threading is not monkey-patched but sockets are (ryu-manager).

Why not cheroot (maintained, pure Python, on PyPI): a new dependency that
does not remove the problem.  It hands each new connection to a worker of its
pool (10 threads by default) at once, and the worker reads the head under a
per-read timeout, so ten clients sending a byte every few seconds hold every
worker; and its accept/keep-alive loop runs on ``selectors``, which eventlet
only partly patches.  The stdlib parser (``http.server``) and WSGI runner
(``wsgiref``) behave the same under both hubs; the loop around them here is
what adds the bounds.
"""
from __future__ import annotations

import io
import json
import logging
import socket
import sys
import threading
import time
from collections import Counter
from typing import Callable, Dict, Optional
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler

LOG = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_CONNECTIONS = 256
#: Largest request line, and largest header block, in bytes.
MAX_HEAD = 8192
#: Kernel queue of connections not yet accepted.
BACKLOG = 1024

#: Reasons counted, one per event.
HEAD_TIMEOUT = "rest_head_timeout"
EVICTED = "rest_connection_evicted"
BUSY = "rest_busy"
LINE_TOO_LONG = "rest_request_line_too_long"
HEADERS_TOO_LARGE = "rest_headers_too_large"
BAD_HEAD = "rest_bad_request_head"
CONNECTION_FAILED = "rest_connection_failed"

_BUSY_BODY = b'{"code": 503, "message": "too many connections; retry later"}\n'
_BUSY_ANSWER = (b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
                % len(_BUSY_BODY)) + _BUSY_BODY


class _DeadlineReader(io.RawIOBase):
    """Reads of one socket: all under one deadline until :meth:`head_done`,
    then each under the plain timeout."""

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        super().__init__()
        self._sock = sock
        self._timeout = timeout
        self._deadline: Optional[float] = time.monotonic() + timeout

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._deadline is not None:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("request head not received in time")
            self._sock.settimeout(remaining)
        return self._sock.recv_into(buffer)

    def head_done(self) -> None:
        self._deadline = None
        self._sock.settimeout(self._timeout)


class _SocketWriter(io.BufferedIOBase):
    """Whole writes (``sendall``), so wsgiref never sees a partial one."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._sock.sendall(data)
        return len(data)


class _WsgiRunner(ServerHandler):
    """wsgiref's runner, logging through ``logging`` and answering JSON if
    the application itself fails (RestApp does not; this is the backstop)."""

    error_headers = [("Content-Type", "application/json")]
    error_body = b'{"code": 500, "message": "internal error"}\n'

    def log_exception(self, exc_info) -> None:
        LOG.error("dmm rest: the WSGI application failed", exc_info=exc_info)

    def handle_error(self) -> None:
        """Answer 500 for an application error, but let Ctrl-C through:
        wsgiref's bare ``except`` would swallow the KeyboardInterrupt that
        eventlet delivers to whichever green thread runs when the signal
        lands, and the manager would never stop."""
        if not isinstance(sys.exc_info()[1], Exception):
            raise  # pylint: disable=misplaced-bare-raise
        super().handle_error()


class _Handler(WSGIRequestHandler):
    """One request on one connection: the head read under the server's
    bounds, then parsed by ``http.server`` and run by ``wsgiref``."""

    server: "RestServer"
    default_request_version = "HTTP/1.0"  # errors always get a status line

    def setup(self) -> None:
        self.connection = self.request
        self.reader = _DeadlineReader(self.connection, self.server.timeout)
        self.rfile = io.BufferedReader(self.reader)
        self.wfile = _SocketWriter(self.connection)
        self.requestline, self.request_version, self.command = "", "HTTP/1.0", ""

    def handle(self) -> None:
        try:
            head = self._read_head()
        except socket.timeout:
            self.server.count(HEAD_TIMEOUT)
            return
        if head is None:
            return
        self.raw_requestline, headers = head
        socket_file, self.rfile = self.rfile, io.BytesIO(headers)
        try:
            parsed = self.parse_request()
        finally:
            self.rfile = socket_file
        if not parsed:
            self.server.count(BAD_HEAD)
            return
        self.reader.head_done()
        self.server.head_received(self.connection)
        runner = _WsgiRunner(self.rfile, self.wfile, self.get_stderr(), self.get_environ(),
                             multithread=True)
        runner.request_handler = self
        runner.run(self.server.app)

    def _read_head(self):
        """(request line, header block), or None once refused or when the
        client closes (or is evicted) before its head is complete: a
        truncated head is never served."""
        line = self.rfile.readline(MAX_HEAD + 1)
        if len(line) > MAX_HEAD:
            return self._refuse(414, LINE_TOO_LONG)
        if not line.endswith(b"\n"):
            return None
        lines = []
        while True:
            budget = MAX_HEAD - sum(map(len, lines))
            lines.append(self.rfile.readline(budget + 1))
            if len(lines[-1]) > budget:
                return self._refuse(431, HEADERS_TOO_LARGE)
            if lines[-1] in (b"\r\n", b"\n"):
                return line, b"".join(lines)
            if not lines[-1].endswith(b"\n"):
                return None

    def _refuse(self, code: int, reason: str) -> None:
        self.server.count(reason)
        self.send_error(code)
        _drain(self.connection)

    def send_error(self, code, message=None, explain=None) -> None:
        """JSON, as every answer of the API (its Error schema), not stdlib HTML."""
        message = message or self.responses.get(code, ("error",))[0]
        body = (json.dumps({"code": int(code), "message": message}) + "\n").encode()
        self.log_error("code %d, message %s", code, message)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:  # noqa: A002 (http.server's name)
        LOG.debug("dmm rest: %s %s", self.address_string(), format % args)


def _daemon_thread(function: Callable, *args) -> threading.Thread:
    thread = threading.Thread(target=function, args=args, name="dmm-rest", daemon=True)
    thread.start()
    return thread


def _abort(sock: socket.socket) -> None:
    """Wake whatever thread reads ``sock``; it closes the socket itself, so
    the descriptor is never reused under its feet."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _drain(sock: socket.socket, most: int = 8 * MAX_HEAD) -> None:
    """Discard, without waiting, what the client sent and we will not read:
    closing a socket with unread input resets it, and the reset can destroy
    the error answer before the client reads it."""
    try:
        sock.setblocking(False)
        while most > 0 and (chunk := sock.recv(min(most, 65536))):
            most -= len(chunk)
    except OSError:
        pass


def _refuse_busy(sock: socket.socket) -> None:
    """503 without ever blocking the accept loop: drain, one send, close."""
    _drain(sock)
    try:
        sock.send(_BUSY_ANSWER)
    except OSError:
        pass
    _abort(sock)
    sock.close()


class RestServer:
    """A bound listening socket, served by :meth:`serve_forever` until
    :meth:`shutdown`; see the module docstring for the bounds."""

    def __init__(self, app: Callable, host: str = "127.0.0.1", port: int = 8080, *,
                 timeout: float = DEFAULT_TIMEOUT,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 spawn: Callable = _daemon_thread,
                 count: Optional[Callable[[str], None]] = None,
                 poll_interval: float = 0.5) -> None:
        if not timeout > 0 or max_connections < 1:
            raise ValueError("timeout must be > 0 and max_connections >= 1")
        self.app = app
        self.timeout = timeout
        self.counts: Counter = Counter()
        self._max = max_connections
        self._spawn = spawn
        self._hook = count
        self._poll = poll_interval
        self._lock = threading.Lock()
        #: open connections, oldest first: True while still sending the head
        self._open: Dict[socket.socket, bool] = {}
        self._stopping = False
        self._running = False
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.create_server((host, port), family=family, backlog=BACKLOG)
        self._socket.settimeout(poll_interval)
        self.server_address = self._socket.getsockname()[:2]
        self.server_name, self.server_port = host, self.server_address[1]
        self.base_environ = {"SERVER_NAME": host, "GATEWAY_INTERFACE": "CGI/1.1",
                             "SERVER_PORT": str(self.server_port), "REMOTE_HOST": "",
                             "CONTENT_LENGTH": "", "SCRIPT_NAME": ""}

    def count(self, reason: str) -> None:
        with self._lock:
            self.counts[reason] += 1
        if self._hook is not None:
            self._hook(reason)

    def serve_forever(self) -> None:
        """Accept until :meth:`shutdown`; the accept timeout is the poll."""
        self._running = True
        try:
            while not self._stopping:
                self._accept_one()
        finally:
            self._socket.close()
            self._running = False

    def _accept_one(self) -> None:
        try:
            sock, address = self._socket.accept()
        except socket.timeout:
            return
        except OSError as err:  # e.g. out of descriptors: back off, keep serving
            if not self._stopping:
                LOG.warning("dmm rest: accept failed: %s", err)
                self.count(CONNECTION_FAILED)
                time.sleep(self._poll)
            return
        self._admit(sock, address)

    def _admit(self, sock: socket.socket, address) -> None:
        with self._lock:
            if self._stopping:  # accepted as shutdown began: it would outlive it
                sock.close()
                return
            admitted, victim = self._make_room()
            if admitted:
                self._open[sock] = True
        if victim is not None:
            self.count(EVICTED)
            _abort(victim)
        if not admitted:
            self.count(BUSY)
            _refuse_busy(sock)
            return
        try:
            self._spawn(self._serve_connection, sock, address)
        except Exception:  # e.g. no thread can be started now
            LOG.exception("dmm rest: could not start a connection thread")
            self.count(CONNECTION_FAILED)
            self._close(sock)

    def _make_room(self):
        """(admit?, connection to evict): called under the lock."""
        if len(self._open) < self._max:
            return True, None
        victim = next((s for s, in_head in self._open.items() if in_head), None)
        if victim is None:
            return False, None
        del self._open[victim]
        return True, victim

    def head_received(self, sock: socket.socket) -> None:
        """The connection now serves a request: no longer evictable."""
        with self._lock:
            if sock in self._open:
                self._open[sock] = False

    def _serve_connection(self, sock: socket.socket, address) -> None:
        """One connection's thread: nothing it raises may escape it."""
        try:
            _Handler(sock, address, self)
        except OSError as err:  # the client went away or stopped reading
            LOG.debug("dmm rest: connection from %s ended: %s", address, err)
        except Exception:
            LOG.exception("dmm rest: connection from %s failed", address)
            self.count(CONNECTION_FAILED)
        finally:
            self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.pop(sock, None)
        _abort(sock)
        sock.close()

    def shutdown(self) -> None:
        """Stop accepting, cut every open connection, and return once
        :meth:`serve_forever` has (at most about one poll interval)."""
        with self._lock:
            self._stopping = True
            open_now = list(self._open)
        for sock in open_now:
            _abort(sock)
        if not self._running:
            self._socket.close()
        give_up = time.monotonic() + 4 * self._poll + 1.0
        while self._running and time.monotonic() < give_up:
            time.sleep(0.01)


def serve(app: Callable, host: str, port: int, **options) -> RestServer:
    """Bind now (a port in use fails here, in the caller) and serve in a
    thread made by ``options["spawn"]``; returns the server, whose
    :meth:`RestServer.shutdown` stops it.  Options: see :class:`RestServer`."""
    server = RestServer(app, host, port, **options)
    server._spawn(server.serve_forever)
    return server
