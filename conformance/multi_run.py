"""``run --all-targets``: every target of the target file scored side by side, within one concurrency limit
and one request budget, each into its own directory, then the merged matrix beside them.

How the shared limits are kept without coupling the runs (each run's verdicts must not depend on how
fast another target answered):

* **concurrency** -- at most ``C`` requests in flight in all (``--concurrency``, else the file's
  ``concurrency``, else 8): ``min(targets, C)`` runs go at once, each with ``C // that`` slots (never
  more than its own ``limits.concurrency``); the others wait for a run to end;
* **request budget** -- ``--max-requests``, else the file's ``max_requests``, is split evenly: each target
  may spend ``budget // targets`` (never more than its own). A fixed share, not a common pool: a pool
  would let a slow target's requests be refused because a fast one spent them first, and the same
  provider would score differently with different neighbours.
"""

from __future__ import annotations

import argparse
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from conformance.report.baseline import Baseline, BaselineError, load_baseline
from conformance.report.ci import write_step_summary
from conformance.report.commands import write_formats
from conformance.report.gates import evaluate
from conformance.report.merge import build_matrix, render_merge_html, render_merge_markdown
from conformance.report.view import fmt_score, yes_no
from conformance.runner import EXIT_UNREACHABLE, EXIT_USAGE, INTERRUPTED_CODES, RunResult, run
from conformance.target import Target, TargetConfigError
from conformance.target_choice import entry_target, flag_settings, read_target_file

DEFAULT_CONCURRENCY = 8


@dataclass
class Job:
    """One target of the run: what to score, where its report goes, and what became of it."""

    name: str
    target: Target
    out: Path
    server: Any = None  # the reference provider started for it, stopped at the end
    baseline: Baseline | None = None
    result: RunResult | None = None
    error: str | None = None
    code: int = 0
    gate_reasons: list[str] = field(default_factory=list)


def shares(count: int, concurrency: int, budget: int | None) -> tuple[int, int, int | None]:
    """(runs at once, slots per run, requests per target) for ``count`` targets."""
    if budget is not None and budget < count:
        raise TargetConfigError(f"a request budget of {budget} cannot be split between {count} targets")
    parallel = max(1, min(count, concurrency))
    return parallel, max(1, concurrency // parallel), (budget // count if budget is not None else None)


def cmd_run_all(args: argparse.Namespace, console: Console, only: list[str] | None) -> int:
    if args.baseline:
        console.print("[bold red]error:[/] with --all-targets, give each target its 'baseline:' in the target file")
        return EXIT_USAGE
    try:
        jobs, parallel = _prepare(args)
    except (TargetConfigError, BaselineError, ValueError) as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return EXIT_USAGE
    try:
        _run_jobs(jobs, parallel, args, console, only)
    finally:
        _stop(jobs)
    return _finish(jobs, args, console)


def _prepare(args: argparse.Namespace) -> tuple[list[Job], int]:
    """A job per target, its reference provider started and its baseline read (all stopped on an error)."""
    targets = read_target_file(args.config)
    flags = flag_settings(args)
    concurrency = flags.pop("concurrency", None) or targets.concurrency or DEFAULT_CONCURRENCY
    budget = flags.pop("max_requests", None) or targets.max_requests
    parallel, slots, per_target = shares(len(targets.targets), concurrency, budget)
    out = Path(args.out)
    jobs: list[Job] = []
    try:
        for entry in targets.targets.values():
            target, server, baseline_path = entry_target(entry, targets, flags, args.fault)
            job = Job(entry.name, target, out / entry.name, server)
            jobs.append(job)
            requests = target.max_requests if per_target is None else min(target.max_requests, per_target)
            job.target = replace(target, concurrency=min(target.concurrency, slots), max_requests=requests)
            job.baseline = load_baseline(baseline_path) if baseline_path else None
    except BaseException:
        _stop(jobs)
        raise
    return jobs, parallel


def _run_one(job: Job, only: list[str] | None, done: Any) -> None:
    try:
        job.result = run(job.target, out_dir=job.out, only=only)
    except ValueError as exc:  # an unknown requirement id: the same for every target
        job.error = str(exc)
    except Exception as exc:  # one target's crash must not lose the others' reports
        job.error = f"the run failed: {type(exc).__name__}: {exc}"
    finally:
        done(job)


def _run_jobs(
    jobs: list[Job], parallel: int, args: argparse.Namespace, console: Console, only: list[str] | None
) -> None:
    """Run the jobs, ``parallel`` at a time; a line per target as it ends (none with --quiet)."""
    lock = threading.Lock()
    console.print(f"scoring {len(jobs)} targets, {parallel} at a time: {', '.join(job.name for job in jobs)}")

    def done(job: Job) -> None:
        with lock:
            if job.result is not None:
                summary = job.result.report["summary"]
                requests = job.result.report["usage"]["requests"]
                line = f"  {job.name}: score {fmt_score(summary['score'])} ({requests} requests)"
            else:
                line = f"  {job.name}: {job.error}"
            if not args.quiet:
                console.print(escape(line), no_wrap=True, overflow="ellipsis", crop=True)

    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="target") as pool:
        futures = [pool.submit(_run_one, job, only, done) for job in jobs]
        for future in futures:
            future.result()


