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
from conformance.core.catalogue import (
    DOCS_PATTERN,
    SOURCE_REF_PATTERN,
    Break,
    CatalogueError,
    Requirement,
    load_catalogue,
    parse_catalogue,
    shown_by_kind,
)
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


def test_no_check_can_send_a_request() -> None:
    # Checks judge recorded exchanges; a request a check needs is a probe (ARCHITECTURE.md). The meta-tests'
    # scoping relies on it: a check is judged again only when a probe it reads is sent again.
    senders = {c.name for c in all_checks() if {"client", "run_state", "python_sdk"} & set(c.argnames)}
    assert not senders


def test_checks_live_in_the_module_of_their_area() -> None:
    # conformance/checks/<area>.py mirrors conformance/probes/<area>.py and reference/faults/<area>.py.
    assert {c.module for c in all_checks()} <= {p.stem for p in Path(conformance.__file__).parent.glob("checks/*.py")}


def test_every_requirement_has_a_proving_fault() -> None:
    assert all(requirement.faults for requirement in CATALOGUE.active)


VALID = {
    "id": "A-001", "level": "MUST", "title": "t", "statement": "s", "source": "s", "endpoint": "e",
    "capability": "chat", "breaks": [{"client": "openai-python", "how": "raises", "shown_by": "docs: seed 002"}],
    "faults": ["f"],
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
        (entry(breaks="everything"), "list of"),
        (entry(breaks=["openai-python"]), r"A-001: breaks\[0\] must be a mapping"),
        (entry(breaks=[{"client": "openai-python", "how": "x", "shown_by": "SDK-PY-001", "why": 1}]), "unknown key"),
        (entry(breaks=[{"client": "", "how": "x"}]), "'client' must name"),
        (entry(breaks=[{"client": "openai-python", "how": "x"}]), "A-001: a MUST needs"),
        (entry(breaks=[{"client": "openai-python", "how": "x", "shown_by": "I tried it"}]), "is none of"),
        (entry(breaks=[{"client": "openai-python", "how": "x", "shown_by": "SDK-PY-999"}]), "SDK-PY-999, which is not"),
        (entry(level_note=3), "level_note"),
        (entry(see_also=["A-001"]), "not another requirement"),
        (entry(see_also=["B-001"]), "not another requirement"),
        (entry(see_also="B-001"), "list of non-empty strings"),
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


# -- levels: a MUST is a client that breaks, shown ------------------------------------------------------


def test_a_should_may_leave_shown_by_empty() -> None:
    document = entry(level="SHOULD", breaks=[{"client": "openai-go", "how": "rejects the object"}])
    requirement = parse_catalogue(document).requirements[0]
    assert requirement.breaks[0].client == "openai-go"
    assert requirement.breaks[0].shown_by == ""


@pytest.mark.parametrize("requirement", [r for r in CATALOGUE.active if r.level.value == "MUST"], ids=str)
def test_every_must_shows_a_client_breaking(requirement: Requirement) -> None:
    assert any(entry.client and entry.how and entry.shown_by for entry in requirement.breaks)


SHOWN_BY = [(r, b) for r in CATALOGUE.requirements for b in r.breaks if b.shown_by]


@pytest.mark.parametrize(("requirement", "entry"), SHOWN_BY, ids=[f"{r.id}:{b.shown_by[:30]}" for r, b in SHOWN_BY])
def test_shown_by_is_well_formed_evidence(requirement: Requirement, entry: Break) -> None:
    kind = shown_by_kind(entry.shown_by)
    assert kind is not None, entry.shown_by
    if kind == "sdk":
        sdk = CATALOGUE[entry.shown_by]
        assert sdk.capability == "sdk"
        # the SDK check fails on the same fault that proves the requirement: it shows the very behaviour
        assert set(sdk.faults) & set(requirement.faults), (requirement.id, entry.shown_by)
    elif kind == "source":
        found = SOURCE_REF_PATTERN.match(entry.shown_by)
        assert found is not None
        assert found["ref"], f"{entry.shown_by}: name the release read (owner/repo@version)"
        assert int(found["line"]) > 0
        assert found.group(7), f"{entry.shown_by}: quote the line read after the reference"
    else:
        assert DOCS_PATTERN.match(entry.shown_by)


def test_a_downgraded_requirement_says_why() -> None:
    # a level_note is the justification of a level; it belongs to requirements that are not MUST
    noted = [r for r in CATALOGUE.active if r.level_note]
    assert noted
    assert all(r.level.value != "MUST" for r in noted)


def test_must_statements_match_their_level() -> None:
    # a SHOULD whose statement still says MUST would read as a MUST in every report
    wrong = [
        r.id for r in CATALOGUE.active if r.level.value == "SHOULD" and r.level_note and " MUST " in f" {r.statement} "
    ]
    assert not wrong


def pair(first: dict[str, object], second: dict[str, object]) -> str:
    entries = [{**VALID, **first}, {**VALID, "id": "B-001", **second}]
    return yaml.safe_dump({"version": 1, "requirements": entries})


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (pair({"level": "SHOULD", "breaks": [], "see_also": ["B-001"]}, {}), "of a higher level than SHOULD"),
        (pair({"see_also": ["B-001"]}, {"see_also": ["A-001"]}), "cycle: A-001 -> B-001 -> A-001"),
    ],
)
def test_see_also_never_understates_and_never_loops(document: str, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(document)


def test_see_also_names_the_owner_of_a_behaviour() -> None:
    catalogue = parse_catalogue(pair({"see_also": ["B-001"]}, {"level": "SHOULD", "breaks": []}))
    assert catalogue.primaries("B-001") == ("A-001",)
    assert catalogue.primaries("A-001") == ()
