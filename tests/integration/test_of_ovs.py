"""Open vSwitch itself accepts every golden rule: each file is fed to
``ovs-ofctl add-flows`` (adds, strict deletes, the delete-all) on a
throwaway user-space bridge.  Needs root and OVS (skipped otherwise)."""
import os
import subprocess

import pytest

from tests.unit.test_of_scenarios import GOLDEN, ORDER

pytestmark = pytest.mark.integration


@pytest.fixture
def bridge():
    name = f"tstof{os.getpid() % 10000}"
    subprocess.run(["ovs-vsctl", "--may-exist", "add-br", name, "--", "set", "bridge", name,
                    "datapath_type=netdev", "protocols=OpenFlow13"], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ovs-vsctl", "--if-exists", "del-br", name], check=True)


@pytest.mark.parametrize("state", ORDER)
def test_ovs_accepts_the_golden_rules(bridge, state):
    rules = "".join(line for line in (GOLDEN / f"{state}.txt").open()
                    if line.strip() and not line.startswith("#"))
    done = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "add-flows", bridge, "-"],
                          input=rules, text=True, capture_output=True)
    assert done.returncode == 0, done.stderr
    dump = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", bridge],
                          capture_output=True, text=True, check=True).stdout
    assert "cookie=0xd301" in dump
