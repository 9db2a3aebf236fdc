"""The memory benchmark (benchmarks/loadgen.py memory): its figure counts
the runtime's state only, and ``--by-line`` names where it is held."""
from benchmarks import loadgen


def test_memory_by_line_names_the_runtime_lines_that_hold_it():
    result = loadgen.memory(40, maars=2, scrapes=1, by_line=5)
    assert result["bindings"] == 40 and result["errors"] == {}
    lines = result["by_line"]
    assert len(lines) == 5
    assert all(":" in row["line"] and row["blocks_per_mn"] > 0 for row in lines)
    assert any(row["line"].startswith("dmm_ryu/") for row in lines)  # relative to the tree
    assert lines[0]["bytes_per_mn"] >= lines[-1]["bytes_per_mn"] > 0
    assert not any(row["line"].startswith("benchmarks/loadgen.py:2") for row in lines[:3])


def test_memory_without_by_line_reports_no_lines():
    assert "by_line" not in loadgen.memory(10, maars=2, scrapes=1)
