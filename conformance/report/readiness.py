"""Client readiness: for each kind of client, does it work with this provider? A pure function of report.json.

Every requirement says in ``breaks`` which clients break when it fails, one ``{client, how, shown_by}``
entry per client. A client is

* **broken** when a failing (FAIL or TIMEOUT) MUST requirement names it as the ``client`` of an entry,
* **limited** ("ready with limitations") when only failing SHOULD or MAY requirements name it, or the
  only MUST ones name an *older release* of it (``openai-python < 1.66``, ``openai-python 0.x``),
* **ready** otherwise.

An entry names a row's client when its ``client`` field, without a release qualifier, is one of the
row's names (case-insensitively, the whole field):

================================  ==================================================================
row                               ``client`` values
================================  ==================================================================
openai-python                     openai-python
openai-python strict              openai-python strict, openai-python (strict validation breaks
                                  wherever the lenient client does)
openai-node                       openai-node
strict SSE parsers                strict SSE parsers, EventSource
browsers via CORS                 browsers
Responses API agents              Responses API agents (Codex, the Agents SDK: agents built on
                                  POST /responses and its stream events, and those that run long
                                  turns as background responses, polled and cancelled)
================================  ==================================================================

A saved report of schema 1.0 has free-text strings in ``breaks``; those are still matched the old way,
by the markers they contain ("openai-python", "every SDK", "EventSource", "browser", …).

``not_run`` lists the client's own oracle requirements (capability ``sdk``) that were not judged (SKIP,
e.g. node missing, or ERROR), so "ready" can be told apart from "never tried".
"""

from __future__ import annotations

import re
from typing import Any

READY, LIMITED, BROKEN = "ready", "limited", "broken"
FAILED = ("FAIL", "TIMEOUT")
NOT_RUN = ("SKIP", "ERROR")

#: ``openai-python < 1.66``, ``openai-node 3.x``, ``openai-python 0.x``: an older release of the client.
_RELEASE = re.compile(r"^(?P<name>.+?)\s*(?:<\s*\d[\w.]*|\d+\.x|\d+\.\d+(?:\.\d+)?)$")

#: Row → the ``client`` values that name it. Order is the table's order.
CLIENTS: dict[str, tuple[str, ...]] = {
    "openai-python": ("openai-python",),
    "openai-python strict": ("openai-python strict", "openai-python"),
    "openai-node": ("openai-node",),
    "strict SSE parsers": ("strict sse parsers", "eventsource"),
    "browsers via CORS": ("browsers", "browsers via cors"),
    "Responses API agents": ("responses api agents",),
}

#: Schema 1.0 reports: markers a free-text entry contains, and what it must not contain.
_LEGACY: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "openai-python": (("openai-python", "every sdk"), ("openai-python strict",)),
    "openai-python strict": (("openai-python", "every sdk"), ()),
    "openai-node": (("openai-node", "every sdk"), ()),
    "strict SSE parsers": (("strict sse", "eventsource", "sse parser"), ()),
    "browsers via CORS": (("browser", "cors"), ()),
    "Responses API agents": (("responses api agent",), ()),
}
_LEGACY_OLDER = re.compile(r"openai-(python|node)\s*<\s*\d")


def _client(entry: dict[str, Any]) -> tuple[str, bool]:
    """(the client's name, lower case, without a release qualifier; whether a release qualifier was given)."""
    client = " ".join(str(entry.get("client") or "").lower().split())
    found = _RELEASE.match(client)
    return (found["name"], True) if found else (client, False)


def _named(row_client: str, entry: Any) -> tuple[bool, bool]:
    """(does the entry name the row's client, is it only an older release of it)."""
    if isinstance(entry, dict):
        name, older = _client(entry)
        return name in CLIENTS[row_client], older
    text = str(entry).lower()
    markers, unless = _LEGACY[row_client]
    named = any(m in text for m in markers) and not any(u in text for u in unless)
    return named, bool(_LEGACY_OLDER.search(text))


def readiness(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{client: {"status": "ready"|"limited"|"broken", "failing": [ids], "not_run": [ids]}}``."""
    table: dict[str, dict[str, Any]] = {}
    rows = report.get("results") or []
    for client in CLIENTS:
        failing: list[str] = []
        not_run: list[str] = []
        broken = False
        for row in rows:
            matches = [_named(client, entry) for entry in row.get("breaks") or []]
            matches = [m for m in matches if m[0]]
            if not matches:
                continue
            outcome = row.get("outcome")
            if outcome in FAILED:
                failing.append(row["id"])
                current = any(not older for _, older in matches)
                broken = broken or (row.get("level") == "MUST" and current)
            elif outcome in NOT_RUN and row.get("capability") == "sdk":
                not_run.append(row["id"])
        status = BROKEN if broken else LIMITED if failing else READY
        table[client] = {"status": status, "failing": sorted(failing), "not_run": sorted(not_run)}
    return table
