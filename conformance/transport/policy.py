"""The one transport policy: every request of the run -- the suite's own probes, openai-python, openai-node
(through :mod:`conformance.sdk.forwarder`) and schemathesis (its worker processes' requests through
:mod:`conformance.property.relay`) -- goes through :class:`Policy`, an httpx ``BaseTransport`` wrapped
around a real httpx client. It

* locks the key to the target's origin: a request for another origin that carries credentials is
  refused (:class:`LeftOrigin`) before a byte is sent;
* stops requests to an endpoint whose circuit breaker is open (:class:`NotSent`), and counts a request
  against the request and token budgets before sending it (:class:`BudgetExhausted`);
* holds a slot of the concurrency limit from sending until the answer's body is closed;
* gives every request a hard deadline (connect, headers and body together) enforced inside each socket
  read, and caps the body in bytes (and a stream in events) while it arrives;
* waits for and sends again a 429/503 a bounded number of times, honouring ``Retry-After`` and
  ``retry-after-ms`` up to a maximum wait, else with exponential backoff; a keep-alive connection the
  server closed before answering is tried once more on a fresh one;
* records every request as an :class:`~conformance.transport.exchange.Exchange` (errors are recorded
  on it, then raised to the caller), books the tokens the provider billed by its own ``usage``, and tells
  the breaker whether an answer came in time.

Which exchange a request fills, and its limits, travel with the request (:data:`OPTIONS` extension);
a request without them (an official client's) gets the target's defaults and a new exchange.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from conformance.transport.deadline import install_deadlines
from conformance.transport.exchange import (
    HTTP_LOGGERS,
    Exchange,
    RedactingFilter,
    Redactor,
    StreamExchange,
)
from conformance.transport.limits import (
    INITIAL_BACKOFF_S,
    RETRY_STATUSES,
    BudgetExhausted,
    CircuitBreaker,
    Usage,
    endpoint_key,
    retry_after,
)
from conformance.transport.reading import Reading
from conformance.transport.sse import DecodeResult, SSEDecoder
from conformance.transport.urls import origin

if TYPE_CHECKING:
    from conformance.target import Target

OPTIONS = "oai_conformance"  # the request extension that carries a :class:`Options`
SHARE = "oai_conformance_share"  # the request extension that carries a :class:`Share`


class LeftOrigin(Exception):
    """A request with credentials was about to go to a host other than the target's; it was not sent."""


class NotSent(httpx.ConnectTimeout):
    """The circuit breaker answered for the provider: nothing went on the wire (a timeout, to a client)."""


@dataclass
class Options:
    """What a request of the suite's own client asks of the policy: the exchange to fill and its limits."""

    exchange: Exchange
    limit_s: float
    max_events: int = 0  # 0: no cap on a stream's events


@dataclass
class Share:
    """A part of the request budget set aside for one user of the policy (the property run, so that later
    checks keep theirs): its requests are refused with ``why`` once ``limit`` of them were charged."""

    limit: int
    why: str
    spent: int = 0

    def room(self, count: int = 1) -> bool:
        return self.spent + count <= self.limit


def asks_stream(body: bytes) -> bool:
    """A JSON body with ``"stream": true``: the answer is read as an event stream."""
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        return False
    return isinstance(payload, dict) and payload.get("stream") is True


# Names the probe a request was sent for, only in a run that traces its requests: the reference
# provider records the fault sites each name's requests pass (tests/scoped_runs.py).
TRACE_HEADER = "x-oai-conformance-trace"


