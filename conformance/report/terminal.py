"""Terminal output: live progress while checks run, then the summary, client readiness and what failed.

A pure function of report.json (plus a progress callback while running), written with rich.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from conformance.core.results import CheckResult, Outcome
from conformance.report.view import LEVELS, break_entries, client_readiness, first_line, violation

READINESS_STYLES = {"ready": "green", "ready with limitations": "yellow", "broken": "bold red"}
STYLES = {
    "PASS": "green",
    "FAIL": "bold red",
    "TIMEOUT": "red",
    "ERROR": "magenta",
    "UNSUPPORTED": "yellow",
    "SKIP": "dim",
}


class LiveProgress:
    """A progress bar fed by the plugin's per-check callback."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]checking[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[last]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task("checks", total=None, last="")

    def __enter__(self) -> LiveProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def collected(self, count: int) -> None:
        self.progress.update(self.task, total=count)

    def result(self, result: CheckResult) -> None:
        mark = "" if result.outcome is Outcome.PASS else f" [{STYLES[result.outcome.value]}]{result.outcome.value}[/]"
        self.progress.update(self.task, advance=1, last=f"{result.requirement}{mark}")


DETAILED = 10  # failures shown with their reason and the clients they break; the rest one line each


def render(
    report: dict[str, Any],
    console: Console,
    *,
    show_all: bool = False,
    tables: bool = False,
    report_path: str | None = None,
) -> None:
    """The summary, the client readiness table and what failed (one screen for up to ten failures);
    ``show_all`` adds a table per capability with every row, ``tables`` one with the rows that did not pass."""
    target = report["target"]
    console.print(
        f"[bold]oai-conformance {report['suite']['version']}[/] — {escape(target['name'])}",
        no_wrap=True,
        overflow="ellipsis",
        crop=True,
    )
    if report["run"]["aborted"]:
        console.print(f"[bold red]Run aborted:[/] {escape(report['run']['aborted'])}")
    if show_all or tables:
        _render_tables(report, console, show_passed=show_all)
    render_summary(report, console, None, rule=False)
    _render_readiness(report, console)
    _render_failures(report["results"], console)
    if report_path:
        console.print(f"report: {escape(report_path)}")
    if not show_all:
        console.print("[dim]every row: --all · one requirement: oai-conformance explain ID[/]")


def _render_tables(report: dict[str, Any], console: Console, *, show_passed: bool) -> None:
    summary = report["summary"]
    results = report["results"]
    for capability in sorted({row["capability"] for row in results}):
        rows = [row for row in results if row["capability"] == capability]
        if not show_passed:
            rows = [row for row in rows if row["outcome"] != "PASS"]
        if not rows:
            continue
        score = summary["by_capability"].get(capability, {}).get("score")
        table = Table(
            title=f"{capability}  (score {score if score is not None else '—'})",
            title_justify="left",
            show_edge=False,
            pad_edge=False,
        )
        table.add_column("requirement", no_wrap=True)
        table.add_column("level", no_wrap=True)
        table.add_column("outcome", no_wrap=True)
        table.add_column("title")
        for row in rows:
            style = STYLES[row["outcome"]]
            table.add_row(row["id"], row["level"], f"[{style}]{row['outcome']}[/]", escape(row["title"]))
        console.print(table)


def _render_readiness(report: dict[str, Any], console: Console) -> None:
    table = Table(
        Column("client", no_wrap=True, min_width=20),
        Column("status", no_wrap=True, min_width=22),
        Column("failing requirements", no_wrap=True, overflow="ellipsis"),
        box=None,
        pad_edge=False,
    )
    for client, status, failing in client_readiness(report):
        table.add_row(client, f"[{READINESS_STYLES.get(status, '')}]{status}[/]", ", ".join(failing) or "—")
    console.print(table)


def reason(row: dict[str, Any]) -> str:
    """Why a requirement did not pass, in one line: the check's message, else what it expected and got."""
    found = violation(row)
    text = first_line(row.get("message"))
    if text and found and found.get("actual") is not None:
        return f"{text} (received {first_line(str(found['actual']))})"
    if not text and found:
        parts = [f"expected {found['expected']}" if found.get("expected") is not None else ""]
        parts.append(f"received {found['actual']}" if found.get("actual") is not None else "")
        text = ", ".join(part for part in parts if part)
        if found.get("pointer"):
            text = f"at {found['pointer']}: {text}" if text else f"at {found['pointer']}"
        text = first_line(text)
    return text or "(no reason recorded)"


def _render_failures(results: list[dict[str, Any]], console: Console) -> None:
    failed = [row for row in results if row["outcome"] in ("FAIL", "TIMEOUT", "ERROR")]
    if not failed:
        return
    failed.sort(key=lambda row: (LEVELS.index(row["level"]) if row["level"] in LEVELS else 9, row["outcome"]))
    console.rule(f"[bold]What failed ({len(failed)})")
    line = {"no_wrap": True, "overflow": "ellipsis", "crop": True, "markup": False, "highlight": False}
    for index, row in enumerate(failed):
        style = STYLES[row["outcome"]]
        console.print(
            f"[{style}]{row['outcome']}[/] [bold]{row['id']}[/] {row['level']} {escape(row['title'])}",
            no_wrap=True,
            overflow="ellipsis",
            crop=True,
        )
        if index >= DETAILED:
            continue
        console.print(f"    why:    {reason(row)}", **line)
        clients = [entry["client"] for entry in break_entries(row)]
        if clients and row["outcome"] != "ERROR":
            console.print(f"    breaks: {', '.join(dict.fromkeys(clients))}", **line)


def render_summary(report: dict[str, Any], console: Console, report_path: str | None, *, rule: bool = True) -> None:
    summary = report["summary"]
    counts = summary["counts"]
    verdicts = summary["verdicts"]
    usage = report["usage"]
    yes = "[green]yes[/]"
    no = "[bold red]no[/]"
    if rule:
        console.rule("[bold]Summary")
    console.print(
        f"score {summary['score'] if summary['score'] is not None else '—'}  ·  "
        f"client-compatible {yes if verdicts['client_compatible'] else no}  ·  "
        f"spec-conformant {yes if verdicts['spec_conformant'] else no}"
    )
    console.print("  ".join(f"[{STYLES[k]}]{k} {v}[/]" for k, v in counts.items() if v))
    console.print(
        f"{usage['requests']} requests, {usage['completion_tokens']} completion tokens billed, "
        f"{report['run']['duration_s']:.1f} s"
    )
    if report_path:
        console.print(f"report: {escape(report_path)}")
