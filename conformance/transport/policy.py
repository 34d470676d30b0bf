"""The one transport policy: every request of the run -- the suite's own probes, openai-python, openai-node
(through :mod:`conformance.sdk.forwarder`) and schemathesis (its worker processes' requests through
:mod:`conformance.property.relay`) -- goes through :class:`Policy`, an httpx ``BaseTransport`` wrapped
around a real httpx client. It

* locks the key to the target's origin: a request for another origin that carries credentials is
  refused (:class:`LeftOrigin`) before a byte is sent;
* holds back requests to a scope whose circuit breaker is open until its trial request was answered, and
  answers them "not sent" once it is dead (:mod:`.breaker`, :class:`NotSent`); counts a request against
  the request and token budgets before sending it (:class:`BudgetExhausted`);
* holds a slot of the concurrency limit from sending until the answer's body is closed; the limit comes
  down to one when the provider turns out to serve one request at a time (:mod:`.pacing`);
* gives every request a hard deadline (connect, headers and body together) enforced inside each socket
  read, and caps the body in bytes (and a stream in events) while it arrives;
* waits for and sends again a 429/503 a bounded number of times, honouring ``Retry-After`` and
  ``retry-after-ms`` up to a maximum wait, else with exponential backoff; sends again a request that got
  no answer in time, never blaming one for waiting behind another request of ours (:mod:`.delivery`);
  a keep-alive connection the server closed before answering is tried once more on a fresh one;
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
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from conformance.transport.auth import AuthKind, auth_kind
from conformance.transport.breaker import CircuitBreaker
from conformance.transport.deadline import install_deadlines
from conformance.transport.delivery import NotSent, TransportLog, deliver
from conformance.transport.exchange import (
    HTTP_LOGGERS,
    Exchange,
    RedactingFilter,
    Redactor,
    StreamExchange,
)
from conformance.transport.limits import UNANSWERED, BudgetExhausted, Usage
from conformance.transport.pacing import Flight, Slots
from conformance.transport.reading import Reading
from conformance.transport.sse import SSEDecoder
from conformance.transport.urls import origin

if TYPE_CHECKING:
    from conformance.target import Target

OPTIONS = "oai_conformance"  # the request extension that carries a :class:`Options`
SHARE = "oai_conformance_share"  # the request extension that carries a :class:`Share`


__all__ = ["OPTIONS", "SHARE", "TRACE_HEADER", "LeftOrigin", "NotSent", "Options", "Policy", "Share"]


class LeftOrigin(Exception):
    """A request with credentials was about to go to a host other than the target's; it was not sent."""


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
        self.usage = Usage(concurrency=target.concurrency)
        self.breaker = CircuitBreaker(target.breaker_threshold, target.breaker_cooldown)
        self.flight = Flight()
        self.log = TransportLog(self.flight)
        self.origin = origin(target.base_url)
        self.run_deadline = None if target.max_run_seconds is None else time.monotonic() + target.max_run_seconds
        self._lock = threading.Lock()
        self._slots = Slots(target.concurrency)
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
            for key, responses_key in (("prompt_tokens", "input_tokens"), ("completion_tokens", "output_tokens")):
                value = usage.get(key, usage.get(responses_key))  # the Responses API's names
                if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                    setattr(self.usage, key, getattr(self.usage, key) + value)

    def run_over(self) -> bool:
        return self.run_deadline is not None and time.monotonic() >= self.run_deadline

    def settle(self, reading: Reading, *, abandoned: bool = False) -> None:
        """An attempt ended: tell the circuit breaker whether it came in time, and learn from it how the
        provider serves requests. An attempt cut by the user's run limit tells nothing."""
        exchange = reading.exchange
        unanswered = not abandoned and exchange.error in UNANSWERED
        if reading.attempt is not None:
            self.flight.end(reading.attempt, answered=not unanswered)
        if unanswered and self.run_over():
            self.breaker.release(reading.trial)
            return
        alone = reading.attempt is None or reading.attempt.alone()
        if not unanswered or reading.fresh or reading.trial:  # a request's silences count once
            self.breaker.record(
                reading.keys,
                answered=not unanswered,
                endless=exchange.error == "duration",
                trial=reading.trial,
                conclusive=alone and reading.fresh,
            )
        with self._lock:
            self.usage.breaker_trips = self.breaker.trips
            self.usage.timeouts += unanswered
        if self.flight.serial:
            self.one_at_a_time("answers came only after the earlier requests of ours had ended")

    def one_at_a_time(self, why: str) -> None:
        """From now on, one request at a time: the provider serves them so, or may."""
        if self._slots.lower(1):
            logging.getLogger(__name__).info("concurrency lowered to 1: %s", why)
            with self._lock:
                self.usage.concurrency = 1

    def take(self, count: int = 1) -> int:
        """Take ``count`` slots of the concurrency limit for this thread (none if it holds one); how many."""
        me = threading.get_ident()
        with self._lock:
            held = self._held.get(me, 0)
        taken = 0 if held else self._slots.acquire(count)
        with self._lock:
            self._held[me] = held + max(taken, 1)
        return taken

    def give(self, thread: int, taken: int) -> None:
        with self._lock:
            left = self._held.get(thread, 1) - max(taken, 1)
            if left > 0:
                self._held[thread] = left
            else:
                self._held.pop(thread, None)
        if taken:
            self._slots.release(taken)

    @contextlib.contextmanager
    def slots(self, count: int = 1) -> Iterator[None]:
        """Hold ``count`` slots while this thread does something that must count as requests in flight."""
        taken = self.take(count)
        try:
            yield
        finally:
            self.give(threading.get_ident(), taken)

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

    def watch(self, reading: Reading) -> None:
        """Finish ``reading`` with the recording block it was made in, if its caller leaves it unread."""
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
            exchange = kind(method=method, url=url, request_headers={}, request_body=body or None)
            options = Options(exchange, target.max_stream_seconds if streamed else target.timeout)
            own = True
        else:
            exchange, own = options.exchange, False
        # What goes on the wire, as the report keeps it: every header (the trace marker of our own test runs
        # aside) and the kind of credentials, so that a replay sends the same request with the same kind.
        exchange.request_headers = {k: v for k, v in request.headers.items() if k != TRACE_HEADER}
        exchange.auth = self.auth_kind(request.headers.items())
        reading, response = deliver(self, request, exchange, options, request.extensions.get(SHARE))
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

    def auth_kind(self, headers: Iterable[tuple[str, str]]) -> AuthKind:
        """The kind of credentials a request to this target carries (never the key itself)."""
        return auth_kind(headers, self.target.api_key)

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
    "auth",
)
