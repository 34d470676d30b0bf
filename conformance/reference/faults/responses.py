"""Faults of the Responses API object, errors and stored responses (RESP-*), each modelled on a real server's
or gateway's bug. The stream faults are in :mod:`.responses_stream`, the function-calling ones in
:mod:`.responses_tools`. Faults of the answer act on the request the rule judges (a created response, or
one route of the stored ones)."""

from __future__ import annotations

import copy
from typing import Any

from ..errors import ApiError, invalid_request
from ._asgi import on
from ._registry import fault

RESPONSES = "/responses"


def _created(route: str, request: Any) -> bool:
    return route == "create" and isinstance(request, dict)


def _texts(value: dict[str, Any]) -> list[dict[str, Any]]:
    """The output_text parts of the message items of a response (a deep copy is edited in place)."""
    return [
        part
        for item in value.get("output") or []
        if isinstance(item, dict) and item.get("type") == "message"
        for part in item.get("content") or []
        if isinstance(part, dict)
    ]


# -- the response object -----------------------------------------------------------------------------------


@fault(
    "responses-no-object-fields",
    site="responses.response",
    summary="The response object has no `object` and no `model`.",
    seen_in="Oaklight/llm-rosetta#56 (responses without id, object, model: Codex fails to parse them)",
)
def _no_object_fields(value: Any, *, route: str = "", request: Any = None, **_: Any) -> Any:
    if not _created(route, request):
        return value
    return {key: item for key, item in value.items() if key not in ("object", "model")}


@fault(
    "responses-text-part-untyped",
    site="responses.response",
    summary='The reply\'s content part is typed "text" (the Chat Completions name), not "output_text".',
    seen_in="ggml-org/llama.cpp#21174 review (output_text parts converted to type text); openai-python reads "
    "only output_text parts",
)
def _text_part_untyped(value: Any, *, route: str = "", request: Any = None, **_: Any) -> Any:
    if not _created(route, request):
        return value
    edited = copy.deepcopy(value)
    for part in _texts(edited):
        part["type"] = "text"
    return edited


@fault(
    "responses-usage-chat-names",
    site="responses.response",
    summary="usage is the Chat Completions object (prompt_tokens, completion_tokens), not input/output tokens.",
    seen_in="BerriAI/litellm#28899 (usage of translated Responses answers); gateways that copy chat usage over",
)
def _usage_chat_names(value: Any, *, route: str = "", request: Any = None, **_: Any) -> Any:
    if not _created(route, request) or not isinstance(value.get("usage"), dict):
        return value
    usage = value["usage"]
    counts = {"prompt_tokens": usage["input_tokens"], "completion_tokens": usage["output_tokens"]}
    return {**value, "usage": {**counts, "total_tokens": usage["total_tokens"]}}


@fault(
    "responses-cut-reported-completed",
    site="responses.response",
    summary='A reply cut by max_output_tokens is reported status "completed", without incomplete_details.',
    seen_in="shared/research/llama-peer.md (llama.cpp llama-server: completed for a reply cut at max_output_tokens)",
)
def _cut_completed(value: Any, *, route: str = "", request: Any = None, **_: Any) -> Any:
    if not _created(route, request) or value.get("status") != "incomplete":
        return value
    return {**value, "status": "completed", "incomplete_details": None}


@fault(
    "responses-input-parts-refused",
    site="request",
    summary="A message item whose content is an array of input_text parts is refused with a 400.",
    seen_in="lmstudio-ai/lmstudio-bug-tracker#261 class (content parts refused); Codex and the Agents SDK send parts",
)
def _input_parts_refused(value: Any, *, path: str = "", **_: Any) -> Any:
    if not (on(path, RESPONSES) and isinstance(value, dict) and isinstance(value.get("input"), list)):
        return value
    for i, item in enumerate(value["input"]):
        if isinstance(item, dict) and isinstance(item.get("content"), list):
            return invalid_request(f"input[{i}].content: Input should be a valid string", f"input[{i}].content")
    return value


@fault(
    "responses-json-schema-ignored",
    site="request",
    summary="text.format is dropped: a strict json_schema request is answered with prose.",
    seen_in="ggml-org/llama.cpp#19051 class (a schema that fails open); vLLM/llama.cpp Responses layers that "
    "translate only input and tools",
)
def _json_schema_ignored(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, RESPONSES) and isinstance(value, dict) and "text" in value:
        return {key: item for key, item in value.items() if key != "text"}
    return value


@fault(
    "responses-error-flat",
    site="error",
    summary='A bad parameter on /responses is refused with a flat {"detail": ...} body, not the error envelope.',
    seen_in='shared/research/peers.md (FastAPI servers answer {"detail": ...}: llama-cpp-python, LiteLLM routes)',
)
def _error_flat(value: tuple[int, Any], *, api_error: ApiError | None = None, path: str = "", **_: Any) -> Any:
    if on(path, RESPONSES) and api_error is not None and api_error.param == "temperature":
        return value[0], {"detail": api_error.message}
    return value


# -- stored responses --------------------------------------------------------------------------------------


@fault(
    "responses-store-retrieve-wrong",
    site="responses.response",
    summary="A stored response is read back without its output.",
    seen_in="QuantumNous/new-api#4362 class (gateways that keep the response envelope, not the output items)",
)
def _retrieve_wrong(value: Any, *, route: str = "", **_: Any) -> Any:
    return {**value, "output": []} if route == "retrieve" else value


@fault(
    "responses-store-previous-ignored",
    site="request",
    summary="previous_response_id is accepted and ignored: the call a function_call_output answers is unknown.",
    seen_in="vllm-project/vllm#42407 (previous_response_id without a response store); llama.cpp serves no store",
)
def _previous_ignored(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, RESPONSES) and isinstance(value, dict) and "previous_response_id" in value:
        return {key: item for key, item in value.items() if key != "previous_response_id"}
    return value


@fault(
    "responses-store-delete-flat",
    site="responses.response",
    summary='DELETE /responses/{id} answers {"deleted": true} without the id and object.',
    seen_in="beranekio/openai-compatibility-tester (Responses CRUD findings: delete bodies that are not the "
    "deletion object)",
)
def _delete_flat(value: Any, *, route: str = "", **_: Any) -> Any:
    return {"deleted": True} if route == "delete" else value
