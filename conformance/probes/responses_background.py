"""Probes of the background response checks (conformance/checks/responses_background.py), capability
``responses_background``: seven small requests (more while a response still runs).

One background response is created and polled with ``GET /responses/{id}`` until it has finished, waiting
:data:`WAITS` seconds between polls only while it still runs (a provider that finishes at once is polled
once, without waiting), for at most the run's ``--timeout`` in all: a 16-token answer that has not
finished by then is the provider's TIMEOUT, as a request unanswered within it is -- a bound, not a race
(a SKIP after a few seconds' polling would pass or skip with the provider's speed). A second one is
cancelled at once, then cancelled again (cancelling twice is idempotent). Whether a poll or a cancel
found the response running or finished is the provider's timing; the checks accept both answers wherever
the contract allows both, so no verdict depends on it. The cancel of a foreground response goes out with
the stored-response requests (:func:`conformance.probes.responses.responses_stored`), before that response
is deleted.

Both responses are tiny (``max_output_tokens`` 16) and must be stored (``store`` true: a background
response is read back by polling). The polled one is deleted at the end; the cancelled one too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Final

from conformance.core.results import NotApplicable
from conformance.engine import probe
from conformance.probes.responses import body, declared
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange

#: Seconds waited before each further poll, only while the response is still running; the waits stop once
#: they would pass the run's --timeout in all.
WAITS: Final = (0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0)
RUNNING: Final = ("queued", "in_progress")


def background_body(client: HttpClient, model: str) -> dict[str, Any]:
    return body(model, client, background=True, store=True)


def response_id(exchange: Exchange) -> str | None:
    """The id of a served response object, or None."""
    try:
        value = exchange.json().get("id") if exchange.status == 200 else None
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


def status_of(exchange: Exchange) -> Any:
    try:
        return exchange.json().get("status") if exchange.status == 200 else None
    except (ValueError, AttributeError):
        return None


@dataclass(frozen=True)
class Polled:
    """A background response created, then polled until it finished or :data:`POLLS` polls were made."""

    created: Exchange
    response_id: str | None
    polls: tuple[Exchange, ...]


@dataclass(frozen=True)
class Cancelled:
    """A background response created, cancelled at once, then cancelled again."""

    created: Exchange
    response_id: str | None
    cancelled: Exchange | None
    again: Exchange | None


def background_model(client: HttpClient, responses_model: str) -> str:
    """The model, unless responses_background (or the storage it needs) is declared absent."""
    declared(client.target, "responses_background")
    if client.target.capabilities is not None and "responses_store" not in client.target.capabilities:
        raise NotApplicable("background responses are read back from storage: responses_store is declared absent")
    return responses_model


@probe
def responses_background_poll(client: HttpClient, responses_model: str) -> Polled:
    """A background response created, polled until it finished (for at most --timeout), then deleted."""
    model = background_model(client, responses_model)
    created = client.request("POST", "responses", json_body=background_body(client, model))
    found = response_id(created)
    if found is None:
        return Polled(created, None, ())
    polls = [client.request("GET", f"responses/{found}")]
    waited = 0.0
    for wait in WAITS:
        if status_of(polls[-1]) not in RUNNING or waited + wait > client.target.timeout:
            break
        time.sleep(wait)
        waited += wait
        polls.append(client.request("GET", f"responses/{found}"))
    client.request("DELETE", f"responses/{found}")
    return Polled(created, found, tuple(polls))


@probe
def responses_background_cancel(client: HttpClient, responses_model: str) -> Cancelled:
    """A background response created, cancelled at once, cancelled again, then deleted."""
    model = background_model(client, responses_model)
    created = client.request("POST", "responses", json_body=background_body(client, model))
    found = response_id(created)
    if found is None:
        return Cancelled(created, None, None, None)
    cancelled = client.request("POST", f"responses/{found}/cancel")
    again = client.request("POST", f"responses/{found}/cancel")
    client.request("DELETE", f"responses/{found}")
    return Cancelled(created, found, cancelled, again)
