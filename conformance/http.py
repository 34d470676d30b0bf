"""The one HTTP client every probe and check uses.

It joins paths to the base URL exactly as the official SDK does, sends the key only to the target's
own origin, never follows redirects (a redirect is recorded and judged by checks), caps body size
and stream duration, counts requests against a budget, and records every exchange so that a check
can show precisely what the provider sent. Secrets are redacted when evidence is produced.

Transport failures are recorded on the exchange (``error``), never raised: a provider that resets,
hangs or sends garbage is the provider's failure, judged by checks, not a crash of the run.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from conformance import __version__
from conformance.results import Evidence
from conformance.sse import DecodeResult, Event, SSEDecoder

if TYPE_CHECKING:
    from conformance.target import Target

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
    "www-authenticate",
    "x-request-id",
    "request-id",
    "openai-processing-ms",
    "openai-organization",
    "cache-control",
    "connection",
)
_EVIDENCE_REQUEST_HEADERS = ("authorization", "openai-organization", "content-type", "accept")


class BudgetExhausted(Exception):
    """The run's request budget is spent; the check that needed one more request is skipped."""


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

    def walk(self, value: Any) -> Any:
        """Redact every string inside a JSON-like value (dict keys too)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {self.walk(k): self.walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.walk(v) for v in value]
        return value


def join_url(base_url: str, path: str) -> str:
    """Join like openai-python's ``_prepare_url`` (copied from httpx ``_merge_url``).

    The base gets a trailing slash if it has none, and the relative path is appended without its
    leading slash: ``http://h/v1`` + ``/chat/completions`` → ``http://h/v1/chat/completions``. No
    ``/v1`` is ever added. Absolute URLs are returned unchanged.
    """
    if path.startswith(("http://", "https://")):
        return path
    base = base_url if base_url.endswith("/") else base_url + "/"
    return base + path.lstrip("/")


def origin(url: str) -> tuple[str, str, int]:
    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return (parsed.scheme, parsed.host, port)


@dataclass
class Exchange:
    """One request and what came back, as recorded. ``body`` is capped at the client's limit."""

    method: str
    url: str
    request_headers: dict[str, str]
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
        return json.loads(self.body.decode("utf-8"))

    def evidence(self, redact: Redactor, sse_lines: tuple[str, ...] = ()) -> Evidence:
        request_body = None
        if self.request_body is not None:
            request_body = redact(self.request_body[:EXCERPT_CHARS].decode("utf-8", errors="replace"))
        excerpt = (
            None if sse_lines else redact(self.text[:EXCERPT_CHARS]) + ("…" if len(self.text) > EXCERPT_CHARS else "")
        )
        error = f"{self.error}: {self.error_detail}" if self.error else None
        return Evidence(
            method=self.method,
            url=redact(self.url),
            status=self.status,
            request_headers={k: redact(v) for k, v in self.request_headers.items() if k in _EVIDENCE_REQUEST_HEADERS},
            request_body=request_body,
            response_headers={k: redact(v) for k, v in self.headers.items() if k in _EVIDENCE_RESPONSE_HEADERS},
            body_excerpt=excerpt,
            sse_lines=tuple(redact(line) for line in sse_lines),
            elapsed_s=round(self.elapsed_s, 4),
            error=redact(error) if error else None,
        )


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


