"""Suite-wide fixtures: real-parts tests need root and Open vSwitch.

Outside CI a developer without root gets a clear skip for the integration
and e2e tests; under CI (``CI=true``) a missing prerequisite is a failure,
because ``./dmm test`` installs and starts everything itself.
"""
import os
import shutil
import subprocess

import pytest


def _real_parts_problem():
    if os.geteuid() != 0:
        return "needs root (Open vSwitch, network namespaces)"
    if shutil.which("ovs-vsctl") is None:
        return "Open vSwitch is not installed (run scripts/bootstrap.sh)"
    probe = subprocess.run(["ovs-vsctl", "--timeout=3", "show"], capture_output=True)
    if probe.returncode != 0:
        return "Open vSwitch daemons are not running (run scripts/bootstrap.sh)"
    return None


def pytest_collection_modifyitems(config, items):
    needs_real = [i for i in items if "integration" in i.keywords or "e2e" in i.keywords]
    if not needs_real:
        return
    problem = _real_parts_problem()
    if problem is None:
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"integration/e2e tests cannot run: {problem}")
    for item in needs_real:
        item.add_marker(pytest.mark.skip(reason=problem))


def require_etcd() -> None:
    """Skip the calling test module where etcd is absent, but fail in CI,
    whose set-up installs it (a skipped distributed-store suite would pass
    unseen)."""
    import os
    import shutil

    if shutil.which("etcd") is None:
        if os.environ.get("CI"):
            raise RuntimeError("etcd is not installed (scripts/bootstrap.sh installs etcd-server)")
        pytest.skip("etcd is not installed (apt-get install etcd-server)", allow_module_level=True)
