"""The run's limits: the request and token budget (:class:`Usage`, :class:`BudgetExhausted`) and how long
a 429/503 asks to be left alone (:func:`retry_after`). The circuit breaker is :mod:`.breaker`."""

from __future__ import annotations

import contextlib
import email.utils
import time
from dataclasses import dataclass


class BudgetExhausted(Exception):
    """The run's request or token budget (or its time) is spent; the check that needed a request is skipped."""


@dataclass
class Usage:
    """What the run cost: requests sent and tokens the provider billed by its own usage fields; plus how
    often the politeness machinery acted (retries after 429/503, requests sent again after no answer,
    attempts that cost a whole time limit, breakers opened, requests not sent) and the concurrency the
    run ended with (lower than asked when the provider turned out to serve one request at a time)."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    resent: int = 0
    timeouts: int = 0  # attempts that ended at their time limit: no answer, or a stream still going
    breaker_trips: int = 0
    not_sent: int = 0
    concurrency: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "retries": self.retries,
            "resent": self.resent,
            "timeouts": self.timeouts,
            "breaker_trips": self.breaker_trips,
            "not_sent": self.not_sent,
            "concurrency": self.concurrency,
        }


# What the breaker counts as "no answer": the errors that cost a full time limit each ("duration": a stream
# still going at its time limit).
UNANSWERED = ("timeout", "duration")
RETRY_STATUSES = (429, 503)
INITIAL_BACKOFF_S = 0.5  # openai-python's INITIAL_RETRY_DELAY


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