@dataclass
class Usage:
    """What the run cost: requests sent and tokens the provider billed by its own usage fields."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


class HttpClient:
    """Sends requests to one target and records them. Thread-safe budget accounting."""

    def __init__(self, target: Target, *, transport: httpx.BaseTransport | None = None) -> None:
        self.target = target
        self.redact = Redactor([target.api_key] if target.api_key else [])
        self.usage = Usage()
        self._lock = threading.Lock()
        self._origin = origin(target.base_url)
        self._client = httpx.Client(
            timeout=httpx.Timeout(target.timeout, connect=min(target.timeout, target.connect_timeout)),
            follow_redirects=False,
            verify=target.verify_tls,
            transport=transport,
            # The provider's own env proxies are honoured like the SDK does; no cookies kept between checks.
            trust_env=True,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- request building ------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return join_url(self.target.base_url, path)

    def headers(
        self, *, auth: bool | str = True, extra: dict[str, str] | None = None, json_body: bool = False
    ) -> dict[str, str]:
        # The same defaults as openai-python: JSON accept even for streams (servers must not require
        # "Accept: text/event-stream" to stream).
        headers = {"accept": "application/json", "user-agent": f"oai-conformance/{__version__}"}
        if json_body:
            headers["content-type"] = "application/json"
        key = auth if isinstance(auth, str) else (self.target.api_key if auth else None)
        if key:
            headers["authorization"] = f"Bearer {key}"
        if self.target.organization:
            headers["openai-organization"] = self.target.organization
        headers.update({k.lower(): v for k, v in (extra or {}).items()})
        return headers

    def _charge(self) -> None:
        with self._lock:
            if self.usage.requests >= self.target.max_requests:
                raise BudgetExhausted(
                    f"request budget of {self.target.max_requests} spent (raise it with --max-requests)"
                )
            self.usage.requests += 1

    def _account(self, payload: Any) -> None:
        usage = payload.get("usage") if isinstance(payload, dict) else None
        if not isinstance(usage, dict):
            return
        with self._lock:
            for key in ("prompt_tokens", "completion_tokens"):
                value = usage.get(key)
                if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                    setattr(self.usage, key, getattr(self.usage, key) + value)

    def _prepare(
        self,
        method: str,
        path: str,
        *,
        json_body: Any,
        content: bytes | None,
        auth: bool | str,
        headers: dict[str, str] | None,
    ) -> tuple[str, dict[str, str], bytes | None]:
        url = self.url(path)
        body = content
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode()
        sent_headers = self.headers(auth=auth, extra=headers, json_body=json_body is not None)
        if origin(url) != self._origin:
            # Credentials never travel to a host other than the target's.
            sent_headers.pop("authorization", None)
        return url, sent_headers, body

    # -- sending -----------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        auth: bool | str = True,
        headers: dict[str, str] | None = None,
    ) -> Exchange:
        """Send one request and read the whole (capped) body."""
        self._charge()
        url, sent_headers, body = self._prepare(
            method, path, json_body=json_body, content=content, auth=auth, headers=headers
        )
        exchange = Exchange(method=method, url=url, request_headers=sent_headers, request_body=body)
        self._read(exchange, stream=False)
        if exchange.ok and exchange.media_type.endswith("json"):
            with contextlib.suppress(ValueError):
                self._account(exchange.json())
        return exchange

    def stream(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        auth: bool | str = True,
        headers: dict[str, str] | None = None,
    ) -> StreamExchange:
        """Send a request whose answer should be an event stream; decode it while it arrives."""
        self._charge()
        url, sent_headers, body = self._prepare(
            method, path, json_body=json_body, content=None, auth=auth, headers=headers
        )
        exchange = StreamExchange(method=method, url=url, request_headers=sent_headers, request_body=body)
        self._read(exchange, stream=True)
        for event in exchange.events:
            if event.data.startswith("{"):
                with contextlib.suppress(ValueError):
                    self._account(json.loads(event.data))
        return exchange

    def _read(self, exchange: Exchange, *, stream: bool) -> None:
        self._read_once(exchange, stream=stream)
        if exchange.status is None and exchange.error in ("reset", "protocol"):
            # A keep-alive connection the server closed between two requests fails before any byte of
            # the answer arrives; like the official SDK, send once more on a fresh connection. A
            # provider that resets every request still fails, with both attempts on record.
            first = f"{exchange.error}: {exchange.error_detail}"
            exchange.error, exchange.error_detail, exchange.chunks = None, "", []
            self._read_once(exchange, stream=stream)
            exchange.retried = first

    def _read_once(self, exchange: Exchange, *, stream: bool) -> None:
        target = self.target
        decoder = SSEDecoder() if stream else None
        limit_bytes = target.max_stream_bytes if stream else target.max_body_bytes
        limit_s = target.max_stream_seconds if stream else target.timeout
        start = time.monotonic()
        received = bytearray()
        try:
            request = self._client.build_request(
                exchange.method, exchange.url, headers=exchange.request_headers, content=exchange.request_body
            )
            response = self._client.send(request, stream=True)
            try:
                exchange.status = response.status_code
                exchange.reason = response.reason_phrase
                exchange.headers = {k.lower(): v for k, v in response.headers.multi_items()}
                for chunk in response.iter_bytes():
                    now = time.monotonic() - start
                    exchange.chunks.append((now, len(chunk)))
                    room = limit_bytes - len(received)
                    received += chunk[:room]
                    if decoder is not None:
                        decoder.feed(chunk[:room], at=now)
                    if len(chunk) > room:
                        exchange.truncated = True
                        self._cut(exchange, "bytes" if stream else "too-large", f"body exceeds {limit_bytes} bytes")
                        break
                    if decoder is not None and len(decoder.events) >= target.max_stream_events:
                        self._cut(exchange, "events", f"more than {target.max_stream_events} events")
                        break
                    if now > limit_s:
                        self._cut(exchange, "duration", f"still sending after {limit_s:g} s")
                        break
                else:
                    if isinstance(exchange, StreamExchange):
                        exchange.eof_s = time.monotonic() - start
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            exchange.error, exchange.error_detail = (
                "timeout",
                f"{type(exc).__name__} after {time.monotonic() - start:.1f} s",
            )
        except httpx.ConnectError as exc:
            exchange.error, exchange.error_detail = "connect", self.redact(str(exc)) or type(exc).__name__
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError, httpx.DecodingError) as exc:
            kind = "reset" if isinstance(exc, httpx.ReadError | httpx.WriteError) else "protocol"
            exchange.error, exchange.error_detail = kind, self.redact(str(exc)) or type(exc).__name__
        except httpx.HTTPError as exc:
            exchange.error, exchange.error_detail = "protocol", self.redact(str(exc)) or type(exc).__name__
        exchange.body = bytes(received)
        exchange.elapsed_s = time.monotonic() - start
        if decoder is not None and isinstance(exchange, StreamExchange):
            if exchange.cut_short is None:
                decoder.close(at=exchange.elapsed_s)
            exchange.decoded = DecodeResult(
                events=tuple(decoder.events), notices=tuple(decoder.notices), lines=tuple(decoder.lines)
            )

    @staticmethod
    def _cut(exchange: Exchange, kind: str, detail: str) -> None:
        if isinstance(exchange, StreamExchange):
            exchange.cut_short = kind
            if kind == "duration":
                exchange.error, exchange.error_detail = "duration", detail
        else:
            exchange.error, exchange.error_detail = kind, detail
