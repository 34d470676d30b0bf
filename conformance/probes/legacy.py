"""Probes of the legacy checks: edits and engines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conformance import builders, expect
from conformance.core.results import NotApplicable
from conformance.engine import probe
from conformance.probes.endpoints import DEFAULT_EDIT_MODEL, EDIT_INPUT, EDIT_INSTRUCTION, UNKNOWN_ENGINE, quote
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange

if TYPE_CHECKING:
    from conformance.engine import RunState

ENGINES = "GET /engines"


def engines(listing: Exchange) -> list[dict[str, Any]]:
    expect.success(listing, ENGINES)
    try:
        body = listing.json()
    except (ValueError, UnicodeDecodeError):
        raise NotApplicable("the engine list is not JSON (see ENGINES-001)") from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise NotApplicable("no engine list (see ENGINES-001)")
    return [item for item in data if isinstance(item, dict)]


# -- edits and engines ----------------------------------------------------------------------------------


@probe
def edit_model(run_state: RunState) -> str:
    """The user's edit model, else a listed model named like one, else the documented default."""
    given = run_state.target.models.get("edits")
    if given:
        return given
    listed = [m for m in builders.model_ids(run_state.listing()) if "edit" in m.lower()]
    return listed[0] if listed else DEFAULT_EDIT_MODEL


@probe
def edit_response(edits_client: HttpClient, edit_model: str) -> Exchange:
    body = {"model": edit_model, "input": EDIT_INPUT, "instruction": EDIT_INSTRUCTION}
    return edits_client.request("POST", "edits", json_body=body)


@probe
def edit_n(edits_client: HttpClient, edit_model: str) -> Exchange:
    body = {"model": edit_model, "input": EDIT_INPUT, "instruction": EDIT_INSTRUCTION, "n": 2}
    return edits_client.request("POST", "edits", json_body=body)


@probe
def engines_listing(engines_client: HttpClient) -> Exchange:
    return engines_client.request("GET", "engines")


@probe
def engine_unknown(engines_client: HttpClient) -> Exchange:
    return engines_client.request("GET", f"engines/{UNKNOWN_ENGINE}")


@probe
def engine_retrieve(engines_listing: Exchange, client: HttpClient) -> Exchange | None:
    """GET /engines/{id} of the first listed engine; None (not sent) where none is listed."""
    try:
        listed = engines(engines_listing)
    except Exception:
        return None
    ids = [e["id"] for e in listed if isinstance(e.get("id"), str) and e["id"]]
    if not ids:
        return None
    return client.request("GET", f"engines/{quote(ids[0])}")
