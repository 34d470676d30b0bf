"""``oai-conformance``: a thin shell over the library.

Exit codes: 0 no MUST failure · 1 MUST failures · 2 usage or configuration error · 3 target unreachable ·
124 stopped by --run-timeout · 130/143 interrupted by SIGINT/SIGTERM (the partial report is written).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from conformance import __version__
from conformance.core.catalogue import FEATURES, CatalogueError, load_catalogue
from conformance.runner import EXIT_USAGE, INTERRUPTED_CODES, run
from conformance.target import TargetConfigError, add_limit_arguments

#: The features of the declarable families (tools, responses_background, ...), listed by their tags.
FEATURE_NAMES = frozenset(feature for family in FEATURES.values() for feature in family)


def _add_run_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "run",
        help="score a provider (default: the built-in reference provider)",
        description="Score a provider against the requirement catalogue and write report.json. With no --base-url "
        "(and no OPENAI_BASE_URL) the built-in reference provider is started and scored.",
    )
    target = parser.add_argument_group("target")
    target.add_argument(
        "--base-url",
        help="provider base URL as the official SDK takes it, e.g. https://host/v1 "
        "(default: $OPENAI_BASE_URL, else the built-in reference provider)",
    )
    target.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY); never written to any output")
    target.add_argument("--organization", help="value of the OpenAI-Organization header")
    target.add_argument("--chat-model", help="model for chat checks (default: chosen from GET /models by probing)")
    target.add_argument("--completion-model", help="model for completion checks (default: probed)")
    target.add_argument("--embedding-model", help="model for embedding checks (default: probed)")
    target.add_argument("--name", help="display name of the provider in reports")
    limits = parser.add_argument_group("limits and cost")
    limits.add_argument(
        "--timeout", type=float, help="time limit of one request: connect, headers and body (default: 30)"
    )
    limits.add_argument("--max-requests", type=int, help="request budget for the run (default: 400)")
    limits.add_argument("--max-tokens", type=int, help="max_tokens on generation requests (default: 16)")
    add_limit_arguments(limits)  # timeouts, caps, budgets, retries, TLS, extra and secret headers
    output = parser.add_argument_group("selection and output")
    output.add_argument("--requirements", help="comma-separated requirement ids to run (default: all)")
    output.add_argument(
        "--profile",
        choices=("core", "extended", "legacy", "all"),
        help="which requirements run: core (models, chat, completions, embeddings, errors, auth, base URL, "
        "transport, SDK), extended (core + images, moderations, files), legacy (edits, engines, fine-tunes, "
        "model delete) or all (default: all)",
    )
    output.add_argument(
        "--capabilities",
        metavar="LIST",
        help="comma-separated endpoint families the provider offers (chat, completions, embeddings, images, "
        "moderations, files, fine_tunes, edits, engines, responses); the others are reported UNSUPPORTED without a "
        "request (default: probe every one; an honest 404/501 is UNSUPPORTED). chat and responses bring their "
        "features along; name one with a minus to declare it absent (chat,-tools; responses,-responses_background)",
    )
    output.add_argument(
        "--quick",
        action="store_true",
        help="MUST requirements only, no property tests: the fastest client-compatibility verdict",
    )
    output.add_argument(
        "--out", default="conformance-report", help="directory for report.json (default: ./conformance-report)"
    )
    output.add_argument(
        "--all", action="store_true", dest="show_all", help="show every requirement's row (default: the failures)"
    )
    output.add_argument(
        "--failures-only", action="store_true", help="show the per-capability tables of the rows that did not pass"
    )
    output.add_argument("--quiet", action="store_true", help="no progress bar and no tables; print the summary only")
    reference = parser.add_argument_group("built-in reference provider (only without --base-url)")
    reference.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="inject a named fault into the reference provider (repeatable); see 'serve --list-faults'",
    )
    from conformance.report.commands import add_run_options
    from conformance.target_choice import add_target_file_arguments

    add_run_options(parser)
    add_target_file_arguments(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oai-conformance", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"oai-conformance {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_run_parser(commands)

    serve = commands.add_parser("serve", help="run the reference provider (optionally with faults)")
    serve.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default: 8000)")
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="inject a named fault (repeatable); 'NAME;key=value' sets a parameter (see --list-faults)",
    )
    serve.add_argument("--api-key", default=None, help="key clients must send (default: the reference key)")
    serve.add_argument("--no-auth", action="store_true", help="accept requests without a key")
    serve.add_argument("--latency", type=float, default=0.0, help="seconds to wait before every answer (default: 0)")
    serve.add_argument("--list-faults", action="store_true", help="list the available faults and exit")

    doctor = commands.add_parser(
        "doctor",
        help="find the base URL that works for a pasted URL, and what to configure",
        description="Probe the bases a pasted URL may mean (host, host/v1, a full endpoint URL…) with GET /models, "
        "print the values to configure, check a model on each endpoint with --model, and end with a support "
        "ticket. Exit codes: 0 working base (and model) found · 1 base found but the key or the model does not "
        "work · 2 usage error · 3 no candidate base answered.",
    )
    doctor.add_argument(
        "url", nargs="?", help="the URL you have: host, base URL or full endpoint URL (default: $OPENAI_BASE_URL)"
    )
    doctor.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY); only ever shown masked")
    doctor.add_argument("--model", help="also check this model: is it listed, and on which endpoint does it answer")
    doctor.add_argument("--timeout", type=float, default=10.0, help="per-request timeout in seconds (default: 10)")
    doctor.add_argument("--json", action="store_true", help="print the findings as one JSON object")

    listing = commands.add_parser("list", help="list the requirement catalogue")
    listing.add_argument("--level", choices=["MUST", "SHOULD", "MAY"], help="only this level")
    listing.add_argument("--capability", help="only this capability, or a feature of one (responses_background)")

    explain = commands.add_parser(
        "explain",
        help="what one requirement asks, why its level, its check, the probes it reads and its proving faults",
        description="Explain a requirement: statement, level and the clients that break, the check(s) with their "
        "source location, the probes each reads and the reference-provider faults that make it FAIL. "
        "Exit codes: 0 · 2 unknown id (the closest ids are suggested).",
    )
    explain.add_argument("id", help="requirement id, e.g. CHAT-STREAM-003 (case-insensitive)")
    explain.add_argument("--json", action="store_true", help="print the explanation as one JSON object")

    from conformance.report.commands import add_parsers
    from conformance.target_choice import add_list_targets_parser

    add_parsers(commands)  # report, diff, merge, baseline
    add_list_targets_parser(commands)
    from conformance.replay.command import add_parser as add_evidence_parser

    add_evidence_parser(commands)  # evidence (alias replay)
    return parser


def quick_selection(only: list[str] | None) -> list[str]:
    """--quick: the MUST requirements (of the selection, if any), without the property tests."""
    chosen = [r for r in load_catalogue().active if r.level.value == "MUST" and "property" not in r.tags]
    return [r.id for r in chosen if only is None or r.id in only]


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    from conformance.report.baseline import BaselineError, load_baseline
    from conformance.report.ci import plain_output, write_step_summary
    from conformance.report.commands import finish_run
    from conformance.report.markdown import render_markdown
    from conformance.report.terminal import LiveProgress, render, render_summary
    from conformance.target_choice import target_from_args

    only = [part.strip() for part in args.requirements.split(",") if part.strip()] if args.requirements else None
    if args.quick:
        only = quick_selection(only)
    if args.all_targets:
        from conformance.multi_run import cmd_run_all

        return cmd_run_all(args, console, only)
    try:
        target, server, file_baseline = target_from_args(args)
    except (TargetConfigError, ValueError) as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return EXIT_USAGE
    try:
        try:
            # Before any request: a bad baseline must not cost a run.
            path = args.baseline or file_baseline
            baseline = load_baseline(path) if path else None
        except BaselineError as exc:
            console.print(f"[bold red]error:[/] {escape(str(exc))}")
            return EXIT_USAGE
        if args.quiet or plain_output(console):
            # The inner pytest's progress and summary lines are not "the summary only".
            with contextlib.redirect_stdout(io.StringIO()):
                result = run(target, out_dir=args.out, only=only)
        else:
            with LiveProgress(console) as progress:
                result = run(
                    target, out_dir=args.out, only=only, on_result=progress.result, on_collected=progress.collected
                )
    except ValueError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return EXIT_USAGE
    finally:
        if server is not None:
            server.stop()
    report_path = str(result.report_path) if result.report_path else None
    if args.quiet:
        render_summary(result.report, console, report_path)
    else:
        render(result.report, console, show_all=args.show_all, tables=args.failures_only, report_path=report_path)
    write_step_summary(render_markdown(result.report))
    code = finish_run(args, result, baseline, console)  # extra formats, then the gates decide the exit code
    return result.exit_code if result.exit_code in INTERRUPTED_CODES else code  # an interrupted run says so


def cmd_serve(args: argparse.Namespace, console: Console) -> int:
    from conformance.reference import DEFAULT_API_KEY, FAULTS, create_app

    if args.list_faults:
        # The name is what users type: never cut it with an ellipsis.
        table = Table(Column("fault", no_wrap=True), "site", "what the provider does wrong", "seen in", show_edge=False)
        for name in sorted(FAULTS):
            fault = FAULTS[name]
            # Parameters as they are given: "transport-stall;seconds=2" (their defaults shown here).
            params = "".join(f"\n;{key}={value:g}" for key, value in fault.params.items())
            table.add_row(escape(name + params), fault.site, fault.summary, fault.seen_in)
        console.print(table)
        return 0
    import uvicorn

    try:
        api_key = None if args.no_auth else (args.api_key or DEFAULT_API_KEY)
        app = create_app(api_key=api_key, faults=args.fault, latency=args.latency)
    except ValueError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return EXIT_USAGE
    faults = f" with faults: {', '.join(args.fault)}" if args.fault else ""
    console.print(f"reference provider on http://127.0.0.1:{args.port}/v1{faults}")
    console.print("key: " + ("none required" if api_key is None else f"{api_key} (the public reference key)"))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    return 0


def cmd_doctor(args: argparse.Namespace, console: Console) -> int:
    import json
    import os

    from rich.markup import escape

    from conformance.doctor import EXIT_USAGE as DOCTOR_USAGE
    from conformance.doctor import diagnose, render, to_json

    url = args.url or os.environ.get("OPENAI_BASE_URL")
    api_key = args.api_key if args.api_key is not None else os.environ.get("OPENAI_API_KEY")
    try:
        if not url:
            raise TargetConfigError("pass the URL to diagnose (or set OPENAI_BASE_URL)")
        diagnosis = diagnose(url, api_key=api_key, model=args.model, timeout=args.timeout)
    except TargetConfigError as exc:
        if args.json:
            console.out(json.dumps({"error": str(exc), "exit_code": DOCTOR_USAGE}), highlight=False)
        else:
            console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return DOCTOR_USAGE
    if args.json:
        console.out(to_json(diagnosis), highlight=False)
    else:
        render(diagnosis, console)
    return diagnosis.exit_code


def cmd_list(args: argparse.Namespace, console: Console) -> int:
    table = Table(
        Column("id", no_wrap=True), "level", "capability", "title", Column("faults", overflow="fold"), show_edge=False
    )
    for requirement in load_catalogue().active:
        if args.level and requirement.level.value != args.level:
            continue
        # A feature of a family (responses_background) is a tag of the family's requirements.
        wanted = args.capability
        tagged = wanted in FEATURE_NAMES and wanted.replace("_", "-") in requirement.tags
        if wanted and requirement.capability != wanted and not tagged:
            continue
        table.add_row(
            requirement.id,
            requirement.level.value,
            requirement.capability,
            requirement.title,
            ", ".join(requirement.faults),
        )
    console.print(table)
    return 0


def cmd_explain(args: argparse.Namespace, console: Console) -> int:
    import json

    from conformance.explain import UnknownRequirement, explain, render_text

    try:
        explanation = explain(args.id)
    except UnknownRequirement as exc:
        if args.json:
            console.out(json.dumps({"error": str(exc), "suggestions": exc.suggestions}), highlight=False)
        else:
            console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return EXIT_USAGE
    if args.json:
        console.out(json.dumps(explanation.to_dict(), indent=2, ensure_ascii=False), highlight=False)
    else:
        console.out(render_text(explanation), highlight=False, end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    try:
        from conformance.replay.command import cmd_evidence
        from conformance.report.commands import COMMANDS
        from conformance.target_choice import cmd_list_targets

        commands = {"run": cmd_run, "serve": cmd_serve, "list": cmd_list, "doctor": cmd_doctor, "explain": cmd_explain}
        commands.update(evidence=cmd_evidence, replay=cmd_evidence)
        commands["list-targets"] = cmd_list_targets
        handler = {**commands, **COMMANDS}[args.command]
        return handler(args, console)
    except CatalogueError as exc:
        console.print(f"[bold red]catalogue error:[/] {escape(str(exc))}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
