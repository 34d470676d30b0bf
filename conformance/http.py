"""The one HTTP client every probe and check uses.

It joins paths to the base URL exactly as the official SDK does, sends the key only to the target's
own origin, never follows redirects (a redirect is recorded and judged by checks), caps body size
and stream duration, counts requests against a budget, and records every exchange so that a check
can show precisely what the provider sent. Secrets are redacted when evidence is produced.

Transport failures are recorded on the exchange (``error``), never raised: a provider that resets,
hangs or sends garbage is the provider's failure, judged by checks, not a crash of the run.

Hostile providers cost bounded time and memory:

* every request has a hard deadline (connect, headers and body together), enforced inside each socket
  read, so a provider that trickles a byte at a time cannot stretch a read timeout forever (httpx's
  timeouts are per operation, encode/httpx#1450); a stream is bounded by duration, events and bytes;
* bodies are cut at a byte cap while they arrive, never buffered whole;
* a per-endpoint circuit breaker stops sending to an endpoint after a few unanswered requests, and a
  run-wide one stops sending altogether, so a dead provider costs a few timeouts, not one per check;
* 429 and 503 answers are retried a bounded number of times, honouring ``Retry-After`` (and
  openai-python's ``retry-after-ms``) up to a maximum wait, else with exponential backoff;
* a request budget, a token budget (by the provider's own ``usage``), an optional run deadline and a
  concurrency limit bound the cost; refused requests raise :class:`BudgetExhausted` (a SKIP).
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

from conformance import __version__
from conformance.core.results import Evidence
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
    "retry-after-ms",
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
    """The run's request or token budget (or its time) is spent; the check that needed a request is skipped."""


# -- a hard deadline inside every socket operation ---------------------------------------------------
# httpcore passes each read its own timeout; these wrappers shorten it to what is left of the request's
# deadline (set per thread by HttpClient, which does its I/O on the calling thread).

_DEADLINE = threading.local()


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    deadline: float | None = getattr(_DEADLINE, "at", None)
    if deadline is None:
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise error("the time limit of the request is spent")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_tcp(host, port, bounded, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _install_deadlines(client: httpx.Client) -> int:
    """Put the deadline wrapper under every connection pool of ``client``; returns how many it wrapped.

    httpx exposes no network-backend option, so this reaches for the pool's backend attribute; a test
    (a server that sends its status line a byte at a time) fails loudly if a new httpx moves it.
    """
    wrapped = 0
    for transport in (client._transport, *client._mounts.values()):
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]
            wrapped += 1
    return wrapped


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


# The loggers of the HTTP stack: at DEBUG, httpcore logs every response's headers, which a provider may
# fill with the key it received.
_HTTP_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


class _RedactingFilter(logging.Filter):
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


def loads(text: str) -> Any:
    """``json.loads`` for a provider's text: a document nested deeper than the interpreter's recursion limit
    (``[[[[…``, a "JSON bomb") is not JSON we can read -- a ValueError like any other, never a crash."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply to read") from None


def join_url(base_url: str, path: str) -> str:
    """Join like openai-python's ``_prepare_url`` (copied from httpx ``_merge_url``).

    The base gets a trailing slash if it has none, and the relative path is appended without its
    leading slash: ``http://h/v1`` + ``/chat/completions`` → ``http://h/v1/chat/completions``. No
    ``/v1`` is ever added. Absolute URLs are returned unchanged.
    """
    if path[:8].lower().startswith(("http://", "https://")):  # schemes are case-insensitive
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
        request_body = None
        if self.request_body is not None:
            # Redact before cutting: a key straddling the cut would otherwise leave its prefix in clear.
            request_body = redact(self.request_body.decode("utf-8", errors="replace"))[:EXCERPT_CHARS]
        excerpt = (
            None if sse_lines else redact(self.text)[:EXCERPT_CHARS] + ("…" if len(self.text) > EXCERPT_CHARS else "")
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
    """What the run cost: requests sent and tokens the provider billed by its own usage fields; plus how
    often the politeness machinery acted (retries after 429/503, breakers opened, requests not sent)."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    breaker_trips: int = 0
    not_sent: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "retries": self.retries,
            "breaker_trips": self.breaker_trips,
            "not_sent": self.not_sent,
        }


# What the breaker counts as "no answer": the errors that cost a full time limit each.
_UNANSWERED = ("timeout", "duration")
RETRY_STATUSES = (429, 503)
_INITIAL_BACKOFF_S = 0.5  # openai-python's INITIAL_RETRY_DELAY


