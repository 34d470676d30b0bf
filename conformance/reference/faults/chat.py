"""Faults of chat completions, not streamed (CHAT-*)."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Scope

from ..errors import ApiError
from ._asgi import map_choices, on, rewriting, without
from ._registry import fault


@fault(
    "chat-json-as-text-plain",
    site="asgi",
    summary="Chat completions are sent as text/plain (body still JSON).",
    seen_in="compat-bugs A.4 (HKUDS/nanobot#2289)",
)
def _chat_json_as_text_plain(value: ASGIApp, **_: Any) -> ASGIApp:
    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes) -> Any:
        if status == 200 and on(scope["path"], "/chat/completions"):
            return status, {**headers, "content-type": "text/plain; charset=utf-8"}, body
        return None

    return rewriting(value, rewrite)


@fault(
    "chat-wrong-object",
    site="chat.response",
    summary='object is "chat.completions" (plural).',
    seen_in="ml-explore/mlx-examples#913",
)
def _chat_wrong_object(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "object": "chat.completions"}


@fault(
    "chat-missing-id",
    site="chat.response",
    summary="The chat completion has no `id`.",
    seen_in="openvinotoolkit/model_server#3553",
)
def _chat_missing_id(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return without(value, "id")


@fault(
    "chat-created-millis",
    site="chat.response",
    summary="`created` is in milliseconds.",
    seen_in="mlc-ai/web-llm#829, zed-industries/zed#32982",
)
def _chat_created_millis(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "created": value["created"] * 1000}


@fault(
    "chat-message-no-role",
    site="chat.response",
    summary="The assistant message has no `role`.",
    seen_in="tensorzero/tensorzero#1265",
)
def _chat_message_no_role(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return map_choices(value, lambda c: {**c, "message": without(c.get("message", {}), "role")})


@fault(
    "chat-finish-reason-empty",
    site="chat.response",
    summary='finish_reason is "" instead of a documented value.',
    seen_in="ollama/ollama#4357, qualcomm/GenieX#1246",
)
def _chat_finish_reason_empty(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return map_choices(value, lambda c: {**c, "finish_reason": ""})


@fault(
    "chat-usage-wrong-total",
    site="chat.response",
    summary="usage.total_tokens counts only completion tokens.",
    seen_in="compat-bugs E.29",
)
def _chat_usage_wrong_total(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    usage = value.get("usage", {})
    return {**value, "usage": {**usage, "total_tokens": usage.get("completion_tokens", 0)}}


@fault(
    "chat-no-logprobs-key",
    site="chat.response",
    summary="Choices omit the `logprobs` key.",
    seen_in="LiteLLM, llmock, fakellm (peers.md Prism proxy findings)",
)
def _chat_no_logprobs_key(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return map_choices(value, lambda c: without(c, "logprobs"))


@fault(
    "chat-ignores-max-tokens",
    site="request",
    summary="Chat ignores max_tokens and max_completion_tokens.",
    seen_in="research llama-peer.md (llama-cpp-python generates until the context is full)",
)
def _chat_ignores_max_tokens(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/chat/completions") and isinstance(value, dict):
        return without(value, "max_tokens", "max_completion_tokens")
    return value


@fault(
    "chat-ignores-n",
    site="request",
    summary="Chat answers one choice whatever n is.",
    seen_in="abetlen/llama-cpp-python#1906, InternLM/lmdeploy#1787",
)
def _chat_ignores_n(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/chat/completions") and isinstance(value, dict):
        return without(value, "n")
    return value


@fault(
    "chat-rejects-max-completion-tokens",
    site="request",
    summary="max_completion_tokens is refused as an unknown parameter (pydantic extra_forbidden).",
    seen_in="1Panel-dev/MaxKB#2912, NVIDIA/garak#748",
)
def _chat_rejects_max_completion_tokens(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/chat/completions") and isinstance(value, dict) and "max_completion_tokens" in value:
        return ApiError(400, "Extra inputs are not permitted", param="max_completion_tokens", code="extra_forbidden")
    return value
