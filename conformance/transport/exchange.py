"""What was sent and what came back, as recorded: :class:`Exchange`, :class:`StreamExchange`, the evidence
a check shows from them, and the :class:`Redactor` that keeps the key out of every output."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from conformance.core.results import Evidence
from conformance.transport.sse import DecodeResult, Event

REDACTED = "[REDACTED]"
EXCERPT_CHARS = 2000
SSE_EVIDENCE_LINES = 60
_EVIDENCE_RESPONSE_HEADERS = (
    "content-type",
    "content-length",
    "transfer-encoding",
    "location",
    "allow",
    "retry-after",
    "retry-after-ms",
    "www-authenticate",
    "x-request-id",
    "request-id",
    "openai-processing-ms",
    "openai-organization",
    "cache-control",
    "connection",
)


class Redactor:
    """Replaces every configured secret (and its bearer form) in text with ``[REDACTED]``."""

    def __init__(self, secrets: list[str] | tuple[str, ...] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = tuple(sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def bytes(self, data: bytes) -> bytes:
        """Redact every secret's UTF-8 bytes in ``data`` (a body need not be text)."""
        for secret in self.secrets:
            data = data.replace(secret.encode("utf-8"), REDACTED.encode())
        return data

    def walk(self, value: Any) -> Any:
        """Redact every string inside a JSON-like value (dict keys too)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {self.walk(k): self.walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.walk(v) for v in value]
        return value


# The loggers of the HTTP stack: at DEBUG, httpcore logs every response's headers, which a provider may
# fill with the key it received.
HTTP_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


class RedactingFilter(logging.Filter):
    """Redacts the secrets from every record of the HTTP stack's loggers before any handler sees it."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record is logging's to report, not ours to raise
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def request_fields(redact: Redactor, headers: Iterable[tuple[str, str]], body: bytes | None) -> dict[str, Any]:
    """The whole request as evidence keeps it: every header and the full body, redacted of the secrets.

    Never cut: a replay must send the same bytes (a body cut at 2,000 characters turned a recorded 500
    into a 400 parse error). A body that is not UTF-8 is kept in base64; a body that carried a secret says
    so, since its bytes were changed.
    """
    fields: dict[str, Any] = {
        "request_headers": {name.lower(): redact(value) for name, value in headers},
        "request_body": None,
        "request_body_bytes": None if body is None else len(body),
    }
    if body is None:
        return fields
    # Redacted as bytes, before decoding: a key must not survive in a body that is not text.
    shown = redact.bytes(body)
    fields["request_body_redacted"] = shown != body
    try:
        fields["request_body"] = shown.decode("utf-8")
    except UnicodeDecodeError:
        fields["request_body_base64"] = base64.b64encode(shown).decode("ascii")
    return fields


def loads(text: str) -> Any:
    """``json.loads`` for a provider's text: a document nested deeper than the interpreter's recursion limit
    (``[[[[…``, a "JSON bomb") is not JSON we can read -- a ValueError like any other, never a crash."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply to read") from None


@dataclass
class Exchange:
    """One request and what came back, as recorded. ``body`` is capped at the client's limit."""

    method: str
    url: str
    request_headers: dict[str, str] = field(repr=False)  # carries the key; shown redacted by evidence()
    request_body: bytes | None
    status: int | None = None
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False
    elapsed_s: float = 0.0
    error: str | None = None  # "timeout", "connect", "reset", "protocol", "too-large", "duration"
    error_detail: str = ""
    chunks: list[tuple[float, int]] = field(default_factory=list)  # (seconds since request start, size)
    retried: str | None = None  # why the request was sent a second time (a stale connection), if it was
    # Earlier answers to the same request that were retried (429/503), e.g. "429, waited 1 s (Retry-After)".
    attempts: list[str] = field(default_factory=list)
    not_sent: bool = False  # the circuit breaker answered for the provider: nothing went on the wire
    auth: str | None = None  # the AuthKind the request carried, set by the policy where it is sent

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def media_type(self) -> str:
        return self.content_type.split(";", 1)[0].strip().lower()

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The parsed body; raises ``ValueError`` when it is not JSON (checks turn that into a Violation)."""
        return loads(self.body.decode("utf-8"))

    def evidence(self, redact: Redactor, sse_lines: tuple[str, ...] = ()) -> Evidence:
        # The request whole (a replay sends it again); the answer as an excerpt that says how long it was.
        excerpt = None if sse_lines else _excerpt(redact(self.text))
        error = f"{self.error}: {self.error_detail}" if self.error else None
        return Evidence(
            method=self.method,
            url=redact(self.url),
            status=self.status,
            **request_fields(redact, self.request_headers.items(), self.request_body),
            response_headers={k: redact(v) for k, v in self.headers.items() if k in _EVIDENCE_RESPONSE_HEADERS},
            body_excerpt=excerpt,
            sse_lines=tuple(_excerpt(redact(line)) for line in sse_lines),
            elapsed_s=round(self.elapsed_s, 4),
            error=redact(error) if error else None,
            auth=self.auth,
            body_bytes=len(self.body) if self.status is not None else None,
            body_truncated=self.truncated,
        )


def _excerpt(text: str) -> str:
    """The first EXCERPT_CHARS characters, with "…" when there was more (redact first: a key straddling the
    cut must not leave its prefix)."""
    return text[:EXCERPT_CHARS] + "…" if len(text) > EXCERPT_CHARS else text


@dataclass
class StreamExchange(Exchange):
    """A streamed exchange: the raw bytes with arrival times, and the decoded SSE events."""

    decoded: DecodeResult | None = None
    cut_short: str | None = None  # "duration", "events" or "bytes" when our cap stopped reading
    eof_s: float | None = None  # when the provider closed the body, seconds since request start

    @property
    def events(self) -> tuple[Event, ...]:
        return self.decoded.events if self.decoded else ()

    def evidence(self, redact: Redactor, sse_lines: tuple[str, ...] = ()) -> Evidence:
        if not sse_lines and self.decoded is not None and self.decoded.lines:
            lines = [line.text for line in self.decoded.lines]
            if len(lines) > SSE_EVIDENCE_LINES:
                lines = [
                    *lines[: SSE_EVIDENCE_LINES - 10],
                    f"… {len(lines) - SSE_EVIDENCE_LINES} lines …",
                    *lines[-10:],
                ]
            sse_lines = tuple(lines)
        return super().evidence(redact, sse_lines)


def reset(exchange: Exchange) -> None:
    """Forget what an earlier attempt of the same request received."""
    exchange.status, exchange.reason, exchange.headers = None, "", {}
    exchange.body, exchange.truncated, exchange.error, exchange.error_detail = b"", False, None, ""
    exchange.chunks = []
    if isinstance(exchange, StreamExchange):
        exchange.decoded, exchange.cut_short, exchange.eof_s = None, None, None
