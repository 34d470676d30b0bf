"""A compatibility matrix from several reports: providers × requirements.

Columns are providers (in the order given), rows are: score and the two verdicts, one row per
capability (score and a verdict mark), then one row per requirement with an outcome symbol. A
requirement absent from a report (a selection, an older catalogue) is left blank.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from conformance.report import mdtext as md
from conformance.report.view import OUTCOMES, SYMBOLS, Report, first_line, fmt_score, provider

LEGEND_VERDICT = {"spec": "✅", "client": "🟡", "none": "❌"}


@dataclass(frozen=True, slots=True)
class Requirement:
    id: str
    level: str
    capability: str
    title: str


@dataclass
class Matrix:
    reports: list[Report]
    names: list[str]
    requirements: list[Requirement]
    capabilities: list[str]

    def _row(self, column: int, requirement_id: str) -> dict[str, Any] | None:
        return next((r for r in self.reports[column]["results"] if r["id"] == requirement_id), None)

    def outcome(self, column: int, requirement_id: str) -> str | None:
        row = self._row(column, requirement_id)
        return row["outcome"] if row else None

    def note(self, column: int, requirement_id: str) -> str:
        row = self._row(column, requirement_id)
        return first_line(row["message"]) if row else "not run"


def column_names(reports: list[Report]) -> list[str]:
    """Provider names, made unique: a repeated name gets its run's start time (or its position)."""
    names = [provider(report) for report in reports]
    repeated = {name for name, count in Counter(names).items() if count > 1}
    unique = []
    for index, (name, report) in enumerate(zip(names, reports, strict=True)):
        if name in repeated:
            name = f"{name} ({report['run'].get('started') or f'#{index + 1}'})"
        unique.append(name)
    return unique


def build_matrix(reports: list[Report]) -> Matrix:
    seen: dict[str, Requirement] = {}
    for report in reports:  # catalogue order of the first report, then whatever the others add
        for row in report["results"]:
            seen.setdefault(row["id"], Requirement(row["id"], row["level"], row["capability"], row["title"]))
    capabilities = sorted({cap for report in reports for cap in report["summary"]["by_capability"]})
    return Matrix(reports, column_names(reports), list(seen.values()), capabilities)


def verdict_mark(entry: dict[str, bool]) -> str:
    if entry["spec_conformant"]:
        return LEGEND_VERDICT["spec"]
    return LEGEND_VERDICT["client"] if entry["client_compatible"] else LEGEND_VERDICT["none"]


def capability_cell(report: Report, capability: str) -> str:
    entry = report["summary"]["by_capability"].get(capability)
    if entry is None:
        return ""
    if entry["score"] is None:
        return "—"  # nothing scoreable (all UNSUPPORTED, SKIP or ERROR): no verdict to show either
    return f"{fmt_score(entry['score'])} {verdict_mark(entry)}"


def render_merge_markdown(matrix: Matrix) -> str:
    header = ["", *(md.text(name) for name in matrix.names)]
    center = "l" + "c" * len(matrix.names)
    summary_rows = [
        ["**score**", *(fmt_score(r["summary"]["score"]) for r in matrix.reports)],
        ["**client-compatible**", *(_yes(r["summary"]["verdicts"]["client_compatible"]) for r in matrix.reports)],
        ["**spec-conformant**", *(_yes(r["summary"]["verdicts"]["spec_conformant"]) for r in matrix.reports)],
        ["**requests**", *(str(r["usage"]["requests"]) for r in matrix.reports)],
    ]
    capability_rows = [
        [md.text(capability), *(capability_cell(r, capability) for r in matrix.reports)]
        for capability in matrix.capabilities
    ]
    requirement_rows = [
        [
            f"{md.code(req.id, in_table=True)} {req.level} {md.text(req.title)}",
            *(_symbol(matrix.outcome(column, req.id)) for column in range(len(matrix.reports))),
        ]
        for req in matrix.requirements
    ]
    lines = [
        f"## OpenAI compatibility matrix ({len(matrix.reports)} providers)",
        "",
        *md.table(header, summary_rows, center),
        "",
        "### By capability",
        "",
        *md.table(["capability", *header[1:]], capability_rows, center),
        "",
        f"Score and mark: {LEGEND_VERDICT['spec']} spec-conformant · {LEGEND_VERDICT['client']} client-compatible "
        f"only · {LEGEND_VERDICT['none']} not client-compatible",
        "",
        "### Requirements",
        "",
        *md.table(["requirement", *header[1:]], requirement_rows, center),
        "",
        legend(),
    ]
    return "\n".join(lines) + "\n"


def legend() -> str:
    return " · ".join(f"{SYMBOLS[outcome]} {outcome}" for outcome in OUTCOMES) + " · blank: not run"


def _yes(flag: bool) -> str:
    return "✅" if flag else "❌"


def _symbol(outcome: str | None) -> str:
    return SYMBOLS[outcome] if outcome else ""


def render_merge_html(matrix: Matrix) -> str:
    from conformance.report.html import render_template

    versions = sorted({report["suite"]["version"] for report in matrix.reports})
    return render_template(
        "merge.html.j2",
        matrix=matrix,
        columns=list(range(len(matrix.reports))),
        capability_cell=capability_cell,
        verdict_mark=verdict_mark,
        legend=legend(),
        verdict_legend=LEGEND_VERDICT,
        suite_version=", ".join(versions),
    )