def endpoint_key(method: str, url: str, base_url: str) -> str:
    """The endpoint a request goes to, as the breaker groups them: ``POST chat/completions``, ``GET models/{id}``."""
    path = url.split("?", 1)[0]
    base = base_url.rstrip("/") + "/"
    path = path[len(base) :] if path.startswith(base) else httpx.URL(path).path.lstrip("/")
    if path.startswith("models/"):
        path = "models/{id}"
    return f"{method.upper()} {path}"


class CircuitBreaker:
    """Opens an endpoint after ``threshold`` consecutive unanswered requests to it (after one, once two
    endpoints have opened), and every endpoint after ``2 × threshold`` consecutive unanswered requests
    anywhere; an answer closes the count again.

    Open stays open for the run: a run is minutes long, and a provider that went silent twice in a row
    is reported TIMEOUT for the rest rather than costing one full time limit per check.
    """

    ANYWHERE = "*"

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self._misses: dict[str, int] = {}
        self._open: dict[str, str] = {}
        self.trips = 0

    def blocked(self, key: str) -> str | None:
        return self._open.get(key) or self._open.get(self.ANYWHERE)

    def record(self, key: str, *, answered: bool) -> None:
        if answered:
            self._misses.pop(key, None)
            self._misses.pop(self.ANYWHERE, None)
            return
        # Once two endpoints went silent, the provider has shown its pattern: the others open at their first miss.
        threshold = 1 if self.trips >= 2 else self.threshold
        for scope, limit in ((key, threshold), (self.ANYWHERE, 2 * self.threshold)):
            self._misses[scope] = self._misses.get(scope, 0) + 1
            if self._misses[scope] >= limit and scope not in self._open:
                where = key if scope == key else "every endpoint"
                self._open[scope] = f"{where}: {self._misses[scope]} consecutive requests got no answer in time"
                self.trips += 1


def retry_after(headers: dict[str, str]) -> tuple[float, str] | None:
    """The wait a 429/503 asks for, and the header that said so: ``retry-after-ms`` (openai-python reads it
    first), else ``Retry-After`` in seconds or as an HTTP date; None when absent or unreadable."""
    with contextlib.suppress(ValueError):
        if "retry-after-ms" in headers:
            return max(float(headers["retry-after-ms"]) / 1000, 0.0), "retry-after-ms"
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    with contextlib.suppress(ValueError):
        return max(float(value), 0.0), "Retry-After"
    with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
        when = email.utils.parsedate_to_datetime(value)
        return max(when.timestamp() - time.time(), 0.0), "Retry-After (date)"
    return None


