"""Which recorded requests a replay sends, and each one rebuilt exactly as it was sent (pure: no I/O but
reading a body stored beside the report).

Same method, the same path and query on the target the user gives, the same body bytes, the same
headers, and the same kind of credentials: the user's key for ``valid``, the suite's fixed wrong key for
``wrong``, no ``Authorization`` for ``none``, the recorded value for ``other``. A request that cannot be
sent as it was (a body a 1.1 report cut, a secret header the user did not give) is not sent: a replay
that changed the request could not say whether the answer reproduces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from conformance.report.bodies import BodyUnavailable, evidence_items, read_body
from conformance.report.view import PROBLEMS, Report
from conformance.transport.auth import WRONG_KEY, AuthKind
from conformance.transport.exchange import EXCERPT_CHARS, REDACTED
from conformance.transport.policy import asks_stream
from conformance.transport.urls import origin

# Set by the HTTP stack for the URL and body it sends (the old host would be wrong on another target).
_RECOMPUTED: Final = frozenset({"host", "content-length", "transfer-encoding"})


class NotReplayable(Exception):
    """The recorded request cannot be sent again as it was; the message says why."""


@dataclass(frozen=True)
class Recorded:
    """One recorded request of a report, and every requirement whose evidence it is."""

    requirements: tuple[str, ...]
    evidence: dict[str, Any]


@dataclass(frozen=True)
class Replay:
    """A recorded request, rebuilt for the target: what is sent (never shown: it may carry the key)."""

    method: str
    url: str
    headers: dict[str, str] = field(repr=False)
    body: bytes | None = field(repr=False)
    auth: AuthKind
    stream: bool
    notes: tuple[str, ...] = ()


def recorded(report: Report, only: set[str] | None = None) -> list[Recorded]:
    """The evidence of every check that did not pass (FAIL, TIMEOUT, ERROR), each request once."""
    found: dict[str, tuple[list[str], dict[str, Any]]] = {}
    for row, check, item in evidence_items(report):
        if check.get("outcome") not in PROBLEMS or (only is not None and row["id"] not in only):
            continue
        if not item.get("method") or not item.get("url"):
            continue
        sent = {k: item.get(k) for k in ("method", "url", "auth", "request_headers", "request_body")}
        sent["file"] = item.get("request_body_file") or item.get("request_body_base64")
        key = json.dumps(sent, sort_keys=True)
        requirements, _ = found.setdefault(key, ([], item))
        if row["id"] not in requirements:
            requirements.append(row["id"])
    return [Recorded(tuple(ids), item) for ids, item in found.values()]


def recorded_auth(item: dict[str, Any]) -> tuple[AuthKind, str | None]:
    """The auth kind the request carried; inferred from its Authorization in a report older than 1.2."""
    if item.get("auth"):
        return AuthKind(item["auth"]), None
    value = {k.lower(): v for k, v in (item.get("request_headers") or {}).items()}.get("authorization")
    if value is None:
        return AuthKind.NONE, None
    if value == f"Bearer {WRONG_KEY}":
        return AuthKind.WRONG, None
    if value == f"Bearer {REDACTED}":
        # A 1.1 report showed the property run's wrong-key probes like this too.
        return AuthKind.VALID, "auth inferred: a report before schema 1.2 does not record it"
    return AuthKind.OTHER, None


def target_url(url: str, recorded_base: str, base_url: str) -> str:
    """The recorded URL on the user's target: the part under the recorded base URL goes under the new one;
    a URL outside it keeps its path and query, on the new target's origin."""
    old = recorded_base.rstrip("/")
    if url == old or url.startswith((old + "/", old + "?")):
        return base_url.rstrip("/") + url[len(old) :]
    scheme, host, port = origin(base_url)
    rest = url.split("://", 1)[-1]
    path = rest[rest.find("/") :] if "/" in rest else "/"
    return f"{scheme}://{host}:{port}{path}"


def rebuild(
    item: dict[str, Any],
    *,
    recorded_base: str,
    base_url: str,
    api_key: str | None,
    headers: dict[str, str],
    report_dir: Path,
    schema: str,
) -> Replay:
    """The request to send again (NotReplayable when it cannot be sent as it was)."""
    notes: list[str] = []
    auth, inferred = recorded_auth(item)
    if inferred:
        notes.append(inferred)
    try:
        body = read_body(item, report_dir)
    except BodyUnavailable as exc:
        raise NotReplayable(str(exc)) from None
    text = item.get("request_body")
    if schema in ("1.0", "1.1") and text is not None and len(text) >= EXCERPT_CHARS:
        raise NotReplayable(f"the body may have been cut at {EXCERPT_CHARS} characters (report schema {schema})")
    if item.get("request_body_redacted"):
        notes.append(f"the body carried a secret; it is sent with {REDACTED} in its place")
    url = target_url(item["url"], recorded_base, base_url)
    if REDACTED in url:
        url = url.replace(REDACTED, _key(api_key, "its URL carried the key"))
    sent: dict[str, str] = {}
    for name, value in (item.get("request_headers") or {}).items():
        name = name.lower()
        if name in _RECOMPUTED or name == "authorization":
            continue
        if REDACTED in value:
            if name not in headers:
                raise NotReplayable(f"the secret header {name} was redacted: give it with --secret-header")
            value = headers[name]
        sent[name] = value
    authorization = _authorization(auth, item, api_key)
    if authorization is not None:
        sent["authorization"] = authorization
    stream = bool(item.get("sse_lines")) or (body is not None and asks_stream(body))
    return Replay(item["method"], url, sent, body, auth, stream, tuple(notes))


def _authorization(auth: AuthKind, item: dict[str, Any], api_key: str | None) -> str | None:
    if auth is AuthKind.NONE:
        return None
    if auth is AuthKind.WRONG:
        return f"Bearer {WRONG_KEY}"
    if auth is AuthKind.VALID:
        return f"Bearer {_key(api_key, 'it carried the key')}"
    value = {k.lower(): v for k, v in (item.get("request_headers") or {}).items()}.get("authorization")
    if value is None:
        raise NotReplayable("its Authorization was not recorded")
    return value.replace(REDACTED, _key(api_key, "its Authorization carried the key")) if REDACTED in value else value


def _key(api_key: str | None, why: str) -> str:
    if not api_key:
        raise NotReplayable(f"{why}: give --api-key (or OPENAI_API_KEY)")
    return api_key
