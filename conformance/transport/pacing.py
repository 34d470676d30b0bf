"""How many requests are in flight, and whether a request's silence was its own.

:class:`Slots` is the concurrency limit, which can come down while the run lasts: a provider that
serves one request at a time gets one at a time. :class:`Flight` keeps every attempt of the run: when
it went, when its answer began, last moved and ended, which attempts of ours were in flight before it
(its ``ahead``) and whether any other was in flight beside it at all. That is what makes a timeout
defensible:

* an attempt that got no answer **alone** -- no other request of ours in flight at any moment of its
  wait -- missed on its own: the provider was free;
* any other silence may be a request waiting behind another one of ours on a provider that serves one
  at a time (whichever reached it first: threads race to the socket). It is never a verdict; the
  policy sends the request again, one request at a time.

A request that got no answer alone is sent again once the provider answered something since, or after
a pause as long as that silence, at most the cool-down (:meth:`Flight.answered_since`): a provider that
stalled gets the time to come back. A
provider is taken to serve one request at a time when answers keep coming only after the earlier
requests ended, having waited behind them, and none was ever served beside an earlier one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Serial detection: an answer that came only after the earlier requests ended, after a wait of at least
# this long spent mostly behind them, is one sign; this many signs and no contrary one make it serial.
QUEUED_WAIT_S = 0.25
SERIAL_SIGNS = 2
# Clocks of two threads: an earlier request ended "before" an answer when it did so within this margin.
MARGIN_S = 0.05


class Slots:
    """The concurrency limit, as slots a thread holds while its request is in flight; the limit may come
    down (never below one) while requests are in flight: new ones then wait until few enough are left."""

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 1)
        self.used = 0
        self._changed = threading.Condition()

    def acquire(self, count: int = 1) -> int:
        """Take ``count`` slots (at most the limit); returns how many were taken."""
        with self._changed:
            count = min(count, self.limit)
            while self.used + count > self.limit:
                self._changed.wait()
                count = min(count, self.limit)
            self.used += count
            return count

    def release(self, count: int) -> None:
        with self._changed:
            self.used -= count
            self._changed.notify_all()

    def lower(self, limit: int) -> bool:
        """Bring the limit down to ``limit``; whether it changed."""
        with self._changed:
            if limit >= self.limit:
                return False
            self.limit = max(limit, 1)
            return True


@dataclass(eq=False)
class Outcome:
    """What became of one request in the end, shared by its attempts: ``answered``, ``timeout`` (it got no
    answer, the last time alone) or ``not sent``; None while it lasts."""

    final: str | None = None


@dataclass(eq=False)
class Attempt:
    """One attempt of one request, on the wire."""

    start: float
    limit_s: float
    request: Outcome = field(default_factory=Outcome)
    ahead: tuple[Attempt, ...] = ()  # in flight when it went
    company: bool = False  # another attempt of ours was in flight at some moment of this one
    served: float | None = None  # the first byte of the body (or the end of an empty one)
    moved: float | None = None  # the last byte of the body so far
    ended: float | None = None
    answered: bool = False

    def alone(self) -> bool:
        """Whether no other request of ours was in flight at any moment of this attempt."""
        return not self.company

    def queued_until(self, now: float) -> float:
        """When the earlier requests of ours that were answered before this one began to be: the time this
        one spent waiting behind them (its start when there were none)."""
        ends = [a.ended for a in self.ahead if a.ended is not None and a.ended <= now + MARGIN_S]
        return max([self.start, *ends])

    def busy(self, since: float, until: float) -> bool:
        """Whether bytes of this attempt's answer arrived between ``since`` and ``until``."""
        return self.served is not None and self.served <= until and (self.moved or self.ended or until) >= since


@dataclass
class Flight:
    """Every attempt of the run, those in flight, and what their answers say about how the provider
    serves them."""

    clock: Callable[[], float] = time.monotonic
    queued_signs: int = 0
    parallel_signs: int = 0
    history: list[Attempt] = field(default_factory=list)
    last_answer: float = float("-inf")  # when an answer of the provider last ended
    _flying: list[Attempt] = field(default_factory=list)
    _lock: threading.Condition = field(default_factory=threading.Condition)

    def start(self, limit_s: float, request: Outcome | None = None) -> Attempt:
        with self._lock:
            attempt = Attempt(self.clock(), limit_s, request or Outcome(), tuple(self._flying), bool(self._flying))
            for other in self._flying:
                other.company = True
            self._flying.append(attempt)
            self.history.append(attempt)
        return attempt

    def moving(self, attempt: Attempt) -> None:
        """Bytes of the attempt's body arrived."""
        now = self.clock()
        if attempt.served is None:
            attempt.served = now
        attempt.moved = now

    def end(self, attempt: Attempt, *, answered: bool) -> None:
        with self._lock:
            if attempt.ended is not None:
                return
            attempt.ended, attempt.answered = self.clock(), answered
            if attempt.served is None and answered:
                attempt.served = attempt.ended
            self._flying = [a for a in self._flying if a is not attempt]
            if answered:
                self.last_answer = attempt.ended
                self._observe(attempt)
                self._lock.notify_all()

    def answered_since(self, since: float, *, wait: float) -> bool:
        """Wait up to ``wait`` seconds until the provider answers something that ends after ``since``
        (monotonic seconds); whether it did."""
        with self._lock:
            return self._lock.wait_for(lambda: self.last_answer > since, timeout=max(wait, 0.0))

    def _observe(self, attempt: Attempt) -> None:
        served = attempt.served
        if not attempt.ahead or served is None:
            return
        if any((a.ended if a.ended is not None else float("inf")) > served + MARGIN_S for a in attempt.ahead):
            self.parallel_signs += 1  # served while an earlier request of ours was still in flight
            return
        behind = attempt.queued_until(served) - attempt.start
        waited = served - attempt.start
        if waited >= QUEUED_WAIT_S and behind >= waited / 2:
            self.queued_signs += 1

    @property
    def serial(self) -> bool:
        """Whether the answers so far show a provider that serves one request at a time."""
        return self.queued_signs >= SERIAL_SIGNS and self.parallel_signs == 0

    def stalled(self, missed: Attempt) -> bool:
        """Whether an attempt that got no answer shows the provider stalled -- judged once the run is over:
        no request of ours that was in flight beside it got no answer in the end (a runaway that may have
        held a provider serving one request at a time), and none was being answered in the second half of
        its wait (the provider was busy with it)."""
        end = missed.ended if missed.ended is not None else missed.start + missed.limit_s
        beside = [a for a in self.history if a is not missed and a.start < end and (a.ended or end) > missed.start]
        if any(a.request.final == "timeout" for a in beside):
            return False
        return not any(a.busy(missed.start + (end - missed.start) / 2, end) for a in beside)
