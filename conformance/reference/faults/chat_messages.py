"""Faults of message forms (CHAT-MSG-*): documented roles, content arrays and ``name`` refused, and an image
part answered with a 500 instead of a decline.

Declining images honestly (a 400 with the envelope) is the legal variation ``chat-features-declined``, in
:mod:`.chat_stream_options` with the other chat features.
"""

from __future__ import annotations

from typing import Any

from ..errors import ApiError, invalid_request
from ._asgi import on
from ._registry import fault


def _messages(value: Any, path: str) -> list[dict[str, Any]]:
    if not (on(path, "/chat/completions") and isinstance(value, dict) and isinstance(value.get("messages"), list)):
        return []
    return [message for message in value["messages"] if isinstance(message, dict)]


@fault(
    "developer-role-rejected",
    site="request",
    summary='A message with role "developer" is refused with a 400: the chat template knows no such role.',
    seen_in="peonist-ai/halogen-flash-server#32 (400 Unexpected message role); earendil-works/pi#1578 (DeepInfra 422)",
)
def _developer_rejected(value: Any, *, path: str = "", **_: Any) -> Any:
    if any(message.get("role") == "developer" for message in _messages(value, path)):
        return invalid_request("chat template rejected the request: Unexpected message role.")
    return value


@fault(
    "content-parts-rejected",
    site="request",
    summary="Message content given as an array of parts is refused with a 400: only a string is read.",
    seen_in="lemonade-sdk/lemonade#629 (type must be string, but is array), qualcomm/GenieX#683 (unknown content type)",
)
def _content_parts_rejected(value: Any, *, path: str = "", **_: Any) -> Any:
    for i, message in enumerate(_messages(value, path)):
        if isinstance(message.get("content"), list):
            return invalid_request(
                "Invalid JSON: [json.exception.type_error.302] type must be string, but is array",
                f"messages[{i}].content",
            )
    return value


@fault(
    "message-name-rejected",
    site="request",
    summary="A message carrying the documented `name` field is refused with a 400.",
    seen_in="Groq (console.groq.com/docs/openai: messages[].name is not supported, 400; compat-bugs.md)",
)
def _name_rejected(value: Any, *, path: str = "", **_: Any) -> Any:
    for i, message in enumerate(_messages(value, path)):
        if "name" in message and message.get("role") != "function":
            return invalid_request(f"'messages.{i}' : property 'name' is unsupported", f"messages[{i}].name")
    return value


@fault(
    "vision-500",
    site="request",
    summary="A user message with an image_url part is answered 500 (no vision model loaded) instead of a decline.",
    seen_in="ggml-org/llama.cpp#15377 and #13566 (500 image input is not supported), vllm-project/vllm#11629",
)
def _vision_500(value: Any, *, path: str = "", **_: Any) -> Any:
    for message in _messages(value, path):
        parts = message.get("content") if isinstance(message.get("content"), list) else []
        if any(isinstance(part, dict) and part.get("type") == "image_url" for part in parts):
            hint = "image input is not supported - hint: if this is unexpected, you may need to provide the mmproj"
            return ApiError(500, hint, type="server_error")
    return value
