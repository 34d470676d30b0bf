"""``oai-conformance evidence``: send every request behind a failure of a report again, and say per request
whether the answer reproduces the recorded one.

The requests go through the run's one transport policy (:class:`~conformance.transport.client.HttpClient`):
the key only ever goes to the target the user names, deadlines and caps hold, and every output is
redacted. The target is never taken from the report: a report may come from anyone.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from rich.console import Console
from rich.markup import escape

from conformance.replay.compare import Verdict, answer, compare
from conformance.replay.plan import NotReplayable, Recorded, rebuild, recorded
from conformance.report.view import Report, load_report
from conformance.target import Target, TargetConfigError, add_limit_arguments, limits_from_args
from conformance.transport.client import HttpClient
from conformance.transport.limits import BudgetExhausted
from conformance.transport.policy import LeftOrigin

EXIT_USAGE = 2
AUTH_LABELS = {"valid": "the key", "wrong": "a wrong key", "none": "no key", "other": "another Authorization"}


@dataclass(frozen=True)
class Replayed:
    """One recorded request sent again: the verdict, or why it was not sent."""

    requirements: tuple[str, ...]
    method: str
    url: str  # redacted
    auth: str  # the kind recorded
    recorded: str  # the recorded answer in a word
    verdict: Verdict | None = None
    sent_auth: str | None = None  # the kind the policy saw the replay carry
    not_replayed: str | None = None
    notes: tuple[str, ...] = ()
    now: dict[str, Any] | None = field(default=None, repr=False)  # the new evidence

    @property
    def reproduced(self) -> bool:
        return self.verdict is not None and self.verdict.reproduced

    def text(self) -> str:
        outcome = f"not replayed: {self.not_replayed}" if self.verdict is None else self.verdict.text()
        label = AUTH_LABELS.get(self.auth, self.auth)
        return f"{', '.join(self.requirements)} · {self.method} {self.url} · {label}: {outcome}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirements": list(self.requirements),
            "method": self.method,
            "url": self.url,
            "auth": self.auth,
            "sent_auth": self.sent_auth,
            "recorded": self.recorded,
            "now": answer(self.now) if self.now is not None else None,
            "reproduced": None if self.verdict is None else self.verdict.reproduced,
            "differences": list(self.verdict.differences) if self.verdict is not None else [],
            "not_replayed": self.not_replayed,
            "notes": list(self.notes),
        }


def replay_report(
    report: Report,
    report_dir: Path,
    target: Target,
    *,
    only: set[str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> list[Replayed]:
    """Send each recorded request of ``report`` to ``target`` again, one after the other, and judge it."""
    with HttpClient(target, transport=transport) as client:
        return [_replay_one(client, report, report_dir, item) for item in recorded(report, only)]


def _replay_one(client: HttpClient, report: Report, report_dir: Path, item: Recorded) -> Replayed:
    target, redact, evidence = client.target, client.redact, item.evidence
    shown = {
        "requirements": item.requirements,
        "method": evidence["method"],
        "url": redact(evidence["url"]),
        "auth": str(evidence.get("auth") or "?"),
        "recorded": answer(evidence),
    }
    try:
        again = rebuild(
            evidence,
            recorded_base=report["target"]["base_url"],
            base_url=target.base_url,
            api_key=target.api_key,
            headers={name.lower(): value for name, value in target.headers},
            report_dir=report_dir,
            schema=str(report.get("schema_version", "")),
        )
    except NotReplayable as exc:
        return Replayed(**shown, not_replayed=redact(str(exc)))
    shown.update(url=redact(again.url), auth=again.auth.value)
    try:
        exchange = client.resend(again.method, again.url, headers=again.headers, body=again.body, stream=again.stream)
    except (BudgetExhausted, LeftOrigin) as exc:
        return Replayed(**shown, not_replayed=redact(str(exc)), notes=again.notes)
    now = exchange.evidence(redact).to_dict()
    return Replayed(**shown, verdict=compare(evidence, now), sent_auth=exchange.auth, notes=again.notes, now=now)


# -- the command ------------------------------------------------------------------------------------


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "evidence",
        aliases=["replay"],
        help="send the requests behind a report's failures again and say whether each reproduces",
        description="Replay the evidence of every FAIL, TIMEOUT and ERROR of a report: each recorded request is "
        "sent again exactly as it was (method, path and query, headers, body bytes) with the same kind of "
        "credentials (your key where it carried the key, the suite's wrong key where it carried that, none where "
        "it had none), and the answer is compared with the recorded one. Exit codes: 0 every request "
        "reproduced · 1 some did not, or could not be sent as they were · 2 usage error.",
    )
    parser.add_argument("report", metavar="REPORT.json")
    parser.add_argument(
        "--base-url", help="the target to send to, as the SDK takes it (default: $OPENAI_BASE_URL; never the report's)"
    )
    parser.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY); sent only to --base-url's origin")
    parser.add_argument("--requirements", help="comma-separated requirement ids to replay (default: all)")
    parser.add_argument("--timeout", type=float, default=30.0, help="time limit of one request (default: 30)")
    parser.add_argument("--max-requests", type=int, default=400, help="request budget (default: 400)")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    add_limit_arguments(parser.add_argument_group("limits"))


def cmd_evidence(args: argparse.Namespace, console: Console) -> int:
    try:
        report = load_report(args.report)
        limits = {"timeout": args.timeout, "max_requests": args.max_requests, **limits_from_args(args)}
        target = Target.build(args.base_url or os.environ.get("OPENAI_BASE_URL"), api_key=args.api_key, **limits)
    except (OSError, ValueError, jsonschema.ValidationError, TargetConfigError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        console.print(f"[bold red]error:[/] {escape(message)}")
        return EXIT_USAGE
    only = {part.strip() for part in args.requirements.split(",") if part.strip()} if args.requirements else None
    results = replay_report(report, Path(args.report).parent, target, only=only)
    good = all(result.reproduced for result in results)
    if args.json:
        payload = {"target": target.base_url, "results": [result.to_dict() for result in results]}
        console.out(json.dumps(payload, indent=2, ensure_ascii=False), highlight=False)
        return 0 if good else 1
    if not results:
        console.print("nothing to replay: no check of the report failed with recorded evidence")
        return 0
    where = f"{escape(args.report)} on {escape(target.base_url)}"
    console.print(f"replaying {len(results)} recorded request(s) of {where}", soft_wrap=True)
    for result in results:
        colour = "green" if result.reproduced else "red" if result.verdict is not None else "yellow"
        console.print(f"[{colour}]{escape(result.text())}[/]", soft_wrap=True)
        for note in result.notes:
            console.print(f"  [dim]note: {escape(note)}[/]")
    counts = [sum(r.reproduced for r in results), sum(r.verdict is not None and not r.reproduced for r in results)]
    skipped = sum(r.verdict is None for r in results)
    console.print(f"{counts[0]} reproduced, {counts[1]} not reproduced, {skipped} not replayed")
    return 0 if good else 1
