"""The catalogue and the checks stay together: guards that fail when they drift apart."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
import yaml

import conformance
import conformance.core.catalogue
from conformance.core.catalogue import CatalogueError, load_catalogue, parse_catalogue
from conformance.engine.registry import PROBES, all_checks, check

CATALOGUE = load_catalogue()


def bound_checks() -> dict[str, list[str]]:
    """requirement id → names of the checks registered for it with @check."""
    bound: dict[str, list[str]] = {}
    for definition in all_checks():
        bound.setdefault(definition.requirement, []).append(definition.name)
    return bound


def test_catalogue_has_at_least_forty_requirements() -> None:
    assert len(CATALOGUE.active) >= 40


def test_every_requirement_has_a_check() -> None:
    unchecked = sorted(set(CATALOGUE.ids()) - set(bound_checks()))
    assert not unchecked, f"requirements without a check in conformance/checks: {unchecked}"


def test_every_check_reads_only_registered_probes() -> None:
    unknown = {c.name: [a for a in c.argnames if a not in PROBES] for c in all_checks()}
    assert not {name: args for name, args in unknown.items() if args}


def test_checks_live_in_the_module_of_their_area() -> None:
    # conformance/checks/<area>.py mirrors conformance/probes/<area>.py and reference/faults/<area>.py.
    assert {c.module for c in all_checks()} <= {p.stem for p in Path(conformance.__file__).parent.glob("checks/*.py")}


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


def test_unknown_requirement_id_is_refused() -> None:
    with pytest.raises(CatalogueError, match=r"NOPE-999.*no such id"):
        check("NOPE-999")


def test_unknown_need_is_refused() -> None:
    with pytest.raises(CatalogueError, match="unknown needs"):
        check("CHAT-001", needs="teleportation")


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
