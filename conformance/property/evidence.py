"""Findings and their evidence, redacted, and the small readers of schemathesis' cases and answers."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any, Final

from conformance.core.results import Evidence
from conformance.property.results import SCHEMA, STATUS, PropertyFailure, envelope_problem
from conformance.property.spec import event_problem
from conformance.transport.auth import auth_kind
from conformance.transport.exchange import EXCERPT_CHARS, request_fields

if TYPE_CHECKING:
    from schemathesis.core.transport import Response as StResponse
    from schemathesis.generation.case import Case

    from conformance.transport.exchange import Redactor

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
    api_key: str | None,
    klass: str,
    code: str,
    title: str,
    message: str,
    case: Case,
    response: StResponse | None = None,
) -> PropertyFailure:
    # The reproducer carries the credentials the request really had (a wrong key, or none), not the key's.
    if response is not None:
        auth = {k: v for k, v in response.request.headers.items() if k.lower() == "authorization"}
    else:
        auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    reproduce = ""
    with contextlib.suppress(Exception):
        reproduce = case.as_curl_command(headers=auth)
    message = with_event_problem(message, response)
    return PropertyFailure(
        klass=klass,
        code=code,
        title=redact(title),
        message=redact(message),
        operation=case.operation.label,
        reproduce=redact(reproduce),
        evidence=response_evidence(redact, api_key, response) if response is not None else None,
    )


def with_event_problem(message: str, response: StResponse | None) -> str:
    """``message``, and for an SSE event schemathesis found invalid without saying why, why (spec.event_problem)."""
    why = event_problem(message, response.content) if response is not None else None
    return f"{message}\n\nThe event's payload: {why}" if why else message


def interaction_evidence(redact: Redactor, api_key: str | None, interaction: Any) -> Evidence:
    request, response = interaction.request, interaction.response
    return _evidence(
        redact,
        api_key,
        method=request.method,
        url=request.uri,
        request_headers=[(k, value) for k, values in request.headers.items() for value in values],
        request_body=request.body,
        response=response,
    )


def response_evidence(redact: Redactor, api_key: str | None, response: StResponse) -> Evidence:
    request = response.request
    body = request.body.encode() if isinstance(request.body, str) else request.body
    return _evidence(
        redact,
        api_key,
        method=str(request.method),
        url=str(request.url),
        request_headers=list(request.headers.items()),
        request_body=body if isinstance(body, bytes) else None,
        response=response,
    )


def _evidence(
    redact: Redactor,
    api_key: str | None,
    *,
    method: str,
    url: str,
    request_headers: list[tuple[str, str]],
    request_body: bytes | None,
    response: StResponse | None,
) -> Evidence:
    """The request whole, as it went through the policy (its headers, full body and auth kind, redacted),
    and an excerpt of the answer that says how long it was. (Built in the property run's worker
    processes too, where there is no policy: the redactor and the key are enough.)"""
    excerpt = None
    response_headers: dict[str, str] = {}
    size = None
    if response is not None:
        content = response.content
        size = len(content)
        text = content.decode("utf-8", "replace")
        excerpt = redact(text)[:EXCERPT_CHARS] + ("…" if len(text) > EXCERPT_CHARS else "")
        response_headers = {
            k.lower(): redact(", ".join(v)) for k, v in response.headers.items() if k.lower() in _SHOWN_HEADERS
        }
    return Evidence(
        method=method,
        url=redact(url),
        status=response.status_code if response is not None else None,
        **request_fields(redact, request_headers, request_body or None),
        response_headers=response_headers,
        body_excerpt=excerpt,
        elapsed_s=round(response.elapsed, 4) if response is not None else None,
        auth=auth_kind(request_headers, api_key),
        body_bytes=size,
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
