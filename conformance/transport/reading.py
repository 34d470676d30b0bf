"""One attempt of one request under the policy: sent under a concurrency slot and the request's hard
deadline, its answer's body recorded on the exchange as it is read, cut at the caps, and -- once, when it
ends -- its tokens booked and the policy told whether it came in time (:meth:`Policy.settle`: the
circuit breaker, and what the attempt says about how the provider serves requests)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx

from conformance.transport.deadline import bounded_by
from conformance.transport.exchange import Exchange, StreamExchange, loads, reset
from conformance.transport.sse import DecodeResult, SSEDecoder

if TYPE_CHECKING:
    from conformance.transport.pacing import Attempt, Outcome
    from conformance.transport.policy import Options, Policy


class Reading(httpx.SyncByteStream):
    """One attempt of one request: sent under a slot and the deadline, its body recorded as it is read."""

    def __init__(
        self,
        policy: Policy,
        request: httpx.Request,
        exchange: Exchange,
        options: Options,
        *,
        keys: tuple[str, ...] = (),
        trial: tuple[str, ...] = (),
        fresh: bool = True,
        outcome: Outcome | None = None,
    ) -> None:
        self.policy, self.request, self.exchange, self.options = policy, request, exchange, options
        # The breaker's scopes of the request, those this attempt is the trial of, whether the request never
        # went unanswered before, and what becomes of the request in the end (shared by its attempts).
        self.keys, self.trial, self.fresh, self.outcome = keys, trial, fresh, outcome
        self.attempt: Attempt | None = None
        target = policy.target
        streamed = isinstance(exchange, StreamExchange)
        self.decoder = SSEDecoder() if streamed else None
        self.limit_bytes = target.max_stream_bytes if streamed else target.max_body_bytes
        self.received = bytearray()
        self.response: httpx.Response | None = None
        self.done = False
        self.start = self.deadline = 0.0
        self.run_bound = False
        self.thread, self.taken = 0, 0

    def hold(self) -> None:
        """Take this thread's slot of the concurrency limit (before :meth:`open`, or in it)."""
        self.thread, self.taken = threading.get_ident(), self.policy.take()

    def open(self) -> httpx.Response:
        """Take a slot, send, and read the answer's head; a stale keep-alive connection is tried once more."""
        policy, exchange = self.policy, self.exchange
        reset(exchange)
        if not self.thread:
            self.hold()
        self.attempt = policy.flight.start(self.options.limit_s, self.outcome)
        self.start = time.monotonic()
        self.deadline = self.start + self.options.limit_s
        self.run_bound = policy.run_deadline is not None and policy.run_deadline < self.deadline
        if self.run_bound:
            assert policy.run_deadline is not None
            self.deadline = policy.run_deadline
        try:
            with bounded_by(self.deadline):
                try:
                    response = policy.send(self.request)
                except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
                    # A keep-alive connection the server closed between two requests fails before any byte
                    # of the answer arrives; like the official SDK, send once more on a fresh connection.
                    # A provider that resets every request still fails, with both attempts on record.
                    kind = "reset" if isinstance(exc, httpx.ReadError | httpx.WriteError) else "protocol"
                    first = f"{kind}: {policy.redact(str(exc)) or type(exc).__name__}"
                    try:
                        response = policy.send(self.request)
                    finally:
                        exchange.retried = first
        except httpx.HTTPError as exc:
            self._failed(exc)
            self.finish()
            raise
        self.response = response
        self._began()
        exchange.status = response.status_code
        exchange.reason = response.reason_phrase
        exchange.headers = {k.lower(): v for k, v in response.headers.multi_items()}
        return response

    def _began(self) -> None:
        """The answer began: it has the whole time limit to complete from now. Whatever it waited for before
        -- other requests of ours the provider served first, one at a time, or a provider slow to start --
        does not cut an answer that is arriving (a head that came a moment before the limit would otherwise
        lose its body to the clock). A body trickled a byte at a time is still cut, a limit after its head."""
        if self.run_bound:
            return
        began = time.monotonic() + self.options.limit_s
        run_deadline = self.policy.run_deadline
        self.deadline = max(self.deadline, began if run_deadline is None else min(began, run_deadline))

    def __iter__(self) -> Iterator[bytes]:
        assert self.response is not None
        exchange, options = self.exchange, self.options
        chunks = self.response.iter_bytes()
        try:
            while True:
                with bounded_by(self.deadline):
                    chunk = next(chunks, None)
                if chunk is None:
                    break
                if self.attempt is not None:
                    self.policy.flight.moving(self.attempt)
                now = time.monotonic()
                exchange.chunks.append((now - self.start, len(chunk)))
                room = self.limit_bytes - len(self.received)
                self.received += chunk[:room]
                if self.decoder is not None:
                    self.decoder.feed(chunk[:room], at=now - self.start)
                if len(chunk) > room:
                    exchange.truncated = True
                    kind = "bytes" if self.decoder else "too-large"
                    _cut(exchange, kind, f"body exceeds {self.limit_bytes} bytes")
                    raise httpx.ReadError(f"the suite stopped reading: body exceeds {self.limit_bytes} bytes")
                if self.decoder is not None and options.max_events and len(self.decoder.events) >= options.max_events:
                    _cut(exchange, "events", f"more than {options.max_events} events")
                    raise httpx.ReadError(f"the suite stopped reading: more than {options.max_events} events")
                dead = self.policy.breaker.dead_for(self.keys) if self.decoder is not None else None
                if dead is not None and "did not end" in dead:
                    # Streams of its kind never end: reading this one to its limit too would tell nothing more.
                    _cut(exchange, "duration", f"stopped when the breaker found {dead}")
                    raise httpx.ReadError("the suite stopped reading: streams of this kind never end")
                yield chunk[:room]
                if now >= self.deadline:
                    # Only reached without the socket-level deadline (e.g. a mock transport).
                    raise httpx.ReadTimeout("the time limit of the request is spent", request=self.request)
            if isinstance(exchange, StreamExchange):
                exchange.eof_s = time.monotonic() - self.start
        except httpx.HTTPError as exc:
            if exchange.error is None and (not isinstance(exchange, StreamExchange) or exchange.cut_short is None):
                self._failed(exc)
            raise
        finally:
            self.finish()

    def close(self) -> None:
        self.finish()

    def abandon(self) -> None:
        """An answer that is not read (a 429/503 sent again): free its connection and slot, book nothing."""
        self.done = True
        try:
            if self.response is not None:
                self.response.close()
        finally:
            self.policy.give(self.thread, self.taken)
            self.policy.settle(self, abandoned=True)

    def _failed(self, exc: httpx.HTTPError) -> None:
        exchange, redact = self.exchange, self.policy.redact
        if isinstance(exc, httpx.TimeoutException):
            self._timed_out(exc)
        elif isinstance(exc, httpx.ConnectError):
            exchange.error, exchange.error_detail = "connect", redact(str(exc)) or type(exc).__name__
        elif isinstance(exc, httpx.ReadError | httpx.WriteError):
            exchange.error, exchange.error_detail = "reset", redact(str(exc)) or type(exc).__name__
        else:
            exchange.error, exchange.error_detail = "protocol", redact(str(exc)) or type(exc).__name__

    def _timed_out(self, exc: httpx.TimeoutException) -> None:
        exchange, now = self.exchange, time.monotonic()
        if now < self.deadline - 0.005:
            # A silence longer than the read (or connect) timeout, well before the total limit.
            exchange.error, exchange.error_detail = "timeout", f"{type(exc).__name__} after {now - self.start:.1f} s"
            return
        got = f"{len(self.received)} bytes in {len(exchange.chunks)} reads" if exchange.status is not None else ""
        got = got or "not a byte"
        if self.run_bound:
            exchange.error, exchange.error_detail = "timeout", f"stopped at the run time limit ({got})"
        elif isinstance(exchange, StreamExchange) and exchange.status is not None:
            _cut(exchange, "duration", f"still sending after {self.options.limit_s:g} s ({got})")
        else:
            limit = self.options.limit_s
            exchange.error, exchange.error_detail = "timeout", f"no complete answer within {limit:g} s ({got})"

    def finish(self) -> None:
        """Once: close the answer, put what was read on the exchange, book its tokens, tell the policy whether
        it came in time, and free the slot (last: a request waiting for it must see what this one told)."""
        if self.done:
            return
        self.done = True
        policy, exchange = self.policy, self.exchange
        try:
            if self.response is not None:
                self.response.close()
            exchange.body = bytes(self.received)
            exchange.elapsed_s = time.monotonic() - self.start
            if self.decoder is not None and isinstance(exchange, StreamExchange):
                if exchange.cut_short is None:
                    self.decoder.close(at=exchange.elapsed_s)
                decoder = self.decoder
                exchange.decoded = DecodeResult(
                    events=tuple(decoder.events), notices=tuple(decoder.notices), lines=tuple(decoder.lines)
                )
            _book_tokens(policy, exchange)
            policy.settle(self)
        finally:
            policy.give(self.thread, self.taken)


def _book_tokens(policy: Policy, exchange: Exchange) -> None:
    if isinstance(exchange, StreamExchange):
        payloads = [event.data for event in exchange.events if event.data.startswith("{")]
    elif exchange.ok and exchange.media_type.endswith("json"):
        payloads = [exchange.body.decode("utf-8", "replace")]
    else:
        payloads = []
    for payload in payloads:
        with contextlib.suppress(ValueError):
            policy.account(loads(payload))


def _cut(exchange: Exchange, kind: str, detail: str) -> None:
    if isinstance(exchange, StreamExchange):
        exchange.cut_short = kind
        if kind == "duration":
            exchange.error, exchange.error_detail = "duration", detail
    else:
        exchange.error, exchange.error_detail = kind, detail
