"""Faults of the deprecated edits and engines endpoints and of model delete (EDITS-*, ENGINES-*,
MODELS-1xx).

Most faults act on one route only, so that one fault breaks one rule; the ``*-unsupported-*``
variations model a provider that honestly does not offer an endpoint (404 with the error envelope),
which the suite must report UNSUPPORTED and never FAIL.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Scope

from ..errors import ApiError
from ._asgi import ENVELOPE_HEADERS, declined, envelope, rewriting, without
from ._registry import fault, variation

# edits --------------------------------------------------------------------------------------------


@fault(
    "edits-object-text-completion",
    site="edits.response",
    summary='Edits say "object": "text_completion" (the endpoint is served by the completions code).',
    seen_in="servers that implement /v1/edits by rewriting to /v1/completions",
)
def _edits_object_text_completion(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "object": "text_completion"}


@fault(
    "edits-choices-message",
    site="edits.response",
    summary="Edit choices carry a chat message instead of text.",
    seen_in="servers that implement /v1/edits by rewriting to /v1/chat/completions",
)
def _edits_choices_message(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    def as_message(choice: dict[str, Any]) -> dict[str, Any]:
        message = {"role": "assistant", "content": choice.get("text", "")}
        return {**without(choice, "text"), "message": message}

    return {**value, "choices": [as_message(choice) for choice in value.get("choices", [])]}


@fault(
    "edits-no-usage",
    site="edits.response",
    summary="Edits carry no usage.",
    seen_in="servers that do not count tokens on legacy routes",
)
def _edits_no_usage(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return without(value, "usage")


@fault(
    "edits-ignores-n",
    site="edits.response",
    summary="Edits answer one choice whatever n is.",
    seen_in="edit routes served by single-choice back ends",
)
def _edits_ignores_n(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "choices": value.get("choices", [])[:1]}


@variation(
    "edits-unsupported-404",
    site="asgi",
    summary="The provider does not offer edits: POST /edits is a 404 with the error envelope.",
    seen_in="OpenAI itself since the edits endpoint was shut down (January 2024)",
)
def _edits_unsupported(value: ASGIApp, **_: Any) -> ASGIApp:
    return declined(value, prefix="edits", status=404)


# engines ------------------------------------------------------------------------------------------


@fault(
    "engines-bare-array",
    site="engines.response",
    summary="GET /engines answers a bare JSON array, not {object: list, data}.",
    seen_in="legacy routes kept alive by hand in gateways",
)
def _engines_bare_array(value: dict[str, Any], *, route: str = "", **_: Any) -> Any:
    return value.get("data", []) if route == "list" else value


@fault(
    "engines-object-model",
    site="engines.response",
    summary='Engines say "object": "model" (the engines routes serve the model list).',
    seen_in="gateways that alias /v1/engines to /v1/models",
)
def _engines_object_model(value: Any, *, route: str = "", **_: Any) -> Any:
    if route == "list":
        return {**value, "data": [{**engine, "object": "model"} for engine in value.get("data", [])]}
    return {**value, "object": "model"}


@fault(
    "engines-missing-ready",
    site="engines.response",
    summary="Engines in the list carry no ready flag.",
    seen_in="gateways that build engines from model cards (no readiness)",
)
def _engines_missing_ready(value: Any, *, route: str = "", **_: Any) -> Any:
    if route != "list":
        return value
    return {**value, "data": [without(engine, "ready") for engine in value.get("data", [])]}


@fault(
    "engines-retrieve-404",
    site="asgi",
    summary="Listed engines cannot be retrieved: GET /engines/{id} is a 404.",
    seen_in="gateways that kept the engines list but not the retrieve route",
)
def _engines_retrieve_404(value: ASGIApp, **_: Any) -> ASGIApp:
    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes) -> Any:
        if status == 200 and "/engines/" in scope["path"]:
            engine = scope["path"].rsplit("/", 1)[-1]
            return 404, dict(ENVELOPE_HEADERS), envelope(f"No such engine: {engine}", code="engine_not_found")
        return None

    return rewriting(value, rewrite)


@fault(
    "engines-retrieve-any",
    site="error",
    summary="GET /engines/{id} invents an engine for any unknown id instead of answering 404.",
    seen_in="gateways that answer every id with a default engine",
)
def _engines_retrieve_any(value: tuple[int, Any], *, api_error: ApiError, path: str = "", **_: Any) -> Any:
    if api_error.code == "engine_not_found":
        engine = path.rsplit("/", 1)[-1]
        return 200, {"id": engine, "object": "engine", "created": None, "owner": "system", "ready": True}
    return value


@variation(
    "engines-unsupported-404",
    site="asgi",
    summary="The provider does not offer the deprecated engines: /engines routes are 404 with the envelope.",
    seen_in="OpenAI itself and most current servers (the engines endpoints are deprecated)",
)
def _engines_unsupported(value: ASGIApp, **_: Any) -> ASGIApp:
    return declined(value, prefix="engines", status=404)


# model delete -------------------------------------------------------------------------------------


@fault(
    "models-delete-unknown-200",
    site="asgi",
    summary='DELETE /models/{id} answers 200 "deleted": true for ids that do not exist.',
    seen_in="gateways whose delete is an idempotent no-op",
)
def _models_delete_unknown_200(value: ASGIApp, **_: Any) -> ASGIApp:
    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes) -> Any:
        if scope["method"] == "DELETE" and "/models/" in scope["path"] and status == 404:
            model = scope["path"].split("/models/", 1)[1]
            payload = json.dumps({"id": model, "object": "model", "deleted": True}).encode()
            return 200, dict(ENVELOPE_HEADERS), payload
        return None

    return rewriting(value, rewrite)


@fault(
    "models-delete-as-retrieve",
    site="models.delete",
    summary="DELETE /models/{id} is routed like GET: it answers the model and deletes nothing.",
    seen_in="routers that register /models/{id} for every method",
)
def _models_delete_as_retrieve(value: tuple[int, Any, bool], *, model_id: str = "", **_: Any) -> Any:
    return 200, {"id": model_id, "object": "model", "owned_by": "org-oai-conformance"}, False


@fault(
    "models-delete-noop",
    site="models.delete",
    summary='DELETE /models/{id} answers "deleted": true but the model still retrieves.',
    seen_in="soft-delete model registries whose reads ignore the deleted flag",
)
def _models_delete_noop(value: tuple[int, Any, bool], **_: Any) -> tuple[int, Any, bool]:
    return value[0], value[1], False