def _stop(jobs: list[Job]) -> None:
    for job in jobs:
        if job.server is not None:
            job.server.stop()
            job.server = None


def _finish(jobs: list[Job], args: argparse.Namespace, console: Console) -> int:
    reports = []
    for job in jobs:
        if job.result is None:
            job.code = EXIT_USAGE
            continue
        reports.append(job.result.report)
        if job.result.report_path is not None and args.formats:
            write_formats(job.result.report, job.result.report_path.parent, args.formats)
        gate = evaluate(job.result.report, fail_on=args.fail_on, min_score=args.min_score, baseline=job.baseline)
        job.gate_reasons = gate.reasons
        kept = (*INTERRUPTED_CODES, EXIT_UNREACHABLE)
        job.code = job.result.exit_code if job.result.exit_code in kept else gate.exit_code
    out = Path(args.out)
    if reports:
        matrix = build_matrix(reports)
        markdown = render_merge_markdown(matrix)
        out.mkdir(parents=True, exist_ok=True)
        (out / "matrix.md").write_text(markdown, encoding="utf-8")
        (out / "matrix.html").write_text(render_merge_html(matrix), encoding="utf-8")
        write_step_summary(markdown)
    _render(jobs, console)
    if reports:
        console.print(f"matrix: {escape(str(out / 'matrix.md'))} · {escape(str(out / 'matrix.html'))}")
    return max((job.code for job in jobs), default=0)


def _render(jobs: list[Job], console: Console) -> None:
    table = Table(
        Column("target", no_wrap=True, min_width=min(24, max(len(job.name) for job in jobs))),
        Column("score", justify="right", no_wrap=True, min_width=5),
        Column("compatible", no_wrap=True, min_width=10),  # with the clients: no MUST failure
        Column("conformant", no_wrap=True, min_width=10),  # with the spec: no MUST or SHOULD failure
        Column("requests", justify="right", no_wrap=True, min_width=8),
        Column("failing", no_wrap=True, overflow="ellipsis", min_width=12),
        box=None,
        pad_edge=False,
    )
    for job in jobs:
        if job.result is None:
            table.add_row(escape(job.name), "—", "—", "—", "—", f"[magenta]{escape(job.error or '')}[/]")
            continue
        report = job.result.report
        summary = report["summary"]
        verdicts = summary["verdicts"]
        failing = [row["id"] for row in report["results"] if row["outcome"] in ("FAIL", "TIMEOUT")]
        style = "green" if job.code == 0 else "bold red"
        table.add_row(
            f"[{style}]{escape(job.name)}[/]",
            fmt_score(summary["score"]),
            yes_no(verdicts["client_compatible"]),
            yes_no(verdicts["spec_conformant"]),
            str(report["usage"]["requests"]),
            ", ".join(failing) or "—",
        )
    console.print(table)
    for job in jobs:
        if job.result is not None and job.result.report_path is not None:
            gate = "gate passed" if job.code == 0 else f"exit {job.code}: " + "; ".join(job.gate_reasons)
            console.print(
                f"{escape(job.name)}: {escape(str(job.result.report_path))} · {escape(gate)}",
                no_wrap=True,
                overflow="ellipsis",
                crop=True,
            )
