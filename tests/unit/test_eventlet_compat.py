"""The eventlet hook that lets Ryu 4.34's ryu-manager start on eventlet >= 0.33."""
import subprocess
import sys
import types
import threading

from dmm_ryu.of import _eventlet_compat


def fake_wsgi(**attrs):
    module = types.ModuleType("eventlet.wsgi")
    module.WSGI_LOCAL = threading.local()
    module.__dict__.update(attrs)
    return module


def test_patch_adds_sentinel_that_raises_already_handled_flag():
    module = fake_wsgi()
    _eventlet_compat.patch(module)
    module.WSGI_LOCAL.already_handled = False
    assert list(module.ALREADY_HANDLED) == []
    assert module.WSGI_LOCAL.already_handled is True


def test_patch_keeps_an_existing_sentinel():
    original = object()
    module = fake_wsgi(ALREADY_HANDLED=original)
    _eventlet_compat.patch(module)
    assert module.ALREADY_HANDLED is original


def test_pth_line_registers_hook_without_importing_the_package(tmp_path):
    """The .pth loads the hook by path: at interpreter start ``dmm_ryu``
    stays unimported, so the checkout on sys.path provides it later."""
    target = _eventlet_compat.install_pth(str(tmp_path))
    assert target.name == _eventlet_compat.PTH_NAME
    line = target.read_text()
    result = _run(f"import sys\n{line}import eventlet.wsgi\n"
                  "print('dmm_ryu' in sys.modules, hasattr(eventlet.wsgi, 'ALREADY_HANDLED'))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_ryu_wsgi_imports_in_the_installed_environment():
    """What ryu-manager does first: the .pth written by bootstrap makes it work."""
    result = _run("import ryu.app.wsgi, eventlet.wsgi; print(eventlet.wsgi.ALREADY_HANDLED)")
    assert result.returncode == 0, result.stderr
    assert "AlreadyHandled" in result.stdout


def test_without_the_hook_ryu_wsgi_fails_as_documented():
    """Guards the reason the hook exists (python -S skips .pth files)."""
    code = "import sys; sys.path[:0] = %r; import ryu.app.wsgi" % (sys.path,)
    result = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert "ALREADY_HANDLED" in result.stderr
