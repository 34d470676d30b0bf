"""The run's limits: the request and token budget (:class:`Usage`, :class:`BudgetExhausted`), the circuit
breaker, and how long a 429/503 asks to be left alone (:func:`retry_after`)."""

from __future__ import annotations

import contextlib
import email.utils
import time
from dataclasses import dataclass

import httpx


class BudgetExhausted(Exception):
    """The run's request or token budget (or its time) is spent; the check that needed a request is skipped."""


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
UNANSWERED = ("timeout", "duration")
RETRY_STATUSES = (429, 503)
INITIAL_BACKOFF_S = 0.5  # openai-python's INITIAL_RETRY_DELAY


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
