"""The catalogue and the checks stay together: guards that fail when they drift apart."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

import conformance.core.catalogue
import conformance.suite
from conformance.core.catalogue import CatalogueError, load_catalogue, parse_catalogue

CATALOGUE = load_catalogue()


def bound_checks() -> dict[str, list[str]]:
    """requirement id → names of the suite functions bound to it with @requirement."""
    bound: dict[str, list[str]] = {}
    for module_info in pkgutil.iter_modules(conformance.suite.__path__):
        if not module_info.name.startswith("test_"):
            continue
        module = importlib.import_module(f"conformance.suite.{module_info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            for mark in getattr(function, "pytestmark", []):
                if mark.name == "requirement":
                    bound.setdefault(mark.args[0], []).append(f"{module_info.name}.{name}")
    return bound


def test_catalogue_has_at_least_forty_requirements() -> None:
    assert len(CATALOGUE.active) >= 40


def test_every_requirement_has_a_check() -> None:
    unchecked = sorted(set(CATALOGUE.ids()) - set(bound_checks()))
    assert not unchecked, f"requirements without a check in conformance/suite: {unchecked}"


def test_every_requirement_has_a_proving_fault() -> None:
    assert all(requirement.faults for requirement in CATALOGUE.active)


VALID = {
    "id": "A-001", "level": "MUST", "title": "t", "statement": "s", "source": "s", "endpoint": "e",
    "capability": "chat", "breaks": [], "faults": ["f"],
}  # fmt: skip


def entry(**changes: object) -> str:
    fields = {**VALID, **changes}
    return yaml.safe_dump({"version": 1, "requirements": [{k: v for k, v in fields.items() if v is not None}]})


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (entry(title=None), "missing key"),
        (entry(id="x-001"), "ids look like"),
        (entry(level="MAYBE"), "level must be"),
        (entry(faults=[]), "proving fault"),
        (entry(colour="red"), "unknown key"),
        (entry(capability="tea"), "capability must be"),
        (entry(breaks="everything"), "list of non-empty strings"),
    ],
)
def test_malformed_entries_are_rejected(document: str, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(document)


def test_duplicate_ids_are_rejected() -> None:
    one = yaml.safe_load(entry())["requirements"][0]
    with pytest.raises(CatalogueError, match="duplicate"):
        parse_catalogue(yaml.safe_dump({"version": 1, "requirements": [one, one]}))


def test_unknown_requirement_id_fails_collection(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_unknown=textwrap.dedent("""
        from conformance.plugin import requirement

        @requirement("NOPE-999")
        def test_something():
            pass
    """)
    )
    result = pytester.runpytest("-p", "conformance.plugin")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*NOPE-999*no such id*"])


def test_spec_dir_is_found_in_the_installed_layout(tmp_path: Path) -> None:
    # An installed wheel has conformance/spec/ beside conformance/core/ (no __init__.py there); a checkout
    # has spec/ beside the package. Loading catalogue.py from a copy in the installed layout must find it.
    package = tmp_path / "site-packages" / "conformance"
    (package / "spec").mkdir(parents=True)
    (package / "core").mkdir()
    shutil.copy(Path(conformance.core.catalogue.__file__), package / "core" / "catalogue.py")
    (package / "spec" / "requirements.yaml").write_text("version: 1\nrequirements: []\n")
    module_spec = importlib.util.spec_from_file_location("installed_catalogue", package / "core" / "catalogue.py")
    assert module_spec is not None
    assert module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules["installed_catalogue"] = module  # dataclasses look their module up while it executes
    try:
        module_spec.loader.exec_module(module)
        assert module.spec_dir() == package / "spec"
    finally:
        del sys.modules["installed_catalogue"]
