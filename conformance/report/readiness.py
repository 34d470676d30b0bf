"""Client readiness: for each kind of client, does it work with this provider? A pure function of report.json.

Every requirement says in ``breaks`` which clients break when it fails. A client is

* **broken** when a failing (FAIL or TIMEOUT) MUST requirement names it,
* **limited** ("ready with limitations") when only failing SHOULD or MAY requirements name it, or the
  only MUST ones name an *older release* of it (``openai-python < 1.66``),
* **ready** otherwise.

A ``breaks`` entry names a client when it contains (case-insensitively) one of the client's markers:

================================  ==================================================================
client                            markers
================================  ==================================================================
openai-python                     "openai-python" (but not "openai-python strict"), "every SDK"
openai-python strict              "openai-python" (strict validation breaks wherever the lenient
                                  client does), "every SDK"
openai-node                       "openai-node", "every SDK"
strict SSE parsers                "strict SSE", "EventSource", "SSE parser"
browsers via CORS                 "browser", "CORS"
================================  ==================================================================

``not_run`` lists the client's own oracle requirements (capability ``sdk``) that were not judged (SKIP,
e.g. node missing, or ERROR), so "ready" can be told apart from "never tried".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

READY, LIMITED, BROKEN = "ready", "limited", "broken"
FAILED = ("FAIL", "TIMEOUT")
NOT_RUN = ("SKIP", "ERROR")

_OLDER_RELEASE = re.compile(r"openai-(python|node)\s*<\s*\d")


def _names(*markers: str, unless: tuple[str, ...] = ()) -> Callable[[str], bool]:
    def match(entry: str) -> bool:
        lowered = entry.lower()
        return any(m in lowered for m in markers) and not any(u in lowered for u in unless)

    return match


#: Client name → does a ``breaks`` entry name it. Order is the table's order.
CLIENTS: dict[str, Callable[[str], bool]] = {
    "openai-python": _names("openai-python", "every sdk", unless=("openai-python strict",)),
    "openai-python strict": _names("openai-python", "every sdk"),
    "openai-node": _names("openai-node", "every sdk"),
    "strict SSE parsers": _names("strict sse", "eventsource", "sse parser"),
    "browsers via CORS": _names("browser", "cors"),
}


def readiness(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{client: {"status": "ready"|"limited"|"broken", "failing": [ids], "not_run": [ids]}}``."""
    table: dict[str, dict[str, Any]] = {}
    rows = report.get("results") or []
    for client, names in CLIENTS.items():
        failing: list[str] = []
        not_run: list[str] = []
        broken = False
        for row in rows:
            entries = [entry for entry in row.get("breaks") or [] if names(entry)]
            if not entries:
                continue
            outcome = row.get("outcome")
            if outcome in FAILED:
                failing.append(row["id"])
                current = any(not _OLDER_RELEASE.search(entry.lower()) for entry in entries)
                broken = broken or (row.get("level") == "MUST" and current)
            elif outcome in NOT_RUN and row.get("capability") == "sdk":
                not_run.append(row["id"])
        status = BROKEN if broken else LIMITED if failing else READY
        table[client] = {"status": status, "failing": sorted(failing), "not_run": sorted(not_run)}
    return table
