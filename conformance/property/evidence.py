"""Findings and their evidence, redacted, and the small readers of schemathesis' cases and answers."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any, Final

from conformance.core.results import Evidence
from conformance.property.results import SCHEMA, STATUS, PropertyFailure, envelope_problem
from conformance.transport.exchange import Redactor

if TYPE_CHECKING:
    from schemathesis.core.transport import Response as StResponse
    from schemathesis.generation.case import Case

# Response headers shown in evidence (the rest is noise: date, server).
_SHOWN_HEADERS: Final = (
    "content-type",
    "content-length",
    "allow",
    "location",
    "retry-after",
    "retry-after-ms",
    "www-authenticate",
    "x-request-id",
)


def finding(
    redact: Redactor,
    auth: dict[str, str],
    klass: str,
    code: str,
    title: str,
    message: str,
    case: Case,
    response: StResponse | None = None,
) -> PropertyFailure:
    reproduce = ""
    with contextlib.suppress(Exception):
        reproduce = case.as_curl_command(headers=auth)
    return PropertyFailure(
        klass=klass,
        code=code,
        title=redact(title),
        message=redact(message),
        operation=case.operation.label,
        reproduce=redact(reproduce),
        evidence=response_evidence(redact, response) if response is not None else None,
    )


def interaction_evidence(redact: Redactor, interaction: Any) -> Evidence:
    request, response = interaction.request, interaction.response
    return _evidence(
        redact,
        method=request.method,
        url=request.uri,
        request_headers={k: ", ".join(v) for k, v in request.headers.items()},
        request_body=request.body,
        response=response,
    )


def response_evidence(redact: Redactor, response: StResponse) -> Evidence:
    request = response.request
    body = request.body.encode() if isinstance(request.body, str) else request.body
    return _evidence(
        redact,
        method=str(request.method),
        url=str(request.url),
        request_headers=dict(request.headers),
        request_body=body if isinstance(body, bytes) else None,
        response=response,
    )


def _evidence(
    redact: Redactor,
    *,
    method: str,
    url: str,
    request_headers: dict[str, str],
    request_body: bytes | None,
    response: StResponse | None,
) -> Evidence:
    shown = ("content-type", "accept", "openai-organization")
    headers = {k.lower(): redact(v) for k, v in request_headers.items() if k.lower() in shown}
    if any(k.lower() == "authorization" for k in request_headers):
        headers["authorization"] = "Bearer [REDACTED]"
    excerpt = None
    response_headers: dict[str, str] = {}
    if response is not None:
        content = response.content
        excerpt = redact(content[:2000].decode("utf-8", "replace")) + ("…" if len(content) > 2000 else "")
        response_headers = {
            k.lower(): redact(", ".join(v)) for k, v in response.headers.items() if k.lower() in _SHOWN_HEADERS
        }
    body = redact(request_body[:2000].decode("utf-8", "replace")) if request_body else None
    return Evidence(
        method=method,
        url=redact(url),
        status=response.status_code if response is not None else None,
        request_headers=headers,
        request_body=body,
        response_headers=response_headers,
        body_excerpt=excerpt,
        elapsed_s=round(response.elapsed, 4) if response is not None else None,
    )


# -- reading cases and answers ------------------------------------------------------------------------


def judged_elsewhere(klass: str, response: StResponse | None) -> bool:
    """One rule, one verdict: a 4xx body without the error envelope is the envelope class's finding,
    not also a schema violation; a 5xx is the 5xx classes' finding, not also an undocumented status."""
    if response is None:
        return False
    status = response.status_code
    if klass == SCHEMA and 400 <= status < 500:
        return envelope_problem(response.content) is not None
    return klass == STATUS and status >= 500


def case_body(case: Case) -> Any:
    """The case's body, or None when it has none (schemathesis' NotSet)."""
    from schemathesis.core import NotSet

    return None if isinstance(case.body, NotSet) else case.body


def case_mode(case: Case | None) -> str | None:
    meta = getattr(case, "meta", None)
    try:
        return "negative" if meta.generation.mode.is_negative else "positive"  # type: ignore[union-attr]
    except AttributeError:
        return None


def json_field(response: StResponse | None, name: str) -> str | None:
    if response is None or not 200 <= response.status_code < 300:
        return None
    try:
        value = json.loads(response.content).get(name)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


def first_id(response: StResponse | None) -> str | None:
    if response is None or not 200 <= response.status_code < 300:
        return None
    try:
        data = json.loads(response.content).get("data")
        return next(item["id"] for item in data if isinstance(item, dict) and isinstance(item.get("id"), str))
    except (ValueError, AttributeError, TypeError, StopIteration):
        return None


def caused_by(error: BaseException | None, kind: type[BaseException]) -> bool:
    for _ in range(10):
        if error is None:
            return False
        if isinstance(error, kind):
            return True
        error = error.__cause__ or error.__context__
    return False


def is_network_error(error: BaseException | None) -> bool:
    """No answer: a timeout, a refused or reset connection (the provider's silence, not our bug)."""
    import requests

    return caused_by(error, requests.RequestException)


def describe(event: Any) -> str:
    info = getattr(event, "info", None)
    if info is not None:
        return f"schemathesis: {getattr(info, 'title', '')}: {getattr(info, 'message', '')}"
    exception = getattr(event, "exception", None)
    return f"schemathesis: {type(exception).__name__}: {exception}"
