"""How a run behaves in CI: no progress bar where nobody watches it, and the Markdown summary in the job
summary of GitHub Actions (``$GITHUB_STEP_SUMMARY``) when that is set."""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console


def in_ci() -> bool:
    """``CI`` is set to a true value, as GitHub Actions, GitLab CI and most others set it."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def plain_output(console: Console) -> bool:
    """No live progress: a CI run, or output that is not a terminal (a pipe, a log file)."""
    return in_ci() or not console.is_terminal


def write_step_summary(markdown: str) -> Path | None:
    """Append ``markdown`` to ``$GITHUB_STEP_SUMMARY`` when it is set; the file written, or None."""
    target = os.environ.get("GITHUB_STEP_SUMMARY", "").strip()
    if not target:
        return None
    path = Path(target)
    try:
        with path.open("a", encoding="utf-8") as summary:
            summary.write(markdown if markdown.endswith("\n") else markdown + "\n")
    except OSError:
        return None  # the job summary is a convenience: never a reason to fail the run
    return path
