"""A shields.io endpoint badge (https://shields.io/badges/endpoint-badge).

Publish ``badge.json`` somewhere public and point
``https://img.shields.io/endpoint?url=<its URL>`` at it.

green: spec-conformant · yellow: client-compatible only · red: not client-compatible ·
lightgrey: nothing to judge (the run aborted, or nothing was scoreable).
"""

from __future__ import annotations

import json
from typing import Any

from conformance.report.view import Report, fmt_score

LABEL = "OpenAI compatibility"

# The parts of the shields.io endpoint schema this badge uses; the tests validate against it.
BADGE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["schemaVersion", "label", "message"],
    "properties": {
        "schemaVersion": {"const": 1},
        "label": {"type": "string"},
        "message": {"type": "string", "minLength": 1},
        "color": {"type": "string", "minLength": 1},
    },
    "additionalProperties": False,
}


def badge(report: Report) -> dict[str, Any]:
    summary = report["summary"]
    verdicts = summary["verdicts"]
    if report["run"]["aborted"] or summary["score"] is None:
        # An aborted run has no failures, so its verdicts would read "compatible": say so instead.
        message = "run aborted" if report["run"]["aborted"] else "nothing scored"
        return {"schemaVersion": 1, "label": LABEL, "message": message, "color": "lightgrey"}
    compatible = "client-compatible" if verdicts["client_compatible"] else "not client-compatible"
    if verdicts["spec_conformant"]:
        color = "green"
    elif verdicts["client_compatible"]:
        color = "yellow"
    else:
        color = "red"
    return {
        "schemaVersion": 1,
        "label": LABEL,
        "message": f"{fmt_score(summary['score'])}% · {compatible}",
        "color": color,
    }


def render_badge(report: Report) -> str:
    return json.dumps(badge(report), ensure_ascii=False, indent=2) + "\n"
