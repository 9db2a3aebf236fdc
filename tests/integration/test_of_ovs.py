"""Open vSwitch itself accepts every golden rule and holds exactly the
rules a golden rebuild lists: each file is fed to ``ovs-ofctl add-flows``
(adds, strict deletes, the delete-all) on a throwaway user-space bridge,
then each MAAR's full rule set alone, and the bridge's dump is compared
with it flow by flow.  Needs root and OVS (skipped otherwise)."""
import os
import subprocess

import pytest

from tests.unit import golden
from tests.unit.test_of_scenarios import GOLDEN, ORDER

pytestmark = pytest.mark.integration
OFCTL = ["ovs-ofctl", "-O", "OpenFlow13"]
ACCESS_PORTS = (2, 3)


@pytest.fixture
def bridge():
    name = f"tstof{os.getpid() % 10000}"
    subprocess.run(["ovs-vsctl", "--may-exist", "add-br", name, "--", "set", "bridge", name,
                    "datapath_type=netdev", "protocols=OpenFlow13"], check=True)
    for port in ACCESS_PORTS:  # the punt meters the rules name (flows.meter_mods)
        subprocess.run(OFCTL + ["add-meter", name, f"meter={port},pktps,burst,"
                                "band=type=drop,rate=100,burst_size=50"], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ovs-vsctl", "--if-exists", "del-br", name], check=True)


def add_flows(bridge, text):
    """Feed ``text``'s flow lines to the bridge; the bridge's dump after."""
    rules = "".join(line + "\n" for line in text.splitlines()
                    if line.strip() and not line.startswith("#"))
    done = subprocess.run(OFCTL + ["add-flows", bridge, "-"], input=rules, text=True,
                          capture_output=True)
    assert done.returncode == 0, done.stderr
    return subprocess.run(OFCTL + ["--no-stats", "dump-flows", bridge],
                          capture_output=True, text=True, check=True).stdout


def rebuilds(text):
    """The sections that are a whole rebuild, as text."""
    return [block for block in text.split("\n\n") if "full rule set" in block.splitlines()[0]]


def adds_of(block):
    """The section's flows without its delete-all: what the bridge holds after."""
    return golden.parse("\n".join(l for l in block.splitlines() if not l.startswith("delete ")))


@pytest.mark.parametrize("state", ORDER)
def test_ovs_accepts_the_golden_rules(bridge, state):
    assert "cookie=0xd301" in add_flows(bridge, (GOLDEN / f"{state}.txt").read_text())


@pytest.mark.parametrize("state", ORDER)
def test_ovs_holds_exactly_each_rebuilt_rule_set(bridge, state):
    blocks = rebuilds((GOLDEN / f"{state}.txt").read_text())
    assert len(blocks) == 3, "one rebuild per MAAR"
    for block in blocks:
        expected = adds_of(block)
        (name,) = expected
        dump = {name: golden.parse_ovs_dump(add_flows(bridge, block))}
        diff = golden.compare(expected, dump)
        assert not diff, f"bridge {bridge} (left: golden, right: OVS's dump):\n{diff}"
