"""report.json: the single source every other output is derived from.

Built from a finished run's frozen record, redacted as a whole (belt and braces: evidence is already
redacted when recorded), and validated against ``spec/report.schema.json`` before it is written. Every
evidence item keeps its request whole; the largest bodies are stored beside the report, never cut.
"""

from __future__ import annotations

import json
import platform
import sys
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema

from conformance import __version__
from conformance.core.catalogue import spec_dir
from conformance.core.results import Level, Outcome, requirement_outcome
from conformance.core.scoring import Scored, summarise
from conformance.report.bodies import store_large_bodies
from conformance.report.readiness import readiness

if TYPE_CHECKING:
    from conformance.engine import RunRecord

REPORT_SCHEMA_VERSION = "1.2"


def _iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def requirement_results(record: RunRecord) -> list[dict[str, Any]]:
    aborted = record.aborted
    by_requirement: dict[str, list[Any]] = {}
    for result in record.results:
        by_requirement.setdefault(result.requirement, []).append(result)
    rows = []
    for requirement in record.catalogue.active:
        if record.selected is not None and requirement.id not in record.selected:
            continue
        checks = by_requirement.get(requirement.id, [])
        if checks:
            outcome = requirement_outcome(checks)
            see = next((c.see for c in checks if c.see), None) if outcome is Outcome.SKIP else None
            message = next((c.message for c in checks if c.outcome is outcome and c.message and c.see == see), "")
        elif aborted:
            outcome, message, see = Outcome.SKIP, f"not run: {aborted}", None
        else:
            # No result is not a pass.
            outcome, message, see = Outcome.ERROR, "no check produced a result for this requirement", None
        row = {
            "id": requirement.id,
            "level": requirement.level.value,
            "title": requirement.title,
            "capability": requirement.capability,
            "endpoint": requirement.endpoint,
            "source": requirement.source,
            "breaks": [entry.to_dict() for entry in requirement.breaks],
            "outcome": outcome.value,
            "message": message,
            "checks": [check.to_dict() for check in checks],
        }
        if see:
            row["see"] = see
        rows.append(row)
    return rows


def build_report(record: RunRecord) -> dict[str, Any]:
    rows = requirement_results(record)
    aborted = record.aborted
    catalogue = record.catalogue
    scored = [
        Scored(level=Level(row["level"]), capability=row["capability"], outcome=Outcome(row["outcome"])) for row in rows
    ]
    report = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "suite": {
            "name": "oai-conformance",
            "version": __version__,
            "catalogue_version": catalogue.version,
            "catalogue_sha256": catalogue.sha256,
        },
        "run": {
            "started": _iso(record.started),
            "finished": _iso(record.finished),
            "duration_s": round(record.finished - record.started, 3),
            "aborted": aborted,
            "selected": sorted(record.selected) if record.selected is not None else None,
            "python": platform.python_version(),
            "platform": sys.platform,
        },
        "target": record.target.public_dict(),
        "models": {capability: choice.to_dict() for capability, choice in sorted(record.models.items())},
        "usage": dict(record.usage),
        "summary": summarise(scored),
        "results": rows,
    }
    if aborted:
        # A run that stopped early proves nothing: no verdict may read as a pass.
        report["summary"]["verdicts"] = {"client_compatible": False, "spec_conformant": False}
    report["summary"]["readiness"] = readiness(report)  # which clients work: derived from the rows' breaks
    return record.redact.walk(report)


@cache
def report_schema() -> dict[str, Any]:
    return json.loads((spec_dir() / "report.schema.json").read_text(encoding="utf-8"))


def validate_report(report: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` when the report does not match its schema (our bug)."""
    jsonschema.validate(report, report_schema(), cls=jsonschema.Draft202012Validator)


def write_json(report: dict[str, Any], path: str | Path) -> Path:
    """Write report.json; a request body too large to keep in it is stored whole beside it, and the
    report (changed in place) names the file (:mod:`conformance.report.bodies`)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    store_large_bodies(report, target.parent)
    validate_report(report)
    target.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target
