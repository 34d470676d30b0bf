"""Whole runs through the CLI over real sockets, beside the in-process meta-tests (test_meta.py).

The scoped meta-tests judge every fault through the engine and re-send only what a fault can reach;
these runs keep the whole path honest -- argument parsing, the transport, report building and schema
validation, the exit code -- for the clean provider, every legal variation, one fault per site and
every timing fault (reference/faults/timing.py). Each must fail exactly its row of the fault table.
The hostile faults of one request each (reference/faults/transport.py) are run whole by
tests/test_hostile.py instead, and held to the table there.

A MAY is never a failure: the proving fault of a MAY requirement makes it SKIP with "not offered (MAY):
<title>" in the whole run too (it is in no row of the table; see test_meta.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.core.catalogue import load_catalogue
from conformance.core.results import Level
from conformance.engine.judge import NOT_OFFERED
from conformance.reference import FAULTS, ReferenceServer
from tests.conftest import TEST_KEY
from tests.suite_runs import HOSTILE_ONE_REQUEST, PROPERTY, PROPERTY_FAULTS, fault_limits, fault_spec, limit_flags

TABLE: dict[str, list[str]] = json.loads(
    (Path(__file__).parent / "fixtures" / "fault_table.json").read_text(encoding="utf-8")
)
MODELS = ["--chat-model", "ref-chat", "--completion-model", "ref-instruct", "--embedding-model", "ref-embed"]
VARIATIONS = sorted(name for name, fault in FAULTS.items() if fault.legal)
# The first fault (by name) of every site.
ONE_PER_SITE = sorted({f.site: name for name, f in sorted(FAULTS.items(), reverse=True) if not f.legal}.values())
# The hostile faults of reference/faults/transport.py (hangs, trickles, resets, huge bodies) and the whole
# providers of reference/faults/timing.py (serial, stalled, hung on every request).
HOSTILE = sorted(
    name for name, f in FAULTS.items() if f.apply.__module__.endswith((".faults.transport", ".faults.timing"))
)
# Run whole here: one fault per site, the whole providers and the hostile variations. The hostile faults
# of one request each are run whole once, by tests/test_hostile.py, which holds them to the table too.
CASES = sorted({*ONE_PER_SITE, *HOSTILE} - set(HOSTILE_ONE_REQUEST))
# Those whose runs take seconds of time limits each (the whole providers and the hostile variations): run
# in tests/test_meta_timing.py, a file of their own, so that --dist loadfile puts them on another worker.
TIMING = sorted(set(HOSTILE) - set(HOSTILE_ONE_REQUEST))


def _variation_groups() -> list[tuple[str, ...]]:
    """The legal variations that are not hostile, in as few groups as compose: at most one per site of a
    byte-level rewrite in each (two rewrites of the same bytes need not compose), the ones at the ASGI
    site (each a different endpoint) spread over the groups."""
    by_site: dict[str, list[str]] = {}
    for name in VARIATIONS:
        if name not in HOSTILE:
            by_site.setdefault(FAULTS[name].site, []).append(name)
    width = max(len(names) for site, names in by_site.items() if site != "asgi")
    groups: list[list[str]] = [[] for _ in range(width)]
    for names in by_site.values():
        for n, name in enumerate(names):
            groups[n % width].append(name)
    return [tuple(sorted(group)) for group in groups]


# Every legal variation is judged alone in-process (test_meta.py); whole runs through the CLI take them
# a group at a time, which also shows that legal behaviours compose (and costs 6 runs instead of 22).
VARIATION_GROUPS = _variation_groups()


CATALOGUE = load_catalogue()
OBSERVATIONAL = sorted(r.id for r in CATALOGUE.active if "observational" in r.tags)
NOT_PROPERTY = ",".join(r.id for r in CATALOGUE.active if r.id not in PROPERTY)
MAY_FAULTS = sorted((r.id, fault) for r in CATALOGUE.active if r.level is Level.MAY for fault in r.faults)


@dataclass(frozen=True)
class CliRun:
    code: int
    report: dict[str, Any]

    @property
    def outcomes(self) -> dict[str, str]:
        return {row["id"]: row["outcome"] for row in self.report["results"]}

    @property
    def failing(self) -> list[str]:
        return sorted(rid for rid, outcome in self.outcomes.items() if outcome in ("FAIL", "TIMEOUT"))


_RUNS: dict[str, CliRun] = {}


def cli_run(server: ReferenceServer, fault: str | tuple[str, ...] | None, out: Path, *, again: bool = False) -> CliRun:
    """One whole run through the CLI, against one fault or a group of legal variations (each case once
    per session; ``again``: a new run, not kept)."""
    faults = (fault,) if isinstance(fault, str) else fault or ()
    key = "+".join(faults) or "(clean)"
    if key not in _RUNS or again:
        url = server.fault_base_url(*map(fault_spec, faults)) if faults else server.base_url
        property_tests = all(FAULTS[f].legal or f in PROPERTY_FAULTS for f in faults)
        selection = [] if property_tests else ["--requirements", NOT_PROPERTY]
        limits = limit_flags(fault_limits(faults[0]) if len(faults) == 1 else {})
        argv = ["run", "--base-url", url, "--api-key", TEST_KEY, *MODELS, "--out", str(out), "--quiet", *selection]
        argv += limits
        code = main(argv)
        found = CliRun(code, json.loads((out / "report.json").read_text(encoding="utf-8")))
        if again:
            return found
        _RUNS[key] = found
    return _RUNS[key]


def test_the_clean_provider_passes_through_the_cli(reference_server: ReferenceServer, tmp_path: Path) -> None:
    run = cli_run(reference_server, None, tmp_path)
    assert run.code == 0
    assert not [rid for rid, outcome in run.outcomes.items() if outcome in ("FAIL", "TIMEOUT", "ERROR")]


@pytest.mark.parametrize("fault", sorted(set(CASES) - set(TIMING)))
def test_a_whole_run_fails_exactly_the_table_row(reference_server: ReferenceServer, tmp_path: Path, fault: str) -> None:
    fails_exactly_the_table_row(cli_run(reference_server, fault, tmp_path), fault)


def fails_exactly_the_table_row(run: CliRun, fault: str) -> None:
    assert run.failing == TABLE[fault]
    assert "ERROR" not in run.outcomes.values()
    assert run.code in (0, 1)
    for row in run.report["results"]:
        if row["outcome"] not in ("FAIL", "TIMEOUT"):
            continue
        violation = next(c["violation"] for c in row["checks"] if c["outcome"] == row["outcome"])
        assert violation["title"], row["id"]
        assert violation["evidence"], f"{row['id']} failed without evidence"
        assert violation["evidence"][0]["url"].startswith("http://127.0.0.1:")


@pytest.mark.parametrize("group", VARIATION_GROUPS, ids="+".join)
def test_legal_variations_together_pass_everything(
    reference_server: ReferenceServer, tmp_path: Path, group: tuple[str, ...]
) -> None:
    run = cli_run(reference_server, group, tmp_path)
    assert run.failing == []
    assert "ERROR" not in run.outcomes.values()
    assert run.code == 0


def test_every_legal_variation_is_run_through_the_cli() -> None:
    grouped = [name for group in VARIATION_GROUPS for name in group]
    assert sorted(grouped) == sorted(set(VARIATIONS) - set(CASES)), "a variation is in no group, or in two"
    for group in VARIATION_GROUPS:
        sites = [FAULTS[name].site for name in group if FAULTS[name].site != "asgi"]
        assert len(sites) == len(set(sites)), f"two rewrites of one site in {group}"


@pytest.mark.parametrize("requirement_id", OBSERVATIONAL)
def test_observational_requirement_passes_when_the_behaviour_occurs(
    reference_server: ReferenceServer, tmp_path: Path, requirement_id: str
) -> None:
    runs = [cli_run(reference_server, group, tmp_path) for group in VARIATION_GROUPS]
    passed_under = [run for run in runs if run.outcomes[requirement_id] == "PASS"]
    assert passed_under, f"{requirement_id} never PASSes: no legal variation exercises it"


@pytest.mark.parametrize(("requirement_id", "fault"), MAY_FAULTS)
def test_a_may_is_skipped_as_not_offered(
    reference_server: ReferenceServer, tmp_path: Path, requirement_id: str, fault: str
) -> None:
    run = cli_run(reference_server, fault, tmp_path)
    row = next(row for row in run.report["results"] if row["id"] == requirement_id)
    assert row["outcome"] == "SKIP"
    assert row["message"].startswith(f"{NOT_OFFERED}: "), row["message"]
    assert requirement_id not in run.failing
