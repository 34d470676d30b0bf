"""The layout shows the architecture: no import cycles, small modules, areas that mirror each other,
and nothing that patches pytest or the standard library (ARCHITECTURE.md, revision 2)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import conformance

PACKAGE = Path(__file__).resolve().parent.parent / "conformance"
MAX_LINES = 500
# Where a file may exceed MAX_LINES: none today. A data table would be listed here with its reason.
LONG_ALLOWED: dict[str, str] = {}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def imports_at_load(path: Path) -> set[str]:
    """The conformance modules a module imports when it is loaded (not inside functions, not for typing)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and not _is_type_checking(node):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return {module for module in found if module in MODULES and module != name}


def test_no_import_cycle_inside_the_package() -> None:
    graph = {name: imports_at_load(path) for name, path in MODULES.items()}
    cycles = _cycles(graph)
    assert not cycles, f"import cycles: {cycles}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strongconnect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                strongconnect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            strongconnect(node)
    return found


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_small(name: str) -> None:
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES or name in LONG_ALLOWED, f"{name} has {lines} lines (at most {MAX_LINES})"


@pytest.mark.parametrize("needle", ["ast.parse =", "_update_current_test_var", "[UNSUPPORTED]", "pytest.skip("])
def test_nothing_patches_pytest_or_encodes_an_outcome_in_a_string(needle: str) -> None:
    hits = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if needle in path.read_text(encoding="utf-8") and path.name != "pytest_plugin.py"
    ]
    assert not hits, f"{needle!r} in {hits}"


def test_checks_probes_and_faults_mirror_each_other() -> None:
    checks = {p.stem for p in (PACKAGE / "checks").glob("[!_]*.py")}
    probes = {p.stem for p in (PACKAGE / "probes").glob("[!_]*.py")}
    faults = {p.stem for p in (PACKAGE / "reference" / "faults").glob("[!_]*.py")}
    # Every area with probes of its own has its checks beside it; every check area has its faults.
    assert probes - {"base", "endpoints"} <= checks
    # One set of faults breaks both official clients and the stream helper; the parse() oracle sees the faults
    # of the areas it drives.
    assert checks - {"sdk_node", "sdk_parse", "sdk_helper", "sdk_responses"} <= faults


def test_every_package_is_installed() -> None:
    """pyproject lists the packages by name: a new one left out installs a CLI that fails on import
    (the tests run from the checkout and would not notice)."""
    import tomllib

    root = Path(conformance.__file__).resolve().parent
    found = {".".join(("conformance", *init.parent.relative_to(root).parts)) for init in root.rglob("__init__.py")}
    listed = set(
        tomllib.loads((root.parent / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    )
    assert found - listed == set(), f"add to [tool.setuptools] packages in pyproject.toml: {sorted(found - listed)}"
