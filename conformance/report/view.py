"""Small read-only helpers over a report dict, shared by the renderers, diff, merge and gates.

Everything here is a pure function of ``report.json`` (see ``spec/report.schema.json``); nothing
imports the runner or the plugin, so a saved report can be rendered anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

Report = dict[str, Any]
Row = dict[str, Any]

OUTCOMES = ("PASS", "FAIL", "TIMEOUT", "ERROR", "UNSUPPORTED", "SKIP")
# What a reader must look at: the provider failed (FAIL, TIMEOUT) or the suite did (ERROR).
PROBLEMS = ("FAIL", "TIMEOUT", "ERROR")
# The provider's fault; the only outcomes that count against verdicts, scores and gates.
FAILURES = ("FAIL", "TIMEOUT")
LEVELS = ("MUST", "SHOULD", "MAY")

SYMBOLS = {"PASS": "✅", "FAIL": "❌", "TIMEOUT": "⏱️", "ERROR": "⚠️", "UNSUPPORTED": "➖", "SKIP": "⏭️"}


def load_report(path: str | Path) -> Report:
    """Read and schema-validate a report.json; raises OSError, ValueError or jsonschema.ValidationError."""
    from conformance.report.json_report import validate_report

    report = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(report, dict):
        raise ValueError(f"{path}: not a report (expected a JSON object)")
    validate_report(report)
    return report


def break_entries(row: Row) -> list[dict[str, str]]:
    """A row's ``breaks`` as ``{client, how, shown_by}`` mappings; a saved report of schema 1.0 has plain strings."""
    entries = []
    for entry in row.get("breaks") or []:
        if isinstance(entry, dict):
            entries.append(
                {
                    "client": str(entry.get("client") or ""),
                    "how": str(entry.get("how") or ""),
                    "shown_by": str(entry.get("shown_by") or ""),
                }
            )
        else:
            entries.append({"client": str(entry), "how": "", "shown_by": ""})
    return entries


def breaks_text(row: Row) -> list[str]:
    """Each ``breaks`` entry as "client: how" (just the client when how is not known)."""
    return [f"{e['client']}: {e['how']}" if e["how"] else e["client"] for e in break_entries(row)]


def provider(report: Report) -> str:
    return str(report["target"]["name"])


def fmt_score(score: float | None) -> str:
    """91.9 → "91.9", 100.0 → "100", None → "—" (nothing was scoreable)."""
    return "—" if score is None else f"{score:g}"


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def capabilities(report: Report) -> list[str]:
    return sorted({row["capability"] for row in report["results"]})


def rows_with(report: Report, *outcomes: str) -> list[Row]:
    return [row for row in report["results"] if row["outcome"] in outcomes]


def primary_check(row: Row) -> dict[str, Any] | None:
    """The check that gave the requirement its outcome (the first one with that outcome)."""
    return next((check for check in row["checks"] if check["outcome"] == row["outcome"]), None)


def violation(row: Row) -> dict[str, Any] | None:
    check = primary_check(row)
    return check["violation"] if check else None


def first_evidence(row: Row) -> dict[str, Any] | None:
    found = violation(row)
    evidence = found.get("evidence") if found else None
    return evidence[0] if evidence else None


def exchange_line(evidence: dict[str, Any]) -> str:
    """``POST https://host/v1/chat/completions → 200`` (or the transport error when there was no status)."""
    status = evidence["status"]
    answer = str(status) if status is not None else (evidence.get("error") or "no response")
    return f"{evidence['method']} {evidence['url']} → {answer}"


def first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def counts_text(counts: dict[str, int]) -> str:
    """``13 PASS, 1 FAIL`` (outcomes with a zero count are left out)."""
    return ", ".join(f"{counts[outcome]} {outcome}" for outcome in OUTCOMES if counts.get(outcome)) or "nothing run"


READINESS_LABELS = {"ready": "ready", "limited": "ready with limitations", "broken": "broken"}


def client_readiness(report: Report) -> list[tuple[str, str, list[str]]]:
    """(client, status label, failing requirement ids) for every client, from the report or its rows."""
    from conformance.report.readiness import readiness

    table = report["summary"].get("readiness") or readiness(report)
    return [
        (client, READINESS_LABELS.get(entry["status"], entry["status"]), list(entry.get("failing", [])))
        for client, entry in table.items()
    ]
