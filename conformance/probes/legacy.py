"""Probes of the legacy checks: edits and engines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from conformance import builders
from conformance.engine import probe
from conformance.http import Exchange, HttpClient

if TYPE_CHECKING:
    from conformance.engine import RunState

from conformance.probes.endpoints import DEFAULT_EDIT_MODEL, EDIT_INPUT, EDIT_INSTRUCTION, UNKNOWN_ENGINE

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
