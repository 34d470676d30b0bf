"""Faults of the streamed Responses API (RESP-STREAM-*, RESP-TOOL-003) and the legal data-only stream.

Each acts on the plain streamed request (no tools) or on the streamed call alone, so that one fault breaks
one rule; the events are the dicts of the ``responses.events`` site, each with its ``sequence_number``.
"""

from __future__ import annotations

import copy
from typing import Any

from ._registry import fault, variation


def _plain(request: Any) -> bool:
    return isinstance(request, dict) and not request.get("tools")


def _called(request: Any) -> bool:
    return isinstance(request, dict) and bool(request.get("tools"))


def _without(value: list[Any], *types: str) -> list[Any]:
    return [event for event in value if not (isinstance(event, dict) and event.get("type") in types)]


@fault(
    "responses-stream-json-content-type",
    site="stream.headers",
    summary="A streamed response is labelled Content-Type: application/json.",
    seen_in="shared/research/peers.md (LiteLLM answers a Responses stream with a mislabelled body); the chat "
    "fault stream-content-type-json",
)
def _json_content_type(value: dict[str, str], *, kind: str = "", request: Any = None, **_: Any) -> dict[str, str]:
    return {**value, "content-type": "application/json"} if kind == "responses" and _plain(request) else value


@fault(
    "responses-stream-delta-before-item",
    site="responses.events",
    summary="The text deltas come without response.output_item.added and response.content_part.added.",
    seen_in="Oaklight/llm-rosetta#56 (no output_item.added before text deltas: Codex 'OutputTextDelta without "
    "active item')",
)
def _delta_before_item(value: list[Any], *, request: Any = None, **_: Any) -> list[Any]:
    if not _plain(request):
        return value
    return _without(value, "response.output_item.added", "response.content_part.added")


@fault(
    "responses-stream-no-indexes",
    site="responses.events",
    summary="No event carries output_index or content_index: items and parts are named by item_id alone.",
    seen_in="ggml-org/llama.cpp llama-server (build 11434, scored by this suite: openai-python raises TypeError, "
    "openai-node 'missing output at index undefined'); Oaklight/llm-rosetta#56",
)
def _no_indexes(value: list[Any], *, request: Any = None, **_: Any) -> list[Any]:
    if not _plain(request):
        return value
    drop = ("output_index", "content_index")
    return [{key: item for key, item in event.items() if key not in drop} for event in value]


@fault(
    "responses-stream-no-text-done",
    site="responses.events",
    summary="response.output_text.done is never sent.",
    seen_in="ogx-ai/ogx#5309 (Llama Stack never emits response.output_text.done)",
)
def _no_text_done(value: list[Any], *, request: Any = None, **_: Any) -> list[Any]:
    return _without(value, "response.output_text.done") if _plain(request) else value


@fault(
    "responses-stream-completed-empty-output",
    site="responses.events",
    summary="response.completed carries output: [] after the text was streamed.",
    seen_in="QuantumNous/new-api#4362, open-webui/open-webui#27800, BerriAI/litellm#32724 (completed with an "
    "empty output)",
)
def _completed_empty(value: list[Any], *, request: Any = None, **_: Any) -> list[Any]:
    if not _plain(request):
        return value
    events = copy.deepcopy(value)
    for event in events:
        if event.get("type") == "response.completed":
            event["response"]["output"] = []
    return events


@fault(
    "responses-stream-no-sequence-number",
    site="responses.events",
    summary="No event carries sequence_number.",
    seen_in="Wei-Shaw/sub2api#7129 (grok CLI: missing field sequence_number), onyx-dot-app/onyx#13624",
)
def _no_sequence(value: list[Any], *, request: Any = None, **_: Any) -> list[Any]:
    if not _plain(request):
        return value
    return [{key: item for key, item in event.items() if key != "sequence_number"} for event in value]


@fault(
    "responses-stream-delta-wrong-item-id",
    site="responses.events",
    summary="The text events name the item with its prefix doubled (msg_msg_…), not the id the item was added with.",
    seen_in="shared/research/peers.md (llm-mock-api 0.1.2 doubles item ids: msg_msg_…)",
)
def _wrong_item_id(value: list[Any], *, request: Any = None, **_: Any) -> list[Any]:
    if not _plain(request):
        return value
    events = copy.deepcopy(value)
    for event in events:
        if isinstance(event.get("item_id"), str):
            event["item_id"] = "msg_" + event["item_id"]
    return events


@fault(
    "responses-stream-done-text-differs",
    site="responses.events",
    summary="output_text.done and content_part.done carry only the last delta, not the whole text.",
    seen_in="lidge-jun/opencodex#4652 class (done events and deltas that disagree); gateways that forward the "
    "last upstream chunk as the done text",
)
def _done_text_differs(value: list[Any], *, request: Any = None, **_: Any) -> list[Any]:
    if not _plain(request):
        return value
    events = copy.deepcopy(value)
    deltas = [e["delta"] for e in events if e.get("type") == "response.output_text.delta"]
    for event in events:
        if event.get("type") == "response.output_text.done" and deltas:
            event["text"] = deltas[-1]
        if event.get("type") == "response.content_part.done" and deltas:
            event["part"]["text"] = deltas[-1]
    return events


@fault(
    "responses-stream-error-chat-shape",
    site="responses.events",
    summary='The stream stops after response.in_progress with a chat-style {"error": {...}} event (no type).',
    seen_in="shared/research/peers.md (LiteLLM answers stream: true with one chat-style error event, then [DONE])",
)
def _error_chat_shape(value: list[Any], *, request: Any = None, **_: Any) -> list[Any]:
    if not _plain(request):
        return value
    error = {"error": {"message": "upstream failed", "type": "server_error", "param": None, "code": None}}
    return [*value[:2], {**error, "sequence_number": 2}]


@fault(
    "responses-stream-args-not-streamed",
    site="responses.events",
    summary="A streamed function call sends no function_call_arguments.delta: the arguments come in the done "
    "events only.",
    seen_in="lidge-jun/opencodex#4652 (done-only Responses tool arguments); moly-ai/moly-ai#563",
)
def _args_not_streamed(value: list[Any], *, request: Any = None, **_: Any) -> list[Any]:
    return _without(value, "response.function_call_arguments.delta") if _called(request) else value


@variation(
    "responses-stream-data-only",
    site="stream.frames",
    summary="Responses stream events without `event:` lines (data only): legal, the type is in the data.",
    seen_in="shared/research/peers.md (llm-mock-api 0.1.2 sends data-only Responses events)",
)
def _data_only(value: list[bytes], *, kind: str = "", **_: Any) -> list[bytes]:
    if kind != "responses":
        return value
    frames = []
    for frame in value:
        lines = [line for line in frame.decode().split("\n") if not line.startswith("event:")]
        frames.append("\n".join(lines).encode())
    return frames


@variation(
    "responses-stream-call-failed",
    site="responses.events",
    summary="The streamed function call fails after response.in_progress with a documented response.failed "
    "(status failed, error {code, message}): legal, a provider may fail a response.",
    seen_in="OpenAI API (response.failed with error.code server_error); vLLM and LiteLLM failures mid-stream",
)
def _call_failed(value: list[Any], *, request: Any = None, **_: Any) -> list[Any]:
    if not _called(request) or len(value) < 2:
        return value
    failed = copy.deepcopy(value[-1]["response"])
    failed.update(status="failed", output=[], error={"code": "server_error", "message": "The model failed."})
    return [*value[:2], {"type": "response.failed", "response": failed, "sequence_number": 2}]
