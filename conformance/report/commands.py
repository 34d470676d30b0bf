"""The CLI side of reports and gates: ``report``, ``diff``, ``merge``, ``baseline`` and the gate options of ``run``.

Kept out of ``conformance/cli.py`` so that the shell stays thin; cli.py registers these parsers and
dispatches to ``COMMANDS``. Every command reads report.json files (validated against the schema)
and writes text; none of them talks to a provider.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
from rich.console import Console
from rich.markup import escape

from conformance.report.badge import render_badge
from conformance.report.baseline import Baseline, BaselineError, load_baseline, save_baseline, update_baseline
from conformance.report.diff import diff_reports, render_diff_markdown, render_diff_text
from conformance.report.gates import FAIL_ON_LEVELS, GateResult, evaluate
from conformance.report.html import render_html
from conformance.report.junit import render_junit
from conformance.report.markdown import render_markdown
from conformance.report.merge import build_matrix, render_merge_html, render_merge_markdown
from conformance.report.view import Report, load_report

if TYPE_CHECKING:
    from conformance.runner import RunResult

EXIT_USAGE = 2

RENDERERS: dict[str, Callable[[Report], str]] = {
    "md": render_markdown,
    "html": render_html,
    "junit": render_junit,
    "badge": render_badge,
}
# What ``run --format`` writes next to report.json.
FILENAMES = {"md": "report.md", "html": "report.html", "junit": "junit.xml", "badge": "badge.json"}


class UsageError(Exception):
    """A bad argument or input file: reported in one line, exit code 2."""


# --- argument parsing -------------------------------------------------------------------------


def _percentage(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be between 0 and 100, not {text}")
    return value


def _format_list(text: str) -> list[str]:
    """``md,html,junit`` → the formats, each one of FILENAMES."""
    formats = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in formats if name not in FILENAMES]
    if unknown or not formats:
        raise argparse.ArgumentTypeError(
            f"unknown format {', '.join(unknown) or repr(text)}; choose from {', '.join(sorted(FILENAMES))}"
        )
    return formats


def _add_gate_arguments(parser: argparse.ArgumentParser | Any, *, baseline: bool = True) -> None:
    parser.add_argument(
        "--fail-on",
        choices=list(FAIL_ON_LEVELS),
        default="must",
        help="which failures fail the run: must (default; MUST failures, i.e. not client-compatible), "
        "should (MUST or SHOULD, i.e. not spec-conformant), none",
    )
    parser.add_argument(
        "--min-score", type=_percentage, metavar="N", help="fail when the score is below N (0-100; default: no minimum)"
    )
    if not baseline:
        return
    parser.add_argument(
        "--baseline",
        metavar="FILE",
        help="YAML file of reviewed expected outcomes for this provider: fail only on unexpected outcomes "
        "(new failures, and listed failures that now pass); create or refresh it with 'baseline update'",
    )


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The gate and format options of ``run``."""
    gates = parser.add_argument_group("gates (exit code 1 when one fails)")
    _add_gate_arguments(gates)
    parser.add_argument(
        "--format",
        action="extend",
        default=[],
        type=_format_list,
        metavar="LIST",
        dest="formats",
        help="also write these formats next to report.json (comma-separated or repeated, e.g. md,html,junit): "
        + ", ".join(f"{key} → {name}" for key, name in FILENAMES.items()),
    )


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = commands.add_parser(
        "report",
        help="render a report.json as Markdown, HTML, JUnit XML or a shields.io badge",
        description="Render a saved report.json. Every format is derived from report.json alone.",
    )
    report.add_argument("report", metavar="REPORT.json")
    report.add_argument("--format", choices=sorted(RENDERERS), required=True, help="output format")
    report.add_argument("--out", metavar="FILE", help="write to FILE (default: standard output)")

    diff = commands.add_parser(
        "diff",
        help="compare two reports; exit 1 on a regression",
        description="Compare two reports requirement by requirement. Exit 1 when a requirement went from PASS, "
        "UNSUPPORTED or SKIP to FAIL, TIMEOUT or ERROR (a regression), else 0.",
    )
    diff.add_argument("old", metavar="OLD.json")
    diff.add_argument("new", metavar="NEW.json")
    diff.add_argument("--format", choices=["text", "md"], default="text", help="output format (default: text)")
    diff.add_argument("--out", metavar="FILE", help="write to FILE (default: standard output)")

    merge = commands.add_parser(
        "merge",
        help="a compatibility matrix of several reports (providers × requirements)",
        description="Merge reports into a compatibility matrix: one column per provider.",
    )
    merge.add_argument("reports", nargs="+", metavar="REPORT.json")
    merge.add_argument("--format", choices=["md", "html"], default="md", help="output format (default: md)")
    merge.add_argument("--out", metavar="FILE", help="write to FILE (default: standard output)")

    baseline = commands.add_parser(
        "baseline",
        help="create, update or check a baseline of expected outcomes",
        description="A baseline lists the reviewed, expected outcomes of one provider; 'run --baseline' fails "
        "only on outcomes it does not expect.",
    )
    actions = baseline.add_subparsers(dest="baseline_command", required=True)
    update = actions.add_parser(
        "update",
        help="write or update FILE from a report",
        description="Write FILE so that REPORT passes against it: keeps reviewed reasons and links, adds new "
        "failures with the reason 'TODO: explain', drops entries that now pass.",
    )
    update.add_argument("report", metavar="REPORT.json")
    update.add_argument("file", metavar="FILE")
    check = actions.add_parser("check", help="gate a saved report against FILE (exit 0 or 1)")
    check.add_argument("report", metavar="REPORT.json")
    check.add_argument("file", metavar="FILE")
    _add_gate_arguments(check, baseline=False)


