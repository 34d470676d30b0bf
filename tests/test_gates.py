"""Gates and baselines: pure tables over small reports, then the CLI end to end (two real runs)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.cli import main
from conformance.core.results import Level, Outcome
from conformance.core.scoring import Scored, summarise
from conformance.report.baseline import (
    TODO_REASON,
    Baseline,
    BaselineError,
    Expectation,
    dump_baseline,
    load_baseline,
    parse_baseline,
    update_baseline,
)
from conformance.report.gates import FAIL_ON_LEVELS, evaluate

GOLDEN = Path(__file__).resolve().parent / "golden"
OUTCOMES = [outcome.value for outcome in Outcome]
# The specification of --fail-on, written out: which (fail_on, level) pairs gate a FAIL or TIMEOUT.
GATED = {("must", "MUST"), ("should", "MUST"), ("should", "SHOULD")}


def make_report(*rows: tuple[str, str, str], aborted: str | None = None, name: str = "acme") -> dict[str, Any]:
    """A minimal report from (id, level, outcome) triples, with a consistent summary."""
    results = [
        {
            "id": rid,
            "level": level,
            "title": f"title of {rid}",
            "capability": rid.split("-")[0].lower(),
            "endpoint": "POST /chat/completions",
            "breaks": [],
            "outcome": outcome,
            "message": "" if outcome == "PASS" else f"why {rid} is {outcome}",
            "checks": [],
        }
        for rid, level, outcome in rows
    ]
    scored = [Scored(Level(r["level"]), r["capability"], Outcome(r["outcome"])) for r in results]
    return {
        "run": {"aborted": aborted, "started": None, "duration_s": 0.0},
        "target": {"name": name},
        "summary": summarise(scored),
        "results": results,
    }


def expect(**entries: str | list[str]) -> Baseline:
    """A baseline from ID=outcome keywords (underscores stand for dashes)."""
    return Baseline(
        "acme",
        {
            rid.replace("_", "-"): Expectation(tuple(o if isinstance(o, list) else [o]), "reviewed")
            for rid, o in entries.items()
        },
    )


# --- --fail-on over every level and outcome ----------------------------------------------------


@pytest.mark.parametrize(
    ("fail_on", "level", "outcome"),
    list(itertools.product(sorted(FAIL_ON_LEVELS), ["MUST", "SHOULD", "MAY"], OUTCOMES)),
)
def test_fail_on_table(fail_on: str, level: str, outcome: str) -> None:
    report = make_report(("CHAT-001", "MUST", "PASS"), ("CHAT-002", level, outcome))
    gate = evaluate(report, fail_on=fail_on)
    should_fail = outcome in ("FAIL", "TIMEOUT") and (fail_on, level) in GATED
    assert gate.passed is not should_fail
    assert gate.exit_code == (1 if should_fail else 0)
    assert len(gate.reasons) == int(should_fail)
    if should_fail:
        assert "CHAT-002" in gate.reasons[0]
        assert outcome in gate.reasons[0]


def test_default_gate_is_client_compatibility() -> None:
    report = json.loads((GOLDEN / "report.json").read_text(encoding="utf-8"))
    gate = evaluate(report)
    assert not gate.passed
    assert not report["summary"]["verdicts"]["client_compatible"]
    assert [r.split(":")[0] for r in gate.reasons] == ["MUST requirement failed"]  # ERR-001
    assert any("CMPL-001: ERROR" in note for note in gate.notes)  # reported, not gated
    # CHAT-STREAM-003 is a SHOULD now: a missing [DONE] breaks no client
    assert any("not gated by --fail-on must: CHAT-004, CHAT-STREAM-003, ERR-013" in note for note in gate.notes)


@pytest.mark.parametrize(
    ("min_score", "passed"), [(None, True), (0, True), (70, True), (75, True), (75.1, False), (100, False)]
)
def test_min_score(min_score: float | None, passed: bool) -> None:
    report = make_report(*((f"CHAT-00{i}", "MUST", "PASS") for i in range(1, 4)), ("CHAT-004", "MUST", "FAIL"))
    assert report["summary"]["score"] == 75.0
    gate = evaluate(report, fail_on="none", min_score=min_score)
    assert (gate.passed, gate.exit_code) == (passed, 0 if passed else 1)
    if not passed:
        assert gate.reasons == [f"score 75 is below the minimum {min_score:g}"]


def test_min_score_cannot_be_met_without_a_score() -> None:
    gate = evaluate(make_report(("EMB-001", "MUST", "UNSUPPORTED")), min_score=10)
    assert not gate.passed
    assert "no score" in gate.reasons[0]


def test_an_aborted_run_never_passes() -> None:
    gate = evaluate(make_report(("CHAT-001", "MUST", "SKIP"), aborted="target unreachable: ConnectError"), "none")
    assert (gate.passed, gate.exit_code) == (False, 3)


def test_unknown_fail_on_is_refused() -> None:
    with pytest.raises(ValueError, match="fail_on"):
        evaluate(make_report(), fail_on="may")


# --- baselines ------------------------------------------------------------------------------------


def test_expected_failure_passes_the_gate() -> None:
    report = make_report(("ERR-001", "MUST", "FAIL"), ("CHAT-001", "MUST", "PASS"))
    assert not evaluate(report).passed
    gate = evaluate(report, baseline=expect(ERR_001="FAIL"))
    assert gate.passed
    assert gate.exit_code == 0
    assert gate.notes[0] == "1 known failure(s) expected by the baseline: ERR-001"


def test_new_failure_fails_the_gate() -> None:
    report = make_report(("ERR-001", "MUST", "FAIL"), ("CHAT-001", "MUST", "TIMEOUT"))
    gate = evaluate(report, baseline=expect(ERR_001="FAIL"))
    assert not gate.passed
    assert gate.reasons == ["new failure (not in the baseline): CHAT-001 (MUST) title of CHAT-001: TIMEOUT"]


def test_unexpected_pass_fails_the_gate_and_asks_for_an_update() -> None:
    report = make_report(("ERR-001", "MUST", "PASS"))
    gate = evaluate(report, baseline=expect(ERR_001="FAIL"))
    assert not gate.passed
    assert gate.baseline_stale
    assert gate.reasons[0].startswith("unexpected pass: ERR-001 (MUST)")
    assert "update the baseline" in gate.reasons[0]


@pytest.mark.parametrize(
    ("listed", "actual", "passed"),
    [
        (["FAIL", "TIMEOUT"], "TIMEOUT", True),  # a flaky one, listed with both
        ("TIMEOUT", "FAIL", False),  # another failure than the reviewed one
        ("FAIL", "SKIP", False),  # the listed failure is no longer observed: stale
        ("FAIL", "UNSUPPORTED", False),
        ("UNSUPPORTED", "UNSUPPORTED", True),  # pinned
        ("UNSUPPORTED", "PASS", False),  # now supported: update the baseline
        ("FAIL", "ERROR", True),  # the suite broke: says nothing about the provider
    ],
)
def test_listed_requirements_must_match(listed: str | list[str], actual: str, passed: bool) -> None:
    gate = evaluate(make_report(("EMB-001", "MUST", actual)), baseline=expect(EMB_001=listed))
    assert gate.passed is passed, gate.reasons


@pytest.mark.parametrize("outcome", ["SKIP", "UNSUPPORTED", "ERROR"])
def test_unlisted_skip_unsupported_and_error_are_tolerated(outcome: str) -> None:
    assert evaluate(make_report(("EMB-001", "MUST", outcome)), baseline=expect()).passed


def test_fail_on_still_picks_the_levels_with_a_baseline() -> None:
    report = make_report(("ERR-013", "SHOULD", "FAIL"))
    assert evaluate(report, fail_on="must", baseline=expect()).passed
    assert not evaluate(report, fail_on="should", baseline=expect()).passed
    # A stale entry is not a failure: it gates whatever --fail-on says.
    stale = make_report(("ERR-013", "SHOULD", "PASS"))
    assert not evaluate(stale, fail_on="none", baseline=expect(ERR_013="FAIL")).passed


def test_baseline_notes_other_provider_and_absent_requirements() -> None:
    report = make_report(("CHAT-001", "MUST", "PASS"), name="other")
    gate = evaluate(report, baseline=expect(ERR_001="FAIL"))
    assert gate.passed  # ERR-001 did not run (a selection): nothing to compare
    assert "the baseline is for 'acme', this report for 'other'" in gate.notes
    assert "the baseline lists requirement(s) this run did not report: ERR-001" in gate.notes


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected a mapping"),
        ({"provider": "x", "expectation": {}}, "unknown key(s) expectation"),
        ({"expectations": {"err-1": {"outcome": "FAIL"}}}, "not a requirement id"),
        ({"expectations": {"ERR-001": "FAIL"}}, "at least 'outcome'"),
        ({"expectations": {"ERR-001": {"outcome": "BROKEN"}}}, "outcome must be one of"),
        ({"expectations": {"ERR-001": {"outcome": "FAIL", "reasons": "x"}}}, "unknown key(s) reasons"),
        ({"expectations": {"ERR-001": {"outcome": "FAIL", "reason": 3}}}, "must be strings"),
    ],
)
def test_malformed_baselines_are_refused(data: Any, message: str) -> None:
    with pytest.raises(BaselineError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_baseline(data)


# --- baseline update -------------------------------------------------------------------------------


def test_update_keeps_reasons_adds_failures_and_drops_passes() -> None:
    report = json.loads((GOLDEN / "report.json").read_text(encoding="utf-8"))
    reviewed = Baseline(
        "acme-gateway",
        {
            "ERR-001": Expectation(("FAIL",), "flat error bodies", "https://tracker.example/1"),
            "CHAT-004": Expectation(("FAIL",), "created in ms", None),  # now TIMEOUT
            "MODELS-004": Expectation(("FAIL",), "fixed upstream", None),  # now PASS
            "CMPL-001": Expectation(("FAIL",), "kept while the suite errors", None),  # now ERROR
            "LEGACY-001": Expectation(("FAIL",), "not in this run", None),
        },
    )
    updated, done = update_baseline(reviewed, report)
    assert list(updated.expectations) == ["CHAT-004", "CHAT-STREAM-003", "CMPL-001", "ERR-001", "ERR-013", "LEGACY-001"]
    assert updated.expectations["ERR-001"] == reviewed.expectations["ERR-001"]
    assert updated.expectations["CHAT-004"] == Expectation(("TIMEOUT",), "created in ms", None)
    assert updated.expectations["CHAT-STREAM-003"] == Expectation(("FAIL",), TODO_REASON, None)
    assert (done.added, done.changed, done.dropped) == (["CHAT-STREAM-003", "ERR-013"], ["CHAT-004"], ["MODELS-004"])
    assert evaluate(report, fail_on="should", baseline=updated).passed
    assert load_baseline_text(dump_baseline(updated)) == updated


def load_baseline_text(text: str) -> Baseline:
    return parse_baseline(yaml.safe_load(text))


def test_cli_baseline_update_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = GOLDEN / "report.json"
    path = tmp_path / "baseline.yaml"
    assert main(["baseline", "update", str(report), str(path)]) == 0
    first = load_baseline(path)
    assert set(first.expectations) == {"CHAT-004", "CHAT-STREAM-003", "ERR-001", "ERR-013"}
    assert first.provider == "acme-gateway"
    # The reviewer explains one entry; a second update keeps it word for word.
    text = path.read_text(encoding="utf-8").replace(
        "ERR-001:\n    outcome: FAIL\n    reason: 'TODO: explain'",
        "ERR-001:\n    outcome: FAIL\n    reason: error bodies are {code, msg}\n    link: https://tracker.example/42",
    )
    assert "tracker.example/42" in text
    path.write_text(text, encoding="utf-8")
    assert main(["baseline", "update", str(report), str(path)]) == 0
    second = load_baseline(path)
    assert second.expectations["ERR-001"] == Expectation(
        ("FAIL",), "error bodies are {code, msg}", "https://tracker.example/42"
    )
    assert main(["baseline", "check", str(report), str(path), "--fail-on", "should"]) == 0
    assert "gate passed" in capsys.readouterr().out


def test_cli_run_refuses_a_bad_baseline_before_any_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "baseline.yaml"
    bad.write_text("expectations: {ERR-001: {outcome: NOPE}}\n", encoding="utf-8")
    assert main(["run", "--baseline", str(bad), "--out", str(tmp_path / "out")]) == 2
    assert main(["run", "--baseline", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit) as exc:
        main(["run", "--min-score", "101"])
    assert exc.value.code == 2


def test_cli_run_gates_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two real runs of the built-in reference provider: a known failure, then its fix."""
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    faulty, clean, baseline = tmp_path / "faulty", tmp_path / "clean", tmp_path / "baseline.yaml"
    common = ["--quiet", "--requirements", "CHAT-STREAM-003,MODELS-001"]
    formats = ["--format", "md", "--format", "html", "--format", "junit", "--format", "badge", "--format", "md"]
    assert main(["run", "--fault", "stream-no-done", "--out", str(faulty), "--fail-on", "none", *common, *formats]) == 0
    assert sorted(p.name for p in faulty.iterdir()) == [
        "badge.json",
        "junit.xml",
        "report.html",
        "report.json",
        "report.md",
    ]
    assert (faulty / "report.md").read_text(encoding="utf-8").startswith("## OpenAI compatibility: reference provider")
    # a missing [DONE] is a SHOULD (no client breaks): client-compatible, not spec-conformant
    assert json.loads((faulty / "badge.json").read_text(encoding="utf-8"))["color"] == "yellow"
    assert main(["baseline", "update", str(faulty / "report.json"), str(baseline)]) == 0
    assert main(["baseline", "check", str(faulty / "report.json"), str(baseline)]) == 0
    capsys.readouterr()
    # Fixed: the listed failure now passes, so the baseline must be updated.
    assert main(["run", "--out", str(clean), "--baseline", str(baseline), *common]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "unexpected pass: CHAT-STREAM-003" in out
    assert "update the baseline" in out
    # The terminal wraps a long path at any character: compare without whitespace.
    assert f"oai-conformancebaselineupdate{clean / 'report.json'}{baseline}" in "".join(out.split())
