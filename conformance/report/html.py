"""HTML report: one self-contained page (inline CSS and JS, no network assets of any kind).

The template is autoescaped and nothing from the report is ever placed inside ``<script>``: filters
read the ``data-*`` attributes of the rows, so a provider's body cannot become markup or code. A
Content-Security-Policy meta tag forbids every fetch, so even a renderer bug could not load anything.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from conformance.report.view import (
    LEVELS,
    OUTCOMES,
    PROBLEMS,
    SYMBOLS,
    Report,
    Row,
    breaks_text,
    capabilities,
    client_readiness,
    counts_text,
    first_line,
    fmt_score,
    provider,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"


def pretty_body(body: str | None) -> str:
    """A JSON body re-indented for reading; anything else (an excerpt, HTML, text) as it was."""
    if body is None:
        return ""
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every value comes from a provider or a report file: never trusted
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["pretty_body"] = pretty_body
    env.filters["score"] = fmt_score
    env.filters["first_line"] = first_line
    env.filters["breaks_text"] = breaks_text
    env.filters["counts_text"] = counts_text
    env.globals.update(SYMBOLS=SYMBOLS, OUTCOMES=OUTCOMES, LEVELS=LEVELS, PROBLEMS=PROBLEMS)
    return env


def render_template(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


def render_html(report: Report) -> str:
    results = report["results"]
    return render_template(
        "report.html.j2",
        report=report,
        suite_version=report["suite"]["version"],
        provider=provider(report),
        summary=report["summary"],
        capabilities=capabilities(report),
        readiness=client_readiness(report),
        levels=[level for level in LEVELS if any(row["level"] == level for row in results)],
        rows=[_row(row) for row in results],
    )


def _row(row: Row) -> dict[str, Any]:
    # Failures carry every check (a requirement may have several) with their evidence; other rows
    # need only their message.
    return {**row, "expand": row["outcome"] in PROBLEMS, "note": first_line(row["message"])}
