"""Gates: whether a run passes CI, as a pure function of report.json (and a baseline).

* ``fail_on``: which levels of failure fail the gate — ``must`` (the default: exactly "not
  client-compatible"), ``should`` (MUST and SHOULD: "not spec-conformant"), ``none``. A failure is FAIL
  or TIMEOUT, as for the verdicts; MAY never gates; ERROR (the suite's bug) never gates but is noted.
* ``min_score``: the score must be at least this (a run with nothing scoreable cannot meet it).
* ``baseline``: expected outcomes (see ``conformance.report.baseline``). Expected failures are
  tolerated; new failures gate as ``fail_on`` says; a listed requirement that no longer has its
  listed outcome while not failing (an unexpected PASS, or SKIP/UNSUPPORTED) always fails the gate,
  because the baseline is then stale and must be updated.
* An aborted run (target unreachable) never passes and keeps its own exit code, 3.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.report.baseline import Baseline
from conformance.report.view import FAILURES, Report, first_line, fmt_score, provider

EXIT_OK, EXIT_GATE_FAILED, EXIT_UNREACHABLE = 0, 1, 3
FAIL_ON_LEVELS: dict[str, tuple[str, ...]] = {"must": ("MUST",), "should": ("MUST", "SHOULD"), "none": ()}
UPDATE_HINT = "update the baseline"  # the CLI adds the exact command, with the real paths


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reasons: list[str]  # why the gate failed, one line each
    exit_code: int
    notes: list[str] = field(default_factory=list)  # informational: tolerated failures, ERRORs, …
    baseline_stale: bool = False  # some listed expectation no longer holds without a failure


def evaluate(
    report: Report, fail_on: str = "must", min_score: float | None = None, baseline: Baseline | None = None
) -> GateResult:
    if fail_on not in FAIL_ON_LEVELS:
        raise ValueError(f"fail_on must be one of {', '.join(FAIL_ON_LEVELS)}, not {fail_on!r}")
    if report["run"]["aborted"]:
        return GateResult(False, [f"the run aborted: {report['run']['aborted']}"], EXIT_UNREACHABLE)
    gated = FAIL_ON_LEVELS[fail_on]
    expectations = baseline.expectations if baseline else {}
    reasons: list[str] = []
    notes: list[str] = []
    tolerated: list[str] = []
    ungated: list[str] = []
    stale = False
    for row in report["results"]:
        rid, outcome, level = row["id"], row["outcome"], row["level"]
        label = f"{rid} ({level}) {row['title']}"
        entry = expectations.get(rid)
        if outcome == "ERROR":
            if entry is None or outcome not in entry.outcomes:
                notes.append(f"{rid}: ERROR, a bug in the suite (not gated): {first_line(row['message'])}")
            continue
        if entry is not None and outcome in entry.outcomes:
            if outcome in FAILURES:
                tolerated.append(rid)
            continue
        if outcome in FAILURES:
            if level not in gated:
                ungated.append(rid)
            elif entry is not None:
                reasons.append(f"{label}: {outcome}, the baseline expects {' or '.join(entry.outcomes)}")
            elif baseline is not None:
                reasons.append(f"new failure (not in the baseline): {label}: {outcome}")
            else:
                reasons.append(f"{level} requirement failed: {label}: {outcome}")
        elif entry is not None:
            stale = True
            what = "unexpected pass" if outcome == "PASS" else f"unexpected {outcome}"
            reasons.append(f"{what}: {label}: the baseline expects {' or '.join(entry.outcomes)}; {UPDATE_HINT}")
    score = report["summary"]["score"]
    if min_score is not None:
        if score is None:
            reasons.append(f"no score (nothing was scoreable), so the minimum score {min_score:g} cannot be met")
        elif score < min_score:
            reasons.append(f"score {fmt_score(score)} is below the minimum {min_score:g}")
    if tolerated:
        notes.insert(0, f"{len(tolerated)} known failure(s) expected by the baseline: {', '.join(tolerated)}")
    if ungated:
        notes.append(f"failure(s) not gated by --fail-on {fail_on}: {', '.join(ungated)}")
    if baseline is not None:
        notes.extend(_baseline_notes(report, baseline))
    passed = not reasons
    return GateResult(passed, reasons, EXIT_OK if passed else EXIT_GATE_FAILED, notes, stale)


def _baseline_notes(report: Report, baseline: Baseline) -> list[str]:
    notes = []
    if baseline.provider and baseline.provider != provider(report):
        notes.append(f"the baseline is for {baseline.provider!r}, this report for {provider(report)!r}")
    ran = {row["id"] for row in report["results"]}
    absent = [rid for rid in baseline.expectations if rid not in ran]
    if absent:
        notes.append(f"the baseline lists requirement(s) this run did not report: {', '.join(absent)}")
    return notes