class HttpClient:
    """Sends requests to one target and records them. Thread-safe budget accounting."""

    def __init__(self, target: Target, *, transport: httpx.BaseTransport | None = None) -> None:
        self.target = target
        self.redact = Redactor(list(target.secrets))
        self.usage = Usage()
        self.breaker = CircuitBreaker(target.breaker_threshold)
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(target.concurrency)
        self._origin = origin(target.base_url)
        self.run_deadline = None if target.max_run_seconds is None else time.monotonic() + target.max_run_seconds
        read = target.read_timeout if target.read_timeout is not None else target.timeout
        self._client = httpx.Client(
            timeout=httpx.Timeout(read, connect=min(target.timeout, target.connect_timeout)),
            follow_redirects=False,
            verify=target.verify_tls,
            transport=transport,
            limits=httpx.Limits(max_connections=target.concurrency, max_keepalive_connections=target.concurrency),
            # The provider's own env proxies are honoured like the SDK does; no cookies kept between checks.
            trust_env=True,
        )
        _install_deadlines(self._client)
        self._log_filter = _RedactingFilter(self.redact)
        if self.redact.secrets:
            for name in _HTTP_LOGGERS:
                logging.getLogger(name).addFilter(self._log_filter)

    def close(self) -> None:
        self._client.close()
        for name in _HTTP_LOGGERS:
            logging.getLogger(name).removeFilter(self._log_filter)

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
        headers.update({name.lower(): value for name, value in self.target.headers})
        headers.update({k.lower(): v for k, v in (extra or {}).items()})
        return headers

    def _charge(self, method: str) -> None:
        with self._lock:
            if self.run_deadline is not None and time.monotonic() >= self.run_deadline:
                raise BudgetExhausted(
                    f"not run: the run time limit of {self.target.max_run_seconds:g} s was reached (--run-timeout)"
                )
            if self.usage.requests >= self.target.max_requests:
                raise BudgetExhausted(
                    f"request budget of {self.target.max_requests} spent (raise it with --max-requests)"
                )
            billed = self.usage.prompt_tokens + self.usage.completion_tokens
            if method.upper() == "POST" and self.target.token_budget is not None and billed >= self.target.token_budget:
                raise BudgetExhausted(
                    f"token budget of {self.target.token_budget} spent: the provider billed {billed} tokens "
                    "(raise it with --token-budget)"
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

    @contextlib.contextmanager
    def slots(self, count: int = 1) -> Iterator[None]:
        """Hold ``count`` slots of the concurrency limit while another HTTP stack sends (openai-python's
        transport, the property run's schemathesis), so that the limit covers every request of the run."""
        taken = 0
        try:
            for _ in range(min(count, self.target.concurrency)):
                self._slots.acquire()
                taken += 1
            yield
        finally:
            for _ in range(taken):
                self._slots.release()

    # -- requests sent by the official SDKs (conformance.sdk) through their own transport ------------

    def charge(self, method: str = "POST") -> None:
        """Count one request of an official SDK against the run's budgets (raises BudgetExhausted)."""
        self._charge(method)

    def account(self, payload: Any) -> None:
        """Add the tokens billed by a response an official SDK received (its ``usage`` object)."""
        self._account(payload)

    def count_sent(self, count: int = 1) -> None:
        """Count requests another HTTP stack already sent without asking first (the property run's
        schemathesis probes); they are counted even when that overdraws the budget."""
        with self._lock:
            self.usage.requests += count

    def breaker_blocks(self, method: str, url: str) -> str | None:
        """Why the circuit breaker stops this request of an official SDK (then counted as not sent), or None."""
        with self._lock:
            blocked = self.breaker.blocked(endpoint_key(method, url, self.target.base_url))
            if blocked is not None:
                self.usage.not_sent += 1
        return blocked

    def answered(self, method: str, url: str, *, answered: bool) -> None:
        """Tell the circuit breaker whether a request an official SDK sent got an answer in time."""
        with self._lock:
            self.breaker.record(endpoint_key(method, url, self.target.base_url), answered=answered)
            self.usage.breaker_trips = self.breaker.trips

    def retry_wait(self, exchange: Exchange, attempt: int) -> float | None:
        """How long to wait before sending again a request of an official SDK that got a 429/503, or None.

        The suite's own policy (Retry-After, bounded waits and tries); the retry is charged to the budget
        and noted on the exchange, as ``_send`` does for the suite's requests.
        """
        if exchange.status not in RETRY_STATUSES or attempt >= self.target.max_retries:
            return None
        wait, why = self._backoff(exchange, attempt)
        if wait is None:
            exchange.attempts.append(f"{exchange.status}; not retried: {why}")
            return None
        try:
            self._charge(exchange.method)
        except BudgetExhausted as exc:
            exchange.attempts.append(f"{exchange.status}; not retried: {exc}")
            return None
        exchange.attempts.append(f"{exchange.status}, waited {wait:.2f} s ({why})")
        with self._lock:
            self.usage.retries += 1
        return wait

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
            # Credentials (the key and the user's own headers) never travel to a host other than the target's.
            sent_headers.pop("authorization", None)
            for name, _ in self.target.headers:
                sent_headers.pop(name.lower(), None)
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
        timeout: float | None = None,
    ) -> Exchange:
        """Send one request and read the whole (capped) body within ``timeout`` (default: the target's)."""
        url, sent_headers, body = self._prepare(
            method, path, json_body=json_body, content=content, auth=auth, headers=headers
        )
        exchange = Exchange(method=method, url=url, request_headers=sent_headers, request_body=body)
        limit = min(timeout, self.target.timeout) if timeout is not None else self.target.timeout
        self._send(exchange, stream=False, limit_s=limit, max_events=0)
        if exchange.ok and exchange.media_type.endswith("json"):
            with contextlib.suppress(ValueError, UnicodeDecodeError):
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
        max_seconds: float | None = None,
        max_events: int | None = None,
    ) -> StreamExchange:
        """Send a request whose answer should be an event stream; decode it while it arrives."""
        url, sent_headers, body = self._prepare(
            method, path, json_body=json_body, content=None, auth=auth, headers=headers
        )
        exchange = StreamExchange(method=method, url=url, request_headers=sent_headers, request_body=body)
        target = self.target
        limit = min(max_seconds, target.max_stream_seconds) if max_seconds else target.max_stream_seconds
        events = min(max_events, target.max_stream_events) if max_events else target.max_stream_events
        self._send(exchange, stream=True, limit_s=limit, max_events=events)
        for event in exchange.events:
            if event.data.startswith("{"):
                with contextlib.suppress(ValueError):
                    self._account(loads(event.data))
        return exchange

    def _send(self, exchange: Exchange, *, stream: bool, limit_s: float, max_events: int) -> None:
        """The breaker, the budget, then the request with its bounded retries (stale connection, 429/503)."""
        key = endpoint_key(exchange.method, exchange.url, self.target.base_url)
        with self._lock:
            blocked = self.breaker.blocked(key)
            if blocked is not None:
                self.usage.not_sent += 1
        if blocked is not None:
            exchange.error, exchange.not_sent = "timeout", True
            exchange.error_detail = f"not sent: circuit breaker open for {blocked}"
            if isinstance(exchange, StreamExchange):
                exchange.decoded = DecodeResult(events=(), notices=(), lines=())
            return
        self._charge(exchange.method)
        self._read(exchange, stream=stream, limit_s=limit_s, max_events=max_events)
        for attempt in range(self.target.max_retries):
            if exchange.status not in RETRY_STATUSES:
                break
            wait, why = self._backoff(exchange, attempt)
            if wait is None:
                exchange.attempts.append(f"{exchange.status}; not retried: {why}")
                break
            try:
                self._charge(exchange.method)
            except BudgetExhausted as exc:
                exchange.attempts.append(f"{exchange.status}; not retried: {exc}")
                break
            exchange.attempts.append(f"{exchange.status}, waited {wait:.2f} s ({why})")
            with self._lock:
                self.usage.retries += 1
            time.sleep(wait)
            self._read(exchange, stream=stream, limit_s=limit_s, max_events=max_events)
        unanswered = exchange.error in _UNANSWERED
        if unanswered and self.run_deadline is not None and time.monotonic() >= self.run_deadline:
            # Cut by the user's run limit, not judged: the check that sent it is reported as not run.
            raise BudgetExhausted(
                f"not run: the run time limit of {self.target.max_run_seconds:g} s was reached during {key}"
            )
        with self._lock:
            self.breaker.record(key, answered=not unanswered)
            self.usage.breaker_trips = self.breaker.trips

    def _backoff(self, exchange: Exchange, attempt: int) -> tuple[float | None, str]:
        """How long to wait before retrying a 429/503 (None: do not retry), and why."""
        hint = retry_after(exchange.headers)
        if hint is not None and hint[0] > self.target.max_retry_wait:
            return None, f"{hint[1]} {hint[0]:g} s is longer than --max-retry-wait {self.target.max_retry_wait:g} s"
        if hint is not None:
            wait, why = hint
        else:
            # openai-python's schedule: 0.5 s doubling, with up to 25 % jitter so clients do not retry in step.
            backoff = min(_INITIAL_BACKOFF_S * 2**attempt, self.target.max_retry_wait)
            wait, why = backoff * (1 - 0.25 * random.random()), "exponential backoff"
        if self.run_deadline is not None and time.monotonic() + wait >= self.run_deadline:
            return None, "the wait would pass the run time limit"
        return wait, why

    def _read(self, exchange: Exchange, *, stream: bool, limit_s: float, max_events: int) -> None:
        self._read_once(exchange, stream=stream, limit_s=limit_s, max_events=max_events)
        if exchange.status is None and exchange.error in ("reset", "protocol"):
            # A keep-alive connection the server closed between two requests fails before any byte of
            # the answer arrives; like the official SDK, send once more on a fresh connection. A
            # provider that resets every request still fails, with both attempts on record.
            first = f"{exchange.error}: {exchange.error_detail}"
            self._read_once(exchange, stream=stream, limit_s=limit_s, max_events=max_events)
            exchange.retried = first

    def _read_once(self, exchange: Exchange, *, stream: bool, limit_s: float, max_events: int) -> None:
        _reset(exchange)
        decoder = SSEDecoder() if stream else None
        limit_bytes = self.target.max_stream_bytes if stream else self.target.max_body_bytes
        received = bytearray()
        with self._slots:
            start = time.monotonic()
            deadline = start + limit_s
            run_bound = self.run_deadline is not None and self.run_deadline < deadline
            if run_bound:
                assert self.run_deadline is not None
                deadline = self.run_deadline
            _DEADLINE.at = deadline
            try:
                self._exchange_bytes(exchange, decoder, received, limit_bytes, max_events, start, deadline)
            except httpx.TimeoutException as exc:
                self._timed_out(
                    exchange,
                    exc,
                    start=start,
                    deadline=deadline,
                    limit_s=limit_s,
                    run_bound=run_bound,
                    received=len(received),
                )
            except httpx.ConnectError as exc:
                exchange.error, exchange.error_detail = "connect", self.redact(str(exc)) or type(exc).__name__
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError, httpx.DecodingError) as exc:
                kind = "reset" if isinstance(exc, httpx.ReadError | httpx.WriteError) else "protocol"
                exchange.error, exchange.error_detail = kind, self.redact(str(exc)) or type(exc).__name__
            except httpx.HTTPError as exc:
                exchange.error, exchange.error_detail = "protocol", self.redact(str(exc)) or type(exc).__name__
            finally:
                _DEADLINE.at = None
        exchange.body = bytes(received)
        exchange.elapsed_s = time.monotonic() - start
        if decoder is not None and isinstance(exchange, StreamExchange):
            if exchange.cut_short is None:
                decoder.close(at=exchange.elapsed_s)
            exchange.decoded = DecodeResult(
                events=tuple(decoder.events), notices=tuple(decoder.notices), lines=tuple(decoder.lines)
            )

    def _exchange_bytes(
        self,
        exchange: Exchange,
        decoder: SSEDecoder | None,
        received: bytearray,
        limit_bytes: int,
        max_events: int,
        start: float,
        deadline: float,
    ) -> None:
        """Send the request and read the answer into ``received``, cutting it at the caps as it arrives."""
        request = self._client.build_request(
            exchange.method, exchange.url, headers=exchange.request_headers, content=exchange.request_body
        )
        response = self._client.send(request, stream=True)
        try:
            exchange.status = response.status_code
            exchange.reason = response.reason_phrase
            exchange.headers = {k.lower(): v for k, v in response.headers.multi_items()}
            for chunk in response.iter_bytes():
                now = time.monotonic()
                exchange.chunks.append((now - start, len(chunk)))
                room = limit_bytes - len(received)
                received += chunk[:room]
                if decoder is not None:
                    decoder.feed(chunk[:room], at=now - start)
                if len(chunk) > room:
                    exchange.truncated = True
                    self._cut(exchange, "bytes" if decoder else "too-large", f"body exceeds {limit_bytes} bytes")
                    return
                if decoder is not None and len(decoder.events) >= max_events:
                    self._cut(exchange, "events", f"more than {max_events} events")
                    return
                if now >= deadline:
                    # Only reached without the socket-level deadline (e.g. a mock transport).
                    raise httpx.ReadTimeout("the time limit of the request is spent", request=request)
            if isinstance(exchange, StreamExchange):
                exchange.eof_s = time.monotonic() - start
        finally:
            response.close()

    @staticmethod
    def _timed_out(
        exchange: Exchange,
        exc: httpx.TimeoutException,
        *,
        start: float,
        deadline: float,
        limit_s: float,
        run_bound: bool,
        received: int,
    ) -> None:
        now = time.monotonic()
        if now < deadline - 0.005:
            # A silence longer than the read (or connect) timeout, well before the total limit.
            exchange.error, exchange.error_detail = "timeout", f"{type(exc).__name__} after {now - start:.1f} s"
            return
        got = f"{received} bytes in {len(exchange.chunks)} reads" if exchange.status is not None else "not a byte"
        if run_bound:
            exchange.error, exchange.error_detail = "timeout", f"stopped at the run time limit ({got})"
        elif isinstance(exchange, StreamExchange) and exchange.status is not None:
            HttpClient._cut(exchange, "duration", f"still sending after {limit_s:g} s ({got})")
        else:
            exchange.error, exchange.error_detail = "timeout", f"no complete answer within {limit_s:g} s ({got})"

    @staticmethod
    def _cut(exchange: Exchange, kind: str, detail: str) -> None:
        if isinstance(exchange, StreamExchange):
            exchange.cut_short = kind
            if kind == "duration":
                exchange.error, exchange.error_detail = "duration", detail
        else:
            exchange.error, exchange.error_detail = kind, detail


def _reset(exchange: Exchange) -> None:
    """Forget what an earlier attempt of the same request received."""
    exchange.status, exchange.reason, exchange.headers = None, "", {}
    exchange.body, exchange.truncated, exchange.error, exchange.error_detail = b"", False, None, ""
    exchange.chunks = []
    if isinstance(exchange, StreamExchange):
        exchange.decoded, exchange.cut_short, exchange.eof_s = None, None, None
