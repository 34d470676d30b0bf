"""Faults of the models area: the model list, retrieve and its 404, GET /models/ (MODELS-0xx).

Model delete (MODELS-1xx) is checked with the legacy endpoints: see :mod:`.legacy`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp

from ..errors import ApiError
from ._asgi import declined, intercept, without
from ._registry import fault, variation

# list ---------------------------------------------------------------------------------------------


@fault(
    "models-bare-array",
    site="models.list",
    summary="GET /models answers a bare JSON array, not {object, data}.",
    seen_in="early Ollama / h2ogpt#1452 style lists",
)
def _models_bare_array(value: dict[str, Any], **_: Any) -> Any:
    return value.get("data", [])


@fault(
    "models-no-list-object",
    site="models.list",
    summary='The model list has no "object": "list".',
    seen_in="obot-platform/tools#445",
)
def _models_no_list_object(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return without(value, "object")


@fault(
    "models-missing-object",
    site="models.list",
    summary='Model entries lack "object": "model".',
    seen_in="compat-bugs G.37",
)
def _models_missing_object(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "data": [without(model, "object") for model in value.get("data", [])]}


@fault(
    "models-missing-created",
    site="models.list",
    summary="Model objects in GET /v1/models have no `created` timestamp.",
    seen_in="LM Studio (webai-at-home#208)",
)
def _models_missing_created(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "data": [without(model, "created") for model in value.get("data", [])]}


@fault(
    "models-created-millis",
    site="models.list",
    summary="Model `created` is in milliseconds.",
    seen_in="mlc-ai/web-llm#829, EricLBuehler/mistral.rs#1805",
)
def _models_created_millis(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "data": [{**model, "created": model["created"] * 1000} for model in value.get("data", [])]}


@fault(
    "models-missing-owned-by",
    site="models.list",
    summary="Model entries lack `owned_by`.",
    seen_in="compat-bugs G.37 (TheoKanning/openai-java#346)",
)
def _models_missing_owned_by(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "data": [without(model, "owned_by") for model in value.get("data", [])]}


@fault(
    "models-empty-list",
    site="models.list",
    summary="GET /models lists nothing although models answer.",
    seen_in="seed 003; madroidmaq/mlx-omni-server#130 (load-on-demand)",
)
def _models_empty_list(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "data": []}


@fault(
    "models-list-omits-chat",
    site="models.list",
    summary="The chat model answers but is not listed.",
    seen_in="seed 003 (model list and callable names disagree); QuantumNous/new-api#1917",
)
def _models_list_omits_chat(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "data": [m for m in value.get("data", []) if m.get("id") != "ref-chat"]}


# retrieve -----------------------------------------------------------------------------------------


@fault(
    "models-retrieve-wrong-id",
    site="models.retrieve",
    summary="GET /models/{id} answers with the upstream name, not the requested id.",
    seen_in="seed 003 (model name mapping in gateways)",
)
def _models_retrieve_wrong_id(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "id": f"upstream/{value.get('id')}"}


@fault(
    "models-retrieve-unknown-200",
    site="error",
    summary="GET /models/{id} invents a model for any unknown id instead of answering 404.",
    seen_in="qualcomm/GenieX#640 (retrieve of any name succeeds)",
)
def _models_retrieve_unknown_200(value: tuple[int, Any], *, api_error: ApiError, path: str = "", **_: Any) -> Any:
    if api_error.code == "model_not_found" and "/models/" in path:
        model_id = path.split("/models/", 1)[1]
        return 200, {"id": model_id, "object": "model", "created": 1700000000, "owned_by": "system"}
    return value


# paths --------------------------------------------------------------------------------------------


@fault(
    "models-trailing-slash-500",
    site="asgi",
    summary="GET /models/ is read as a model with an empty id and crashes.",
    seen_in="qualcomm/GenieX#640 (model name is empty)",
)
def _models_trailing_slash_500(value: ASGIApp, **_: Any) -> ASGIApp:
    body = json.dumps({"error": "model name is empty"}).encode()
    return intercept(
        value,
        lambda scope: (500, {"content-type": "application/json"}, body) if scope["path"].endswith("/models/") else None,
    )


@variation(
    "models-retrieve-unsupported-404",
    site="asgi",
    summary="No GET /models/{model} route: every /models/<id> is a 404 with the error envelope (the list works).",
    seen_in="llama.cpp server b11434 (GET /v1/models/<listed id> → 404 not_found_error 'File Not Found')",
)
def _models_retrieve_unsupported(value: ASGIApp, **_: Any) -> ASGIApp:
    return declined(value, prefix="models/", status=404)
