"""dmmctl against the REST app served on loopback, and against nothing."""
import json
import socket
import subprocess
import sys
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from dmm_ryu.tools import dmmctl as cli
from dmm_ryu.ops.rest import RestApp, RestConfig
from tests.unit.fakeview import NOW, FakeView, many_bindings

TOKEN = "cli-token"


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        """No access log on the test output."""


@pytest.fixture
def view():
    return FakeView()


@pytest.fixture
def url(view):
    """The REST app on 127.0.0.1, an ephemeral port, for one test."""
    app = RestApp(view, RestConfig(dereg_enabled=True, token=TOKEN))
    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_bindings_table(capsys, url):
    code, out, _ = run(capsys, "--url", url, "bindings")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["MN-ID", "S-MAAR", "PREFIXES", "LIFETIME", "EXPIRES"]
    assert len(lines) == 4
    assert "2001:db8:1:1::/64 (at maar1), 2001:db8:2:1::/64" in out
    assert "expired" in out  # the sample expiry lies in 2023


def test_bindings_filters_reach_the_server(capsys, url):
    code, out, _ = run(capsys, "bindings", "--maar", "maar1", "--prefix", "2001:db8:2::/48",
                       "--url", url)
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["mn1@dmm.example"]


def test_empty_result_says_none(capsys, url):
    code, out, _ = run(capsys, "--url", url, "bindings", "--prefix", "2001:db8:9::/48")
    assert (code, out) == (0, "(none)\n")


def test_binding_detail(capsys, url):
    code, out, _ = run(capsys, "--url", url, "binding", "mn1@dmm.example")
    assert code == 0
    assert "S-MAAR    maar2 (2001:db8:ff::2)" in out
    assert "expires   expired" in out
    assert "2001:db8:1:1::/64  maar1   2001:db8:ff::1  no" in out


def test_maars_table(capsys, url):
    code, out, _ = run(capsys, "--url", url, "maars")
    assert code == 0
    maar3 = [line for line in out.splitlines() if line.startswith("maar3")][0]
    assert maar3.split() == ["maar3", "0x3", "2001:db8:ff::3", "2001:db8:3::/48", "1/65536",
                             "NO", "1", "0"]


@pytest.mark.parametrize("prefix", ["2001:db8:2:1::/64", "2001:db8:2:1::9"])
def test_prefix(capsys, url, prefix):
    code, out, _ = run(capsys, "--url", url, "prefix", prefix)
    assert code == 0
    assert "MN-ID   mn1@dmm.example" in out and "anchor  maar2" in out


def test_stats(capsys, url):
    code, out, _ = run(capsys, "--url", url, "stats")
    assert code == 0
    assert ["tx", "PBA", "157", "1"] in [line.split() for line in out.splitlines()]
    assert ["proxy", "3", "12.0", "30.0", "30.0"] in [line.split() for line in out.splitlines()]
    assert "mh_from_unknown_maar" in out


def test_json_output_is_the_servers_json(capsys, url, view):
    code, out, _ = run(capsys, "--url", url, "--json", "binding", "mn2@dmm.example")
    assert code == 0
    assert json.loads(out) == view.binding("mn2@dmm.example").to_json()


def test_deregister_with_token_option(capsys, url, view):
    code, out, _ = run(capsys, "--url", url, "deregister", "mn2@dmm.example", "--token", TOKEN)
    assert (code, out) == (0, "de-registration of mn2@dmm.example started\n")
    assert view.deregistered == ["mn2@dmm.example"]


def test_deregister_token_from_environment(capsys, url, view, monkeypatch):
    monkeypatch.setenv("DMMCTL_TOKEN", TOKEN)
    code, _, _ = run(capsys, "--url", url, "deregister", "mn3@dmm.example")
    assert code == 0 and view.deregistered == ["mn3@dmm.example"]


@pytest.mark.parametrize("argv, message", [
    (("deregister", "mn2@dmm.example"), "HTTP 401: a bearer token is required"),
    (("deregister", "mn2@dmm.example", "--token", "nope"), "HTTP 403: invalid token"),
    (("binding", "ghost"), "HTTP 404: no binding for MN 'ghost'"),
    (("prefix", "not-a-prefix"), "HTTP 400: bad IPv6 prefix"),
    (("bindings", "--maar", "maar9"), "HTTP 400: unknown MAAR 'maar9'"),
])
def test_http_errors_exit_1_with_the_servers_message(capsys, url, monkeypatch, argv, message):
    monkeypatch.delenv("DMMCTL_TOKEN", raising=False)
    code, out, err = run(capsys, "--url", url, *argv)
    assert (code, out) == (1, "")
    assert err.startswith(f"dmmctl: {message}") and len(err.splitlines()) == 1


def test_url_from_environment(capsys, url, monkeypatch):
    monkeypatch.setenv("DMMCTL_URL", url)
    assert run(capsys, "stats")[0] == 0


def test_unreachable_controller_exits_2_with_one_line(capsys, closed_port):
    code, out, err = run(capsys, "--url", f"http://127.0.0.1:{closed_port}", "maars")
    assert (code, out) == (2, "")
    assert err.startswith(f"dmmctl: cannot reach the controller at http://127.0.0.1:{closed_port}")
    assert len(err.splitlines()) == 1


def test_not_a_controller_exits_1(capsys, monkeypatch):
    monkeypatch.setattr(cli.urllib.request, "urlopen", _html_page)
    code, _, err = run(capsys, "maars")
    assert code == 1 and "not JSON" in err


class _html_page:
    status = 200

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self):
        return b"<html>hello</html>"


def test_module_runs_as_a_program(closed_port):
    done = subprocess.run([sys.executable, "-m", "dmm_ryu.tools.dmmctl", "--url",
                           f"http://127.0.0.1:{closed_port}", "stats"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "cannot reach the controller" in done.stderr and "Traceback" not in done.stderr


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["frobnicate"])
    assert exited.value.code == 2


def test_expiry_counts_down_from_now(capsys, url, monkeypatch):
    monkeypatch.setattr(cli.time, "time", lambda: NOW)
    code, out, _ = run(capsys, "--url", url, "bindings", "--maar", "maar3")
    assert code == 0 and out.splitlines()[1].endswith("3600      in 3540s")


@pytest.mark.parametrize("view", [FakeView(bindings=many_bindings(2500))])
def test_bindings_follows_every_page(capsys, url):
    """2,500 bindings come in three pages of at most 1,000; dmmctl shows all."""
    assert cli.main(["--url", url, "--json", "bindings"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert [b["mn_id"] for b in body["bindings"]] == [f"mn{i:05d}@dmm.example"
                                                       for i in range(2500)]
    assert body["next"] is None