class Policy(httpx.BaseTransport):
    """Budgets, slots, deadlines, caps, breaker, backoff, origin lock and recording for one target."""

    def __init__(self, target: Target, *, transport: httpx.BaseTransport | None = None) -> None:
        self.target = target
        self.redact = Redactor(list(target.secrets))
        self.usage = Usage()
        self.breaker = CircuitBreaker(target.breaker_threshold)
        self.origin = origin(target.base_url)
        self.run_deadline = None if target.max_run_seconds is None else time.monotonic() + target.max_run_seconds
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(target.concurrency)
        self._held: dict[int, int] = {}  # slots held by each thread (a thread never waits for its own)
        self._recorders = threading.local()
        # Who sends: a callable naming the probe of the calling thread, set by a run that traces its
        # requests (the meta-tests), and a per-thread name for threads that send for a probe elsewhere.
        self.label: Callable[[], str | None] | None = None
        self._labels = threading.local()
        read = target.read_timeout if target.read_timeout is not None else target.timeout
        self.timeout = httpx.Timeout(read, connect=min(target.timeout, target.connect_timeout))
        self._client = httpx.Client(
            timeout=self.timeout,
            follow_redirects=False,
            verify=target.verify_tls,
            transport=transport,
            limits=httpx.Limits(max_connections=target.concurrency, max_keepalive_connections=target.concurrency),
            # The provider's own env proxies are honoured like the SDK does.
            trust_env=True,
        )
        install_deadlines(self._client)
        self._log_filter = RedactingFilter(self.redact)
        if self.redact.secrets:
            for name in HTTP_LOGGERS:
                logging.getLogger(name).addFilter(self._log_filter)

    def close(self) -> None:
        """Nothing: every client over the policy closes it when it closes; the owner calls :meth:`shutdown`."""

    def shutdown(self) -> None:
        """Close the connections and stop redacting the HTTP stack's logs (the run is over)."""
        self._client.close()
        for name in HTTP_LOGGERS:
            logging.getLogger(name).removeFilter(self._log_filter)

    # -- budgets, slots, breaker ------------------------------------------------------------------

    def charge(self, method: str, share: Share | None = None) -> None:
        """Count one request against the run's budgets, and ``share`` (raises BudgetExhausted)."""
        target = self.target
        with self._lock:
            if share is not None and not share.room():
                raise BudgetExhausted(share.why)
            if self.run_over():
                raise BudgetExhausted(
                    f"not run: the run time limit of {target.max_run_seconds:g} s was reached (--run-timeout)"
                )
            if self.usage.requests >= target.max_requests:
                raise BudgetExhausted(f"request budget of {target.max_requests} spent (raise it with --max-requests)")
            billed = self.usage.prompt_tokens + self.usage.completion_tokens
            if method.upper() == "POST" and target.token_budget is not None and billed >= target.token_budget:
                raise BudgetExhausted(
                    f"token budget of {target.token_budget} spent: the provider billed {billed} tokens "
                    "(raise it with --token-budget)"
                )
            self.usage.requests += 1
            if share is not None:
                share.spent += 1

    def account(self, payload: Any) -> None:
        """Add the tokens a response billed (its ``usage`` object) to the run's usage."""
        usage = payload.get("usage") if isinstance(payload, dict) else None
        if not isinstance(usage, dict):
            return
        with self._lock:
            for key in ("prompt_tokens", "completion_tokens"):
                value = usage.get(key)
                if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                    setattr(self.usage, key, getattr(self.usage, key) + value)

    def run_over(self) -> bool:
        return self.run_deadline is not None and time.monotonic() >= self.run_deadline

    def breaker_blocks(self, method: str, url: str) -> str | None:
        """Why the circuit breaker stops this request (then counted as not sent), or None."""
        with self._lock:
            blocked = self.breaker.blocked(endpoint_key(method, url, self.target.base_url))
            if blocked is not None:
                self.usage.not_sent += 1
        return blocked

    def answered(self, method: str, url: str, *, answered: bool) -> None:
        """Tell the circuit breaker whether a request got an answer in time."""
        with self._lock:
            self.breaker.record(endpoint_key(method, url, self.target.base_url), answered=answered)
            self.usage.breaker_trips = self.breaker.trips

    def take(self, count: int = 1) -> int:
        """Take ``count`` slots of the concurrency limit for this thread (none if it holds one); how many."""
        me = threading.get_ident()
        with self._lock:
            held = self._held.get(me, 0)
        wanted = 0 if held else min(count, self.target.concurrency)
        for _ in range(wanted):
            self._slots.acquire()
        with self._lock:
            self._held[me] = held + max(wanted, 1)
        return wanted

    def give(self, thread: int, taken: int) -> None:
        with self._lock:
            left = self._held.get(thread, 1) - max(taken, 1)
            if left > 0:
                self._held[thread] = left
            else:
                self._held.pop(thread, None)
        for _ in range(taken):
            self._slots.release()

    @contextlib.contextmanager
    def slots(self, count: int = 1) -> Iterator[None]:
        """Hold ``count`` slots while this thread does something that must count as requests in flight."""
        taken = self.take(count)
        try:
            yield
        finally:
            self.give(threading.get_ident(), taken)

    def retry_wait(self, exchange: Exchange, attempt: int, share: Share | None = None) -> float | None:
        """How long to wait before sending a 429/503 again (the retry is charged and noted), or None."""
        if exchange.status not in RETRY_STATUSES or attempt >= self.target.max_retries:
            return None
        wait, why = self._backoff(exchange, attempt)
        if wait is None:
            exchange.attempts.append(f"{exchange.status}; not retried: {why}")
            return None
        try:
            self.charge(exchange.method, share)
        except BudgetExhausted as exc:
            exchange.attempts.append(f"{exchange.status}; not retried: {exc}")
            return None
        exchange.attempts.append(f"{exchange.status}, waited {wait:.2f} s ({why})")
        with self._lock:
            self.usage.retries += 1
        return wait

    def _backoff(self, exchange: Exchange, attempt: int) -> tuple[float | None, str]:
        hint = retry_after(exchange.headers)
        limit = self.target.max_retry_wait
        if hint is not None and hint[0] > limit:
            return None, f"{hint[1]} {hint[0]:g} s is longer than --max-retry-wait {limit:g} s"
        if hint is not None:
            wait, why = hint
        else:
            # openai-python's schedule: 0.5 s doubling, with up to 25 % jitter so clients do not retry in step.
            backoff = min(INITIAL_BACKOFF_S * 2**attempt, limit)
            wait, why = backoff * (1 - 0.25 * random.random()), "exponential backoff"
        if self.run_deadline is not None and time.monotonic() + wait >= self.run_deadline:
            return None, "the wait would pass the run time limit"
        return wait, why

    # -- recording ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[Exchange]]:
        """Collect every exchange this thread makes inside the block (an SDK flow's, a forwarded request's);
        an answer the block left unread is finished when it ends."""
        stack = self._recorders.__dict__.setdefault("stack", [])
        found: list[Exchange] = []
        readings: list[Reading] = []
        stack.append((found, readings))
        try:
            yield found
        finally:
            stack[:] = [entry for entry in stack if entry[0] is not found]
            for reading in readings:
                reading.finish()

    def record(self, exchange: Exchange, *, instead_of: Exchange | None = None) -> None:
        for found, _ in getattr(self._recorders, "stack", ()):
            at = next((i for i, e in enumerate(found) if e is instead_of), None) if instead_of is not None else None
            if at is not None:
                found[at] = exchange
            else:
                found.append(exchange)

    def _reading(self, reading: Reading) -> None:
        for _, readings in getattr(self._recorders, "stack", ()):
            readings.append(reading)

    # -- sending ----------------------------------------------------------------------------------------

    def current_label(self) -> str | None:
        """The name the calling thread's requests are traced under, if the run traces them."""
        own = getattr(self._labels, "name", None)
        return own if own is not None or self.label is None else self.label()

    @contextlib.contextmanager
    def labelled(self, name: str | None) -> Iterator[None]:
        """Trace this thread's requests under ``name`` (a thread that sends for a probe elsewhere)."""
        previous = getattr(self._labels, "name", None)
        self._labels.name = name
        try:
            yield
        finally:
            self._labels.name = previous

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.label is not None and (name := self.current_label()) is not None:
            request.headers[TRACE_HEADER] = name
        options = request.extensions.get(OPTIONS)
        url, method = str(request.url), request.method
        if origin(url) != self.origin and ("authorization" in request.headers or self._carries_secret(request)):
            raise LeftOrigin(f"{method} {self.redact(url)} is not on the target's origin; not sent")
        if options is None:
            body = request.read()
            streamed = asks_stream(body)
            target = self.target
            kind = StreamExchange if streamed else Exchange
            exchange = kind(
                method=method,
                url=url,
                request_headers={k.lower(): v for k, v in request.headers.multi_items()},
                request_body=body or None,
            )
            options = Options(exchange, target.max_stream_seconds if streamed else target.timeout)
            own = True
        else:
            exchange, own = options.exchange, False
        blocked = self.breaker_blocks(method, url)
        if blocked is not None:
            exchange.error, exchange.not_sent = "timeout", True
            exchange.error_detail = f"not sent: circuit breaker open for {blocked}"
            if isinstance(exchange, StreamExchange):
                exchange.decoded = DecodeResult(events=(), notices=(), lines=())
            raise NotSent(exchange.error_detail, request=request)
        share = request.extensions.get(SHARE)
        self.charge(method, share)
        self.record(exchange)
        for attempt in range(self.target.max_retries + 1):
            reading = Reading(self, request, exchange, options)
            self._reading(reading)
            response = reading.open()
            wait = self.retry_wait(exchange, attempt, share)
            if wait is None:
                break
            reading.abandon()
            time.sleep(wait)
        if own and not isinstance(exchange, StreamExchange) and exchange.media_type == "text/event-stream":
            # Streamed although not asked to: decoded, so that the evidence shows its events.
            streamed_exchange = StreamExchange(**{k: getattr(exchange, k) for k in _EXCHANGE_FIELDS})
            self.record(streamed_exchange, instead_of=exchange)
            reading.exchange = options.exchange = streamed_exchange
            reading.decoder, reading.limit_bytes = SSEDecoder(), self.target.max_stream_bytes
        # The body is handed over decoded, so the encoding headers no longer describe it.
        encoded = "content-encoding" in response.headers
        skip = ("content-encoding", "content-length") if encoded else ()
        return httpx.Response(
            response.status_code,
            headers=[(k, v) for k, v in response.headers.multi_items() if k.lower() not in skip],
            stream=reading,
            extensions={k: v for k, v in response.extensions.items() if k in ("http_version", "reason_phrase")},
        )

    def _carries_secret(self, request: httpx.Request) -> bool:
        names = {name.lower() for name, _ in self.target.headers}
        return any(name.lower() in names for name in request.headers)

    def send(self, request: httpx.Request) -> httpx.Response:
        """Send with the real client (no redirects followed), the answer's body unread."""
        return self._client.send(request, stream=True)


_EXCHANGE_FIELDS = (
    "method",
    "url",
    "request_headers",
    "request_body",
    "status",
    "reason",
    "headers",
    "body",
    "truncated",
    "elapsed_s",
    "error",
    "error_detail",
    "chunks",
    "retried",
    "attempts",
)
