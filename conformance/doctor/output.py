"""The findings as output: :func:`render` for a person at a terminal, :func:`to_json` for ``--json``."""

from __future__ import annotations

import json

from rich.console import Console
from rich.text import Text

from conformance.doctor.findings import Diagnosis


def _line(console: Console, *parts: str | tuple[str, str]) -> None:
    console.print(Text.assemble(*parts), soft_wrap=True)


def render(diagnosis: Diagnosis, console: Console) -> None:
    """The findings for a person: where the API is, what to set, the model, and a ticket to paste."""
    _line(console, ("oai-conformance doctor", "bold"), f" · {diagnosis.pasted_url}")
    console.print()
    _line(console, ("Base URL probes", "bold"), " (GET {base}/models)")
    width = max((len(attempt.base_url) for attempt in diagnosis.attempts), default=0)
    for attempt in diagnosis.attempts:
        if attempt.outcome == "models":
            mark = ("✓", "green")
        elif attempt.found:
            mark = ("!", "yellow")
        else:
            mark = ("✗", "red")
        _line(console, "  ", mark, f" {attempt.base_url:<{width}}  →  {attempt.detail}")
    skipped = diagnosis.candidates[len(diagnosis.attempts) :]
    if diagnosis.base_url is None and skipped:
        _line(console, ("  not tried (same host): ", "dim"), ", ".join(skipped))
    console.print()

    if diagnosis.base_url is None:
        _line(console, ("No working base URL found.", "bold red"))
    else:
        key = {
            "accepted": ("key accepted", "green"),
            "not required": ("no key needed for GET /models", "green"),
            "rejected": ("key rejected", "bold yellow"),
            "missing": ("a key is required: pass --api-key", "bold yellow"),
        }.get(diagnosis.key_status, ("", ""))
        _line(console, ("Working base URL: ", "bold"), (diagnosis.base_url, "bold green"), "  (", key, ")")
        console.print()
        _line(console, ("What was wrong with the pasted URL", "bold"))
        if not diagnosis.url_problems:
            _line(console, "  • nothing: it is the base URL the official SDKs need")
        for problem in diagnosis.url_problems:
            _line(console, f"  • {problem.message}")
        if diagnosis.settings is not None:
            settings = diagnosis.settings
            console.print()
            _line(console, ("Configure", "bold"))
            _line(console, "  Python SDK   ", (settings.python, "cyan"))
            _line(console, "  Node SDK     ", (settings.node, "cyan"))
            _line(console, "  environment  ", (settings.env, "cyan"))
            _line(console, f"  {settings.host_only_note}")
    for note in diagnosis.notes:
        _line(console, ("  note: ", "dim"), note)

    model = diagnosis.model
    if model is not None:
        console.print()
        _line(console, ("Model ", "bold"), (model.name, "bold"))
        if model.listed is not None:
            listed = "yes" if model.listed else "no"
            near = f"; near misses: {', '.join(model.near_misses)}" if model.near_misses else ""
            _line(console, f"  listed by GET /models: {listed}{near}")
        width = max((len(result.path) for result in model.endpoints), default=0)
        for result in model.endpoints:
            status = str(result.status) if result.status is not None else "no answer"
            mark = ("✓", "green") if result.ok else ("✗", "red")
            tail = f" · {result.message}" if result.message else ""
            _line(console, "  ", mark, f" POST {result.path:<{width}}  {status}{tail}")
        _line(console, "  → ", (model.conclusion, "bold"))

    console.print()
    _line(console, ("Support ticket", "bold"), " (copy as is; the key is masked)")
    for line in diagnosis.ticket.lines():
        _line(console, f"  {line}")
    console.print()
    _line(console, (f"{diagnosis.requests} request{'s' * (diagnosis.requests != 1)} sent.", "dim"))


def to_json(diagnosis: Diagnosis) -> str:
    """The findings as one JSON object (``--json``)."""
    return json.dumps(diagnosis.to_dict(), indent=2, ensure_ascii=False)
