"""Faults of structured outputs (CHAT-FORMAT-*): ``response_format`` json_object and json_schema.

Declining structured outputs honestly (a 400 with the envelope) is the legal variation
``chat-features-declined``, in :mod:`.chat_stream_options` with the other chat features.
"""

from __future__ import annotations

import copy
from typing import Any

from ..chat_features import schema_problem
from ..errors import ApiError
from ._asgi import on
from ._registry import fault


def _format_type(request: Any) -> str | None:
    fmt = request.get("response_format") if isinstance(request, dict) else None
    return fmt.get("type") if isinstance(fmt, dict) else None


def _without_format(value: Any) -> Any:
    return {key: item for key, item in value.items() if key != "response_format"}


@fault(
    "json-object-fenced",
    site="chat.response",
    summary='A json_object answer is wrapped in a Markdown code fence ("```json ... ```").',
    seen_in="Arthur-Ficial/apfel#101 (response_format json_object returns markdown-fenced JSON)",
)
def _json_object_fenced(value: dict[str, Any], *, request: Any = None, **_: Any) -> dict[str, Any]:
    if _format_type(request) != "json_object":
        return value
    edited = copy.deepcopy(value)
    for choice in edited.get("choices", []):
        message = choice.get("message") or {}
        if isinstance(message.get("content"), str):
            message["content"] = f"```json\n{message['content']}\n```"
    return edited


@fault(
    "json-schema-not-enforced",
    site="request",
    summary="response_format json_schema is accepted with a 200 and not enforced: the answer is plain text, "
    "streamed or not, and an invalid schema is never noticed.",
    seen_in="ggml-org/llama.cpp#24097 (json_schema silently accepted, not enforced), ggml-org/llama.cpp#19051",
)
def _json_schema_not_enforced(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/chat/completions") and _format_type(value) == "json_schema":
        return _without_format(value)
    return value


@fault(
    "stream-json-schema-not-enforced",
    site="request",
    summary="response_format json_schema is enforced only when not streaming: a streamed answer is plain text.",
    seen_in="ollama/ollama#14440 (structured outputs not enforced when streaming), waybarrios/vllm-mlx#635",
)
def _stream_json_schema_not_enforced(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/chat/completions") and _format_type(value) == "json_schema" and value.get("stream") is True:
        return _without_format(value)
    return value


@fault(
    "json-schema-invalid-500",
    site="request",
    summary="A response_format schema the server cannot compile is answered 500 instead of a 400.",
    seen_in="ggml-org/llama.cpp#17574 (unsupported schema → 500, the client retries), ggml-org/llama.cpp#23463",
)
def _invalid_schema_500(value: Any, *, path: str = "", **_: Any) -> Any:
    if not (on(path, "/chat/completions") and _format_type(value) == "json_schema"):
        return value
    spec = value["response_format"].get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if schema is not None and schema_problem(schema) is not None:
        return ApiError(500, "Failed to initialize samplers: failed to parse grammar", type="server_error")
    return value
