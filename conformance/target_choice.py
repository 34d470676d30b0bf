"""Which provider ``run`` scores: the flags, a target of the target file, the SDK's environment variables,
or the built-in reference provider -- and ``list-targets``.

Precedence: an explicit flag wins over the target file, which wins over the defaults. Without
``--target``/``--all-targets`` the file is not read, and ``run`` behaves as it always did (``--base-url``,
else ``OPENAI_BASE_URL``, else the reference provider; the key from ``--api-key`` or ``OPENAI_API_KEY``).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from conformance.target import Target, TargetConfigError, limits_from_args
from conformance.targets_file import (
    TargetEntry,
    TargetFile,
    TargetFileError,
    find_target_file,
    load_target_file,
    matrix_entries,
    target_settings,
)

REFERENCE_MODELS = {"chat_model": "ref-chat", "completion_model": "ref-instruct", "embedding_model": "ref-embed"}


def add_target_file_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("target file (oai-conformance.yaml)")
    group.add_argument(
        "--config",
        metavar="FILE",
        help="the target file (default: ./oai-conformance.yaml); read only with --target or --all-targets",
    )
    which = group.add_mutually_exclusive_group()
    which.add_argument("--target", metavar="NAME", help="score this target of the file; flags given override it")
    which.add_argument(
        "--all-targets",
        action="store_true",
        help="score every target of the file side by side, within one concurrency and request budget; writes "
        "OUT/NAME/report.json for each and the merged matrix OUT/matrix.md and OUT/matrix.html",
    )


def add_list_targets_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = commands.add_parser(
        "list-targets",
        help="list the targets of the target file (--json: a CI matrix)",
        description="List the targets of the target file. --json prints one JSON object, "
        '{"target": [names], "include": [per-target details]}, ready for a GitHub Actions strategy.matrix. '
        "Exit codes: 0 · 2 the file is missing or not valid (the error names the line and the field).",
    )
    listing.add_argument("--config", metavar="FILE", help="the target file (default: ./oai-conformance.yaml)")
    listing.add_argument("--json", action="store_true", help="print the matrix as one line of JSON")


def read_target_file(explicit: str | None) -> TargetFile:
    path = find_target_file(explicit)
    if path is None:
        raise TargetFileError(f"no target file: pass --config FILE or create {Path.cwd() / 'oai-conformance.yaml'}")
    return load_target_file(path)


def cmd_list_targets(args: argparse.Namespace, console: Console) -> int:
    try:
        targets = read_target_file(args.config)
    except TargetConfigError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return 2
    entries = matrix_entries(targets)
    if args.json:
        console.out(json.dumps({"target": [e["target"] for e in entries], "include": entries}), highlight=False)
        return 0
    table = Table(Column("target", no_wrap=True), "where", Column("key from", no_wrap=True), box=None, pad_edge=False)
    for entry in targets.targets.values():
        s = entry.settings
        faults = entry.reference_faults
        if faults is not None:
            where = "reference provider" + (f" with {', '.join(faults)}" if faults else "")
        else:
            where = s.get("base_url") or f"${s['base_url_env']}"
        key = f"${s['api_key_env']}" if s.get("api_key_env") else "no key"
        table.add_row(escape(entry.name), escape(where), escape(key))
    console.print(table)
    return 0


# -- the flags a user gave, on top of the file --------------------------------------------------------------


def flag_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The Target settings the command line sets explicitly (None values are left out)."""
    flags: dict[str, Any] = {
        "base_url": args.base_url,
        "api_key": args.api_key,
        "organization": args.organization,
        "chat_model": args.chat_model,
        "completion_model": args.completion_model,
        "embedding_model": args.embedding_model,
        "name": args.name,
        "timeout": args.timeout,
        "max_requests": args.max_requests,
        "max_tokens": args.max_tokens,
        "profile": args.profile,
        "capabilities": args.capabilities,
    }
    flags.update(limits_from_args(args))
    return {key: value for key, value in flags.items() if value is not None}


def overlay(settings: dict[str, Any], flags: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with ``flags`` on top; headers merge by name (a flag's value wins)."""
    merged = {**settings, **flags}
    if "headers" in settings and "headers" in flags:
        headers = {name.lower(): (name, value) for name, value in settings["headers"]}
        headers.update({name.lower(): (name, value) for name, value in flags["headers"]})
        merged["headers"] = tuple(headers.values())
        merged["secret_headers"] = frozenset(settings.get("secret_headers", ())) | flags.get("secret_headers", set())
    return merged


def entry_target(
    entry: TargetEntry, targets: TargetFile, flags: dict[str, Any], faults: list[str] | None = None
) -> tuple[Target, Any, str | None]:
    """The Target of one file entry with ``flags`` on top, the reference server it needs (started; the
    caller stops it) and its baseline file. ``faults`` (from ``--fault``) replace a reference entry's.
    A setting the Target refuses is reported at the entry's line."""
    try:
        settings = overlay(target_settings(entry, targets.path.parent), flags)
        baseline = settings.pop("baseline", None)
        reference = entry.reference_faults
        if reference is None:
            if faults:
                raise TargetConfigError("--fault applies to the built-in reference provider only")
            return Target.build(settings.pop("base_url", None), env={}, **settings), None, baseline
        if "base_url" in flags:
            raise TargetConfigError("a reference provider target: --base-url cannot move it")
        target, server = reference_target(faults or list(reference), settings)
    except TargetConfigError as exc:
        raise TargetFileError(f"{targets.path}:{entry.line}: targets.{entry.name}: {exc}") from None
    return target, server, baseline


def reference_target(faults: list[str], settings: dict[str, Any]) -> tuple[Target, Any]:
    """Start the built-in reference provider on a free 127.0.0.1 port (with ``faults``) and its Target."""
    from conformance.reference import ReferenceServer

    # A fresh key per run: it also exercises redaction, since no output may ever contain it.
    key = f"sk-ref-{secrets.token_hex(16)}"
    server = ReferenceServer(faults=faults, api_key=key).start()
    name = "reference provider" + (f" with faults {', '.join(faults)}" if faults else "")
    settings = {**REFERENCE_MODELS, **settings, "api_key": key}
    settings.setdefault("name", name)
    try:
        target = Target.build(server.base_url, env={}, **{k: v for k, v in settings.items() if k != "base_url"})
    except BaseException:
        server.stop()  # a bad limit must not leave the server listening
        raise
    return target, server


def target_from_args(args: argparse.Namespace) -> tuple[Target, Any, str | None]:
    """The one target ``run`` scores (without --all-targets), the reference server to stop afterwards (or
    None), and the baseline file the target file names for it (or None)."""
    flags = flag_settings(args)
    if args.target:
        targets = read_target_file(args.config)
        return entry_target(targets.entry(args.target), targets, flags, args.fault)
    if args.base_url or os.environ.get("OPENAI_BASE_URL"):
        if args.fault:
            raise TargetConfigError("--fault applies to the built-in reference provider only (drop --base-url)")
        return Target.build(flags.pop("base_url", None), **flags), None, None
    target, server = reference_target(args.fault, flags)
    return target, server, None
