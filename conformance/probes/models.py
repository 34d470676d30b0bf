"""Probes of the model checks: retrieving listed models, and GET /models/ with a trailing slash. (GET /models
itself, which every area reads, is in base.py.)"""

from __future__ import annotations

from typing import Any

from conformance import expect
from conformance.core.results import NotApplicable
from conformance.engine import probe
from conformance.probes.base_url import Sent, send_following
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange

# A handful is enough to catch a broken retrieve route without paying one request per model.
RETRIEVED = 5


def model_list(listing: Exchange) -> list[Any]:
    """The `data` array, or NotApplicable when MODELS-001 already fails (one rule, one verdict)."""
    try:
        body = listing.json()
    except (ValueError, UnicodeDecodeError):
        raise NotApplicable("the model list is not JSON (see MODELS-001)") from None
    if listing.status != 200 or not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise NotApplicable("no model list to inspect (see MODELS-001)")
    return body["data"]


def model_objects(listing: Exchange) -> list[dict[str, Any]]:
    return [item for item in model_list(listing) if isinstance(item, dict)]


def _retrieves(model_id: str, exchange: Exchange) -> bool:
    """What MODELS-007 accepts of one retrieval (it stops at the first that fails)."""
    try:
        expect.status(exchange, 200)
        body = expect.json_object(exchange)
    except Exception:
        return False
    return body.get("id") == model_id


@probe
def listed_model_retrievals(models_listing: Exchange, client: HttpClient) -> tuple[tuple[str, Exchange], ...]:
    """GET /models/{id} for the first listed models, in order, each id with its exchange; retrieval stops
    after the first one that does not retrieve as listed (none where there is no list)."""
    try:
        listed = model_objects(models_listing)
    except NotApplicable:
        return ()
    ids = [m["id"] for m in listed if isinstance(m.get("id"), str) and m["id"]]
    sent: list[tuple[str, Exchange]] = []
    for model_id in ids[:RETRIEVED]:
        exchange = client.request("GET", f"models/{model_id}")
        sent.append((model_id, exchange))
        if not _retrieves(model_id, exchange):
            break
    return tuple(sent)


@probe
def models_trailing_slash(client: HttpClient) -> Sent:
    # A same-origin 307/308 is followed once, as the SDKs follow it (see probes/base_url.py).
    return send_following(client, "GET", "models/")
