"""Getting one request answered: the attempts the policy makes for it.

Before each attempt the request asks the circuit breaker to go (it waits while its scope is open, and
is "not sent" once the scope is dead). Then:

* a 429/503 is sent again after the wait it asks for (``Retry-After``, ``retry-after-ms``) or an
  exponential backoff, up to ``--max-retries`` times;
* a request that got no answer at all in time (no status line) is sent again, as openai-python sends a
  timed-out request again. A silence while another request of ours was in flight is never the
  request's own (:mod:`.pacing`: on a provider that serves one request at a time it only waited): the
  run drops to one request at a time and the request is sent again without that silence counting.
  After a silence alone it goes again once the provider answered something since, or after a pause as
  long as that silence (at most ``--breaker-cooldown``): a stalled provider gets the time to come back.
  A request is TIMEOUT once it got no answer twice alone -- never for waiting behind another of ours.

The :class:`TransportLog` keeps the requests that went unanswered and were answered when sent again:
once the run is over it tells which of them show a provider that stalled (TRANSPORT-013).
"""

from __future__ import annotations

import copy
import random
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn

import httpx

from conformance.transport.breaker import scopes_of
from conformance.transport.exchange import Exchange, StreamExchange
from conformance.transport.limits import INITIAL_BACKOFF_S, RETRY_STATUSES, BudgetExhausted, retry_after
from conformance.transport.pacing import Attempt, Flight, Outcome
from conformance.transport.reading import Reading
from conformance.transport.sse import DecodeResult

if TYPE_CHECKING:
    from conformance.transport.policy import Options, Policy, Share

# Attempts of one request after silences (those beside other requests included); two alone end it.
MAX_ATTEMPTS = 4


class NotSent(httpx.ConnectTimeout):
    """The circuit breaker answered for the provider: nothing went on the wire (a timeout, to a client)."""


@dataclass(frozen=True)
class Stall:
    """A request that got no answer in time while the provider stalled, and was answered when sent again."""

    missed: Exchange  # the attempt that went unanswered, as it was recorded
    after_s: float  # from that attempt to the answer


@dataclass(frozen=True)
class _Missed:
    attempt: Attempt
    exchange: Exchange
    request: Outcome
    answered_at: list[float]


@dataclass
class TransportLog:
    """What the transport saw across the run that no single exchange shows: the requests that went
    unanswered and were answered later."""

    flight: Flight
    _missed: list[_Missed] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def missed(self, attempt: Attempt, exchange: Exchange, answered_at: list[float]) -> None:
        with self._lock:
            self._missed.append(_Missed(attempt, exchange, attempt.request, answered_at))

    def stalls(self) -> list[Stall]:
        """Once the run is over: the requests answered when sent again after a silence that shows the
        provider stalled (:meth:`Flight.stalled`), first missed first."""
        return [
            Stall(m.exchange, m.answered_at[0] - m.attempt.start)
            for m in self._missed
            if m.request.final == "answered" and m.answered_at and self.flight.stalled(m.attempt)
        ]


@dataclass
class _Tries:
    """What became of one request's attempts so far."""

    outcome: Outcome = field(default_factory=Outcome)
    attempts: int = 0
    silences: int = 0  # attempts that got no answer
    alone: int = 0  # of those, the ones that went alone
    answered_at: list[float] = field(default_factory=list)  # when it was answered, once it was
    why: str = ""  # why the last attempt is sent again


def deliver(
    policy: Policy, request: httpx.Request, exchange: Exchange, options: Options, share: Share | None
) -> tuple[Reading, httpx.Response]:
    """Send ``request`` until it is answered (its body still to read), or raise what ended it."""
    tries = _Tries()
    try:
        reading, response = _attempts(policy, request, exchange, options, share, tries)
    except NotSent:
        tries.outcome.final = "not sent"
        raise
    except BaseException:
        tries.outcome.final = "timeout" if exchange.error == "timeout" else "failed"
        raise
    tries.outcome.final = "answered"
    tries.answered_at.append(time.monotonic())
    return reading, response


def _attempts(
    policy: Policy,
    request: httpx.Request,
    exchange: Exchange,
    options: Options,
    share: Share | None,
    tries: _Tries,
) -> tuple[Reading, httpx.Response]:
    streamed = isinstance(exchange, StreamExchange)
    keys = scopes_of(request.method, str(request.url), policy.target.base_url, stream=streamed)
    backoffs = 0
    charged = False  # a 429/503 sent again was charged when the wait was decided
    while True:
        trial = _admit(policy, request, exchange, keys, tries)
        if not charged:
            try:
                policy.charge(request.method, share)
            except BudgetExhausted as exc:
                policy.breaker.release(trial)
                if not tries.attempts:
                    raise
                _not_again(request, exchange, tries, str(exc))
        if not tries.attempts:
            policy.record(exchange)  # for the flow that sends it (an SDK's)
        elif tries.why:
            exchange.attempts.append(f"{tries.why}; sent again")
            tries.why = ""
            with policy._lock:
                policy.usage.resent += 1
        fresh, outcome = tries.silences == 0, tries.outcome
        reading = Reading(policy, request, exchange, options, keys=keys, trial=trial, fresh=fresh, outcome=outcome)
        reading.hold()
        if not trial and policy.breaker.holds(keys):
            # The breaker opened while it waited for a slot: back to waiting, the slot for another request.
            policy.give(reading.thread, reading.taken)
            charged = True
            continue
        policy.watch(reading)
        tries.attempts += 1
        charged = False
        try:
            response = reading.open()
        except httpx.TimeoutException:
            if not _again_after_silence(policy, reading, tries):
                raise
            continue
        wait = retry_wait(policy, exchange, backoffs, share)
        if wait is None:
            return reading, response
        backoffs, charged = backoffs + 1, True
        reading.abandon()
        time.sleep(wait)