# --- helpers ------------------------------------------------------------------------------------


def _read_report(path: str) -> Report:
    try:
        return load_report(path)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except jsonschema.ValidationError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "(top level)"
        raise UsageError(f"{path} is not a valid oai-conformance report: {exc.message} at {where}") from exc
    except ValueError as exc:
        raise UsageError(f"{path} is not JSON: {exc}") from exc


def _emit(text: str, out: str | None) -> None:
    if out:
        target = Path(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return
    try:
        sys.stdout.write(text)
    except UnicodeEncodeError:  # a non-UTF-8 terminal: the bytes are still right for a pipe
        sys.stdout.flush()
        sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.flush()


def _print_gate(gate: GateResult, console: Console) -> None:
    for note in gate.notes:
        console.print(f"[dim]note:[/] {escape(note)}", no_wrap=True, overflow="ellipsis", crop=True)
    if gate.passed:
        console.print("[green]gate passed[/]")
        return
    console.print(f"[bold red]gate failed[/] ({len(gate.reasons)} reason{'s' if len(gate.reasons) != 1 else ''}):")
    for reason in _grouped(gate.reasons):
        # "requirement failed" lines repeat what the terminal listed: one line each; others say what to do.
        short = bool(_LEVEL_FAILED.match(reason) or _LEVEL_GROUP.match(reason))
        overflow = "ellipsis" if short else "fold"
        console.print(f"  - {reason}", no_wrap=short, overflow=overflow, crop=short, markup=False)


_LEVEL_FAILED = re.compile(r"^(MUST|SHOULD|MAY) requirement failed: (\S+) ")
_LEVEL_GROUP = re.compile(r"^(MUST|SHOULD|MAY) requirements failed: ")


def _grouped(reasons: list[str]) -> list[str]:
    """Up to three reasons as they are; more, the failed requirements of one level on one line."""
    if len(reasons) <= 3:
        return reasons
    levels: dict[str, list[str]] = {}
    rest = []
    for reason in reasons:
        found = _LEVEL_FAILED.match(reason)
        if found:
            levels.setdefault(found[1], []).append(found[2])
        else:
            rest.append(reason)
    return [f"{level} requirements failed: {', '.join(ids)}" for level, ids in levels.items()] + rest


def _guarded(handler: Callable[[argparse.Namespace, Console], int]) -> Callable[[argparse.Namespace, Console], int]:
    def run(args: argparse.Namespace, console: Console) -> int:
        try:
            return handler(args, console)
        except (UsageError, BaselineError) as exc:
            console.print(f"[bold red]error:[/] {escape(str(exc))}")
            return EXIT_USAGE

    return run


# --- run: gates and extra formats ------------------------------------------------------------


def load_run_baseline(args: argparse.Namespace) -> Baseline | None:
    """The baseline given to ``run``, loaded before any request is made; raises BaselineError."""
    return load_baseline(args.baseline) if getattr(args, "baseline", None) else None


def write_formats(report: Report, out_dir: Path, formats: list[str]) -> list[Path]:
    written = []
    for key in dict.fromkeys(formats):
        path = out_dir / FILENAMES[key]
        path.write_text(RENDERERS[key](report), encoding="utf-8")
        written.append(path)
    return written


def finish_run(args: argparse.Namespace, result: RunResult, baseline: Baseline | None, console: Console) -> int:
    """After ``run`` wrote report.json: the extra formats, then the gates; returns the exit code."""
    if result.report_path is not None and args.formats:
        written = write_formats(result.report, result.report_path.parent, args.formats)
        console.print("also wrote: " + ", ".join(escape(str(path)) for path in written))
    gate = evaluate(result.report, fail_on=args.fail_on, min_score=args.min_score, baseline=baseline)
    _print_gate(gate, console)
    if gate.baseline_stale and result.report_path is not None:
        console.print(
            f"update it with: oai-conformance baseline update {escape(str(result.report_path))} {escape(args.baseline)}"
        )
    return gate.exit_code


# --- the commands -------------------------------------------------------------------------------


@_guarded
def cmd_report(args: argparse.Namespace, console: Console) -> int:
    report = _read_report(args.report)
    _emit(RENDERERS[args.format](report), args.out)
    return 0


@_guarded
def cmd_diff(args: argparse.Namespace, console: Console) -> int:
    diff = diff_reports(_read_report(args.old), _read_report(args.new))
    render = render_diff_markdown if args.format == "md" else render_diff_text
    _emit(render(diff), args.out)
    return diff.exit_code


@_guarded
def cmd_merge(args: argparse.Namespace, console: Console) -> int:
    matrix = build_matrix([_read_report(path) for path in args.reports])
    render = render_merge_html if args.format == "html" else render_merge_markdown
    _emit(render(matrix), args.out)
    return 0


@_guarded
def cmd_baseline(args: argparse.Namespace, console: Console) -> int:
    report = _read_report(args.report)
    if args.baseline_command == "check":
        gate = evaluate(report, fail_on=args.fail_on, min_score=args.min_score, baseline=load_baseline(args.file))
        _print_gate(gate, console)
        return gate.exit_code
    existing = load_baseline(args.file) if Path(args.file).exists() else None
    baseline, done = update_baseline(existing, report)
    save_baseline(baseline, args.file)
    verb = "updated" if existing is not None else "wrote"
    console.print(f"{verb} {escape(args.file)}: {len(baseline.expectations)} expectation(s)")
    for label, ids in (("added", done.added), ("changed", done.changed), ("dropped (now pass)", done.dropped)):
        if ids:
            console.print(f"  {label}: {', '.join(ids)}")
    if done.added:
        console.print('review the new entries: replace "TODO: explain" with the reason and a link')
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Console], int]] = {
    "report": cmd_report,
    "diff": cmd_diff,
    "merge": cmd_merge,
    "baseline": cmd_baseline,
}
