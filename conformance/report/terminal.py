"""Terminal output: live progress while checks run, then tables per capability and the failures.

A pure function of report.json (plus a progress callback while running), written with rich.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from conformance.core.results import CheckResult, Outcome
from conformance.report.view import breaks_text, client_readiness

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


def render(
    report: dict[str, Any], console: Console, *, show_passed: bool = True, report_path: str | None = None
) -> None:
    summary = report["summary"]
    target = report["target"]
    console.print(f"[bold]oai-conformance {report['suite']['version']}[/] — {target['name']}")
    if report["run"]["aborted"]:
        console.print(f"[bold red]Run aborted:[/] {report['run']['aborted']}")
    results = report["results"]
    for capability in sorted({row["capability"] for row in results}):
        rows = [row for row in results if row["capability"] == capability]
        if not show_passed:
            rows = [row for row in rows if row["outcome"] != "PASS"]
        if not rows:
            continue
        cap = summary["by_capability"].get(capability, {})
        score = cap.get("score")
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
            table.add_row(row["id"], row["level"], f"[{style}]{row['outcome']}[/]", row["title"])
        console.print(table)
    _render_failures(results, console)
    _render_summary(report, console, report_path)


def _render_failures(results: list[dict[str, Any]], console: Console) -> None:
    failed = [row for row in results if row["outcome"] in ("FAIL", "TIMEOUT", "ERROR")]
    if not failed:
        return
    console.rule("[bold]What failed")
    for row in failed:
        style = STYLES[row["outcome"]]
        console.print(f"[{style}]{row['outcome']}[/] [bold]{row['id']}[/] ({row['level']}) {row['title']}")
        check = next((c for c in row["checks"] if c["outcome"] == row["outcome"]), None)
        violation = check["violation"] if check else None
        if violation:
            if violation.get("pointer"):
                console.print(f"    at:       {violation['pointer']}", markup=False)
            if violation.get("expected") is not None:
                console.print(f"    expected: {violation['expected']}", markup=False)
            if violation.get("actual") is not None:
                console.print(f"    received: {violation['actual']}", markup=False)
            for evidence in violation.get("evidence", [])[:1]:
                console.print(
                    f"    request:  {evidence['method']} {evidence['url']} → {evidence['status']}", markup=False
                )
        elif row["message"]:
            console.print(f"    {row['message']}", markup=False)
        if row["breaks"] and row["outcome"] != "ERROR":
            console.print(f"    breaks:   {'; '.join(breaks_text(row))}", markup=False)


def _render_summary(report: dict[str, Any], console: Console, report_path: str | None) -> None:
    summary = report["summary"]
    counts = summary["counts"]
    verdicts = summary["verdicts"]
    usage = report["usage"]
    yes = "[green]yes[/]"
    no = "[bold red]no[/]"
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
    clients = [
        f"{client} [{READINESS_STYLES.get(status, '')}]{status}[/]" for client, status, _ in client_readiness(report)
    ]
    console.print("clients: " + " · ".join(clients))
    if report_path:
        console.print(f"report: {report_path}")