def _admit(
    policy: Policy, request: httpx.Request, exchange: Exchange, keys: tuple[str, ...], tries: _Tries
) -> tuple[str, ...]:
    """Wait for the breaker to let the attempt go; the scopes it is the trial of. Raises NotSent (a dead
    scope; the earlier attempt's timeout when there was one) or BudgetExhausted (the run's time is up)."""
    passed = policy.breaker.admit(keys, fresh=tries.silences == 0, until=policy.run_deadline)
    if passed.go:
        return passed.trial
    if passed.dead is None:
        if tries.attempts:
            _not_again(request, exchange, tries, "the run time limit was reached")
        raise BudgetExhausted(f"not run: the run time limit of {policy.target.max_run_seconds:g} s was reached")
    detail = f"not sent: circuit breaker open for {passed.dead}"
    with policy._lock:
        policy.usage.not_sent += 1
    if tries.attempts:
        _not_again(request, exchange, tries, f"circuit breaker open for {passed.dead}")
    exchange.error, exchange.not_sent, exchange.error_detail = "timeout", True, detail
    if isinstance(exchange, StreamExchange):
        exchange.decoded = DecodeResult(events=(), notices=(), lines=())
    policy.record(exchange)  # the flow that would have sent it shows why it was not
    raise NotSent(detail, request=request)


def _not_again(request: httpx.Request, exchange: Exchange, tries: _Tries, why: str) -> NoReturn:
    """A request sent before and unanswered is not sent again: that timeout stands, with why."""
    exchange.attempts.append(f"{tries.why}; not sent again: {why}")
    raise httpx.ReadTimeout(exchange.error_detail, request=request)


def _again_after_silence(policy: Policy, reading: Reading, tries: _Tries) -> bool:
    """Whether a request whose attempt got no answer in time may be sent again (why, kept on ``tries``)."""
    exchange, attempt = reading.exchange, reading.attempt
    if exchange.status is not None or attempt is None or reading.run_bound:
        return False
    limit = reading.options.limit_s
    snapshot = copy.copy(exchange)
    snapshot.attempts = list(exchange.attempts)
    policy.log.missed(attempt, snapshot, tries.answered_at)
    tries.silences += 1
    if attempt.alone():
        tries.alone += 1
        tries.why = f"no answer within {limit:g} s"
    else:
        tries.why = f"no answer within {limit:g} s, other requests of the run in flight"
        policy.one_at_a_time(f"{tries.why}: the provider may serve one request at a time")
    again = tries.alone < 2 and tries.attempts < MAX_ATTEMPTS and not policy.run_over()
    if again and attempt.alone():
        # Not into the same silence: once the provider answered something since, or after it was silent as
        # long again (at most the cool-down).
        assert attempt.ended is not None
        pause = min(policy.target.breaker_cooldown, attempt.ended - attempt.start)
        if policy.run_deadline is not None:
            pause = min(pause, policy.run_deadline - time.monotonic())
        policy.flight.answered_since(attempt.ended, wait=pause)
    return again and not policy.run_over()


def retry_wait(policy: Policy, exchange: Exchange, attempt: int, share: Share | None = None) -> float | None:
    """How long to wait before sending a 429/503 again (the retry is charged and noted), or None."""
    if exchange.status not in RETRY_STATUSES or attempt >= policy.target.max_retries:
        return None
    wait, why = _backoff(policy, exchange, attempt)
    if wait is None:
        exchange.attempts.append(f"{exchange.status}; not retried: {why}")
        return None
    try:
        policy.charge(exchange.method, share)
    except BudgetExhausted as exc:
        exchange.attempts.append(f"{exchange.status}; not retried: {exc}")
        return None
    exchange.attempts.append(f"{exchange.status}, waited {wait:.2f} s ({why})")
    with policy._lock:
        policy.usage.retries += 1
    return wait


def _backoff(policy: Policy, exchange: Exchange, attempt: int) -> tuple[float | None, str]:
    hint = retry_after(exchange.headers)
    limit = policy.target.max_retry_wait
    if hint is not None and hint[0] > limit:
        return None, f"{hint[1]} {hint[0]:g} s is longer than --max-retry-wait {limit:g} s"
    if hint is not None:
        wait, why = hint
    else:
        # openai-python's schedule: 0.5 s doubling, with up to 25 % jitter so clients do not retry in step.
        backoff = min(INITIAL_BACKOFF_S * 2**attempt, limit)
        wait, why = backoff * (1 - 0.25 * random.random()), "exponential backoff"
    if policy.run_deadline is not None and time.monotonic() + wait >= policy.run_deadline:
        return None, "the wait would pass the run time limit"
    return wait, why
