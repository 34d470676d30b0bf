"""The probes every area reads: the target, the HTTP client, GET /models and the model per capability.

A capability declared absent (``--capabilities``) stops its model probe, so nothing that needs that
model is sent; a capability without a model stops it with the reason.
"""

from __future__ import annotations

from conformance import builders
from conformance.core.results import NotApplicable, Unsupported
from conformance.engine import RunState, probe
from conformance.target import Target
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange

DECLARED_ABSENT = "not among the declared capabilities (--capabilities)"


@probe
def target(run_state: RunState) -> Target:
    return run_state.target


@probe
def client(run_state: RunState) -> HttpClient:
    return run_state.client


def _model(state: RunState, capability: str) -> str:
    # Probes are sent before preconditions are judged: a capability declared absent must stop its
    # probes here, or they would be sent anyway.
    declared = state.target.capabilities
    if declared is not None and capability not in declared:
        raise Unsupported(f"{capability}: {DECLARED_ABSENT}")
    choice = state.model_choice(capability)
    if choice.model is None:
        raise NotApplicable(f"no model for {capability}: {choice.detail}")
    return choice.model


def feature_declared(target: Target, feature: str) -> None:
    """Stop a probe, before any request, when its chat feature is declared absent (``chat,-tools``)."""
    if target.capabilities is not None and feature not in target.capabilities:
        raise Unsupported(f"{feature}: {DECLARED_ABSENT}")


@probe
def chat_model(run_state: RunState) -> str:
    return _model(run_state, "chat")


@probe
def completion_model(run_state: RunState) -> str:
    return _model(run_state, "completions")


@probe
def embedding_model(run_state: RunState) -> str:
    return _model(run_state, "embeddings")


@probe
def models_listing(run_state: RunState) -> Exchange:
    """``GET /models``, sent once: the model checks, model discovery and the property run read it."""
    return builders.list_models(run_state.client)


@probe
def models_in_use(run_state: RunState) -> dict[str, str]:
    """The model of each generation capability, configured or discovered (none where there is none)."""
    return {
        capability: choice.model
        for capability in ("chat", "completions", "embeddings")
        if (choice := run_state.model_choice(capability)).model is not None
    }
