"""The support ticket (seed 003): the facts a provider's support needs, the failing request redacted and the key
masked."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

from conformance.transport.exchange import Exchange, Redactor

TICKET_BODY_CHARS = 2000  # the error body in the support ticket


@dataclass(frozen=True)
class FailedRequest:
    """The most relevant failing request, redacted, as a support ticket should quote it."""

    method: str
    url: str
    request_body: str | None
    status: int | None
    error_body: str
    request_id: str | None


@dataclass(frozen=True)
class SupportTicket:
    """The facts a provider's support needs (seed 003), never the full key."""

    tool: str
    openai_sdk: str
    python: str
    pasted_url: str
    base_url: str | None
    model: str | None
    time_utc: str
    api_key: str  # masked
    request: FailedRequest | None

    def lines(self) -> list[str]:
        rows = [
            ("tool", self.tool),
            ("openai SDK", self.openai_sdk),
            ("python", self.python),
            ("pasted URL", self.pasted_url),
            ("base URL", self.base_url or "none found"),
            ("model", self.model or "(none given)"),
            ("time (UTC)", self.time_utc),
            ("API key", self.api_key),
        ]
        if self.request is None:
            rows.append(("failing request", "none"))
        else:
            request = self.request
            rows.append(("request", f"{request.method} {request.url}"))
            if request.request_body:
                rows.append(("request body", request.request_body))
            rows.append(("status", str(request.status) if request.status is not None else "no HTTP answer"))
            if request.request_id:
                rows.append(("request id", request.request_id))
            rows.append(("response", request.error_body or "(empty body)"))
        return [f"{label + ':':<16}{value}" for label, value in rows]

    def text(self) -> str:
        return "\n".join(self.lines())


def mask_key(key: str | None) -> str:
    """At most the first 3 and last 4 characters (as the reference provider's ``mask_key``)."""
    if not key:
        return "not set"
    if len(key) < 12:
        return "***"
    return f"{key[:3]}{'*' * (len(key) - 7)}{key[-4:]}"


def failed_request(exchange: Exchange, redact: Redactor) -> FailedRequest:
    body = exchange.request_body.decode("utf-8", errors="replace") if exchange.request_body else None
    if exchange.ok:
        text = exchange.text.strip()
        error_body = redact(text[:TICKET_BODY_CHARS] + ("…" if len(text) > TICKET_BODY_CHARS else ""))
    else:
        error_body = redact(f"no HTTP answer ({exchange.error}: {exchange.error_detail})")
    return FailedRequest(
        method=exchange.method,
        url=redact(exchange.url),
        request_body=redact(body) if body else None,
        status=exchange.status,
        error_body=error_body,
        request_id=exchange.headers.get("x-request-id") or exchange.headers.get("request-id"),
    )


def sdk_version() -> str:
    try:
        return f"openai {metadata.version('openai')} (Python)"
    except metadata.PackageNotFoundError:
        return "not installed"
