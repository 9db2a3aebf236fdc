"""The package's layers, checked from the source: no module imports from a
layer above its own, none imports the tests, and none grows past the size a
reader takes in at once.

Layers, low to high (README, "Architecture"): a layer may use itself and
what is below it, so the protocol core never learns about OpenFlow, and
the operator plane never reaches into the app shell.
"""
import ast
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "dmm_ryu"
LAYERS = ("wire", "core", "sim", "config", "of", "store", "runtime", "ops", "shell",
          "testbed", "tools")
#: Modules outside the sub-packages, and the layer they belong to.
TOP_LEVEL = {"__init__": "wire", "app": "shell"}
#: Packages package code must never import.
FORBIDDEN = ("tests", "benchmarks")
MAX_LINES = 400
#: (importer, imported module or package) allowed upward, each with its reason.
UPWARD_EXCEPTIONS: dict = {}
#: Modules allowed above MAX_LINES, each with its reason.
LONG_EXCEPTIONS: dict = {}


def modules() -> List[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(name: str) -> Optional[str]:
    """The layer of a dotted module name under dmm_ryu, None outside it."""
    parts = name.split(".")
    if parts[0] != "dmm_ryu":
        return None
    if len(parts) == 1:
        return TOP_LEVEL["__init__"]
    return parts[1] if parts[1] in LAYERS else TOP_LEVEL[parts[1]]


def imports(path: Path) -> Iterator[Tuple[int, str]]:
    """(line, dotted name) of everything the module imports, wherever in
    the module the import sits; ``from X import Y`` yields X.Y, which is
    the module Y when Y is one and a name of X otherwise."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            origin = ".".join(base + ([node.module] if node.module else []))
            yield from ((node.lineno, f"{origin}.{alias.name}") for alias in node.names)


def target_layer(name: str) -> Optional[str]:
    """The layer ``name`` is in; X.Y for a name Y of X counts as X's."""
    parts = name.split(".")
    if len(parts) > 1 and parts[0] == "dmm_ryu" and parts[1] not in LAYERS + tuple(TOP_LEVEL):
        parts = parts[:1]
    return layer_of(".".join(parts))


def rank(layer: str) -> int:
    return LAYERS.index(layer)


def upward_imports():
    """Every import of a higher layer: (importer, line, imported, layers)."""
    found = []
    for path in modules():
        own = layer_of(module_name(path))
        for line, name in imports(path):
            other = target_layer(name)
            if other and rank(other) > rank(own):
                found.append((str(path.relative_to(PACKAGE)), line, name, f"{own} -> {other}"))
    return found


def excepted(path: str, name: str) -> Optional[tuple]:
    """The exception that allows ``path`` to import ``name``, if one does."""
    return next((key for key in UPWARD_EXCEPTIONS
                 if key[0] == path and (name + ".").startswith(key[1] + ".")), None)


def test_no_module_imports_from_a_higher_layer():
    found = [f for f in upward_imports() if not excepted(f[0], f[2])]
    assert not found, "imports from a higher layer:\n" + "\n".join(
        f"  dmm_ryu/{path}:{line} imports {name} ({layers})" for path, line, name, layers in found)


def test_every_upward_exception_is_still_needed():
    used = {excepted(f[0], f[2]) for f in upward_imports()}
    assert not set(UPWARD_EXCEPTIONS) - used, "remove the exceptions the code no longer needs"


def test_package_code_never_imports_the_tests_or_benchmarks():
    found = [f"dmm_ryu/{p.relative_to(PACKAGE)}:{line} imports {name}"
             for p in modules() for line, name in imports(p) if name.split(".")[0] in FORBIDDEN]
    assert not found, "\n".join(found)


def test_every_package_is_a_known_layer():
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert packages == set(LAYERS) and top == set(TOP_LEVEL)


def line_counts():
    return {str(p.relative_to(PACKAGE)): len(p.read_text().splitlines()) for p in modules()}


def test_no_module_is_longer_than_the_limit():
    long = {path: n for path, n in line_counts().items()
            if n > MAX_LINES and path not in LONG_EXCEPTIONS}
    assert not long, f"modules above {MAX_LINES} lines: {long}"


def test_every_long_exception_is_still_long():
    counts = line_counts()
    assert [p for p in LONG_EXCEPTIONS if counts.get(p, 0) <= MAX_LINES] == []


@pytest.mark.parametrize("name,layer", [
    ("dmm_ryu", "wire"), ("dmm_ryu.app", "shell"), ("dmm_ryu.core.maar", "core"),
    ("dmm_ryu.of.compat.cfg", "of"), ("dmm_ryu.__version__", "wire"), ("yaml", None),
])
def test_layer_of_a_dotted_name(name, layer):
    assert target_layer(name) == layer


def test_relative_imports_resolve_against_the_package(tmp_path, monkeypatch):
    fake = tmp_path / "dmm_ryu"
    (fake / "ops").mkdir(parents=True)
    module = fake / "ops" / "view.py"
    module.write_text("from ..runtime import controller\nfrom . import rest\nimport dmm_ryu.tools\n")
    monkeypatch.setitem(globals(), "PACKAGE", fake)
    assert list(imports(module)) == [(1, "dmm_ryu.runtime.controller"), (2, "dmm_ryu.ops.rest"),
                                     (3, "dmm_ryu.tools")]
