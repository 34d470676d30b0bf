"""Stream faults: how real servers break server-sent event streams (compat-bugs sections B–E).

Each works on the list of stream items (dict chunks, then the string "[DONE]") or on the serialised
frames, and most apply only to the *plain* streamed request (no stream_options, tools, n or logprobs)
so that one fault breaks one rule: the suite's other stream probes stay clean.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from starlette.types import ASGIApp, Scope

from .errors import ApiError
from .faults import _on, _rewriting, fault

DONE = "[DONE]"


def plain(request: Any) -> bool:
    """The suite's plain streamed chat request: no stream_options, tools, n > 1 or logprobs."""
    return (
        isinstance(request, dict)
        and not request.get("stream_options")
        and not request.get("tools")
        and request.get("n") in (None, 1)
        and not request.get("logprobs")
    )


def _chunks(value: list[Any]) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)]


def _choices(chunk: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in chunk.get("choices", []) if isinstance(c, dict)]


def _each_choice(value: list[Any], change: Any) -> list[Any]:
    """Apply ``change(choice)`` (in place, on a deep copy) to every choice of every chunk."""
    items = copy.deepcopy(value)
    for chunk in _chunks(items):
        for choice in _choices(chunk):
            change(choice)
    return items


def _content_positions(value: list[Any]) -> list[int]:
    return [
        i
        for i, item in enumerate(value)
        if isinstance(item, dict) and any((c.get("delta") or {}).get("content") for c in _choices(item))
    ]


def _plain_only(function: Any) -> Any:
    def apply(value: Any, *, request: Any = None, **ctx: Any) -> Any:
        return function(value, request=request, **ctx) if plain(request) else value

    return apply


# -- framing ----------------------------------------------------------------------------------------------


@fault(
    "stream-no-final-blank-line",
    site="stream.frames",
    summary="The last event ([DONE]) is not followed by a blank line.",
    seen_in="hand-written SSE writers; WHATWG parsers then discard the event",
)
def _no_final_blank_line(value: list[Any], *, kind: str = "", **_: Any) -> list[Any]:
    if kind != "chat" or not value or not isinstance(value[-1], bytes):
        return value
    return [*value[:-1], value[-1].rstrip(b"\n")]


@fault(
    "stream-chunk-after-done",
    site="chat.chunks",
    summary="A chunk is sent after data: [DONE].",
    seen_in="agentscope-ai/agentscope-java#2073 (clients filtering [DONE] instead of stopping)",
)
def _chunk_after_done(value: list[Any], **_: Any) -> list[Any]:
    chunks = _chunks(value)
    return [*value, copy.deepcopy(chunks[-1])] if chunks else value


@fault(
    "stream-linger-after-done",
    site="stream.frames",
    summary="The body stays open 1.5 s after [DONE].",
    seen_in="openai/openai-python#3440 (clients drained until EOF)",
)
@_plain_only
def _linger_after_done(value: list[Any], *, kind: str = "", **_: Any) -> list[Any]:
    return [*value, 1.5] if kind == "chat" else value


@fault(
    "stream-false-streams",
    site="request",
    summary='"stream": false is streamed anyway.',
    seen_in="Ollama's native API streams by default",
)
def _stream_false_streams(value: Any, *, path: str = "", **_: Any) -> Any:
    if _on(path, "/chat/completions") and isinstance(value, dict) and value.get("stream") is False:
        return {**value, "stream": True}
    return value


@fault(
    "stream-ignored",
    site="request",
    summary='"stream": true is ignored: one JSON completion comes back.',
    seen_in="Prism mock (peers.md)",
)
def _stream_ignored(value: Any, *, path: str = "", **_: Any) -> Any:
    if _on(path, "/chat/completions") and isinstance(value, dict) and value.get("stream") is True:
        return {k: v for k, v in value.items() if k not in ("stream", "stream_options")}
    return value


# -- chunks ----------------------------------------------------------------------------------------------------


@fault(
    "stream-wrong-object",
    site="chat.chunks",
    summary='Chunks say "chat.completions.chunk".',
    seen_in="ml-explore/mlx-examples#913",
)
def _wrong_object(value: list[Any], **_: Any) -> list[Any]:
    return [{**item, "object": "chat.completions.chunk"} if isinstance(item, dict) else item for item in value]


@fault(
    "stream-missing-created",
    site="chat.chunks",
    summary="Only the first chunk carries `created`.",
    seen_in="peach0x33a/cmdcode2api#1 (Koog: Field 'created' is required)",
)
def _missing_created(value: list[Any], **_: Any) -> list[Any]:
    out, seen = [], False
    for item in value:
        if isinstance(item, dict):
            item = item if not seen else {k: v for k, v in item.items() if k != "created"}
            seen = True
        out.append(item)
    return out


@fault(
    "stream-id-changes",
    site="chat.chunks",
    summary="Every chunk has a different id.",
    seen_in="ggml-org/llama.cpp#5876, microsoft/foundry-local#144",
)
def _id_changes(value: list[Any], **_: Any) -> list[Any]:
    return [{**item, "id": f"{item.get('id')}-{n}"} if isinstance(item, dict) else item for n, item in enumerate(value)]


@fault(
    "stream-choice-no-index",
    site="chat.chunks",
    summary="Chunk choices carry no index.",
    seen_in="compat-bugs C.18; langwatch/langwatch#6196",
)
@_plain_only
def _choice_no_index(value: list[Any], **_: Any) -> list[Any]:
    return _each_choice(value, lambda c: c.pop("index", None))


@fault(
    "stream-message-not-delta",
    site="chat.chunks",
    summary="Chunk choices carry `message` instead of `delta`.",
    seen_in="servers that reuse the non-stream choice shape",
)
@_plain_only
def _message_not_delta(value: list[Any], **_: Any) -> list[Any]:
    return _each_choice(value, lambda c: c.update(message=c.pop("delta", {})))


# -- ordering ----------------------------------------------------------------------------------------------------


@fault("stream-no-role", site="chat.chunks", summary="No delta carries role.", seen_in="tensorzero/tensorzero#1265")
@_plain_only
def _no_role(value: list[Any], **_: Any) -> list[Any]:
    return _each_choice(value, lambda c: (c.get("delta") or {}).pop("role", None))


@fault(
    "stream-empty-role",
    site="chat.chunks",
    summary='The first delta carries role "".',
    seen_in='MiniMax-AI/MiniMax-M2.5#2 (Vercel AI SDK: expected "assistant")',
)
@_plain_only
def _empty_role(value: list[Any], **_: Any) -> list[Any]:
    def change(choice: dict[str, Any]) -> None:
        delta = choice.get("delta") or {}
        if "role" in delta:
            delta["role"] = ""

    return _each_choice(value, change)


@fault(
    "stream-role-every-chunk",
    site="chat.chunks",
    summary="Every delta repeats role assistant.",
    seen_in="llama.cpp tests assert later chunks have no role",
)
@_plain_only
def _role_every_chunk(value: list[Any], **_: Any) -> list[Any]:
    def change(choice: dict[str, Any]) -> None:
        if isinstance(choice.get("delta"), dict) and choice["delta"].get("content"):
            choice["delta"] = {"role": "assistant", **choice["delta"]}

    return _each_choice(value, change)


@fault(
    "stream-no-finish-reason",
    site="chat.chunks",
    summary="No chunk carries a finish_reason.",
    seen_in="anomalyco/opencode#43882 (stream closed before a finish_reason was received)",
)
@_plain_only
def _no_finish_reason(value: list[Any], **_: Any) -> list[Any]:
    return _each_choice(value, lambda c: c.update(finish_reason=None))


@fault(
    "stream-finish-reason-empty",
    site="chat.chunks",
    summary='finish_reason is "" instead of null on every chunk.',
    seen_in="ollama/ollama#4357, qualcomm/GenieX#1246",
)
@_plain_only
def _finish_reason_empty(value: list[Any], **_: Any) -> list[Any]:
    return _each_choice(value, lambda c: c.update(finish_reason="") if c.get("finish_reason") is None else None)


@fault(
    "stream-content-after-finish",
    site="chat.chunks",
    summary="The finish chunk comes before the last content chunk.",
    seen_in="tensorzero/tensorzero#2078 (finish_reason, then more chunks)",
)
@_plain_only
def _content_after_finish(value: list[Any], **_: Any) -> list[Any]:
    positions = _content_positions(value)
    finish = next(
        (
            i
            for i, item in enumerate(value)
            if isinstance(item, dict) and any(c.get("finish_reason") for c in _choices(item))
        ),
        None,
    )
    if not positions or finish is None:
        return value
    items = list(value)
    last = positions[-1]
    items[last], items[finish] = items[finish], items[last]
    return items


@fault(
    "stream-finish-key-missing",
    site="chat.chunks",
    summary="Chunks omit finish_reason until the last.",
    seen_in="BerriAI/liteLLM-proxy#19, danny-avila/LibreChat#5563",
)
@_plain_only
def _finish_key_missing(value: list[Any], **_: Any) -> list[Any]:
    return _each_choice(value, lambda c: c.pop("finish_reason") if c.get("finish_reason", "x") is None else None)


# -- usage -------------------------------------------------------------------------------------------------------


def _usage_index(value: list[Any]) -> int | None:
    return next((i for i, item in enumerate(value) if isinstance(item, dict) and item.get("choices") == []), None)


@fault(
    "stream-usage-in-choice-chunk",
    site="chat.chunks",
    summary='The usage chunk carries choices [{"index": 0, "delta": {}}] instead of [].',
    seen_in="LiteLLM proxy (peers.md)",
)
def _usage_in_choice_chunk(value: list[Any], **_: Any) -> list[Any]:
    index = _usage_index(value)
    if index is None:
        return value
    items = list(value)
    items[index] = {**items[index], "choices": [{"index": 0, "delta": {}}]}
    return items


@fault(
    "stream-usage-missing",
    site="chat.chunks",
    summary="stream_options.include_usage is ignored.",
    seen_in="llama-cpp-python (research llama-peer.md)",
)
def _usage_missing(value: list[Any], **_: Any) -> list[Any]:
    index = _usage_index(value)
    return value if index is None else [item for i, item in enumerate(value) if i != index]


@fault(
    "stream-options-rejected",
    site="request",
    summary="stream_options is refused with a 400.",
    seen_in="vercel/ai#1578 (Groq: property 'stream_options' is unsupported)",
)
def _options_rejected(value: Any, *, path: str = "", **_: Any) -> Any:
    if _on(path, "/chat/completions") and isinstance(value, dict) and "stream_options" in value:
        return ApiError(400, "property 'stream_options' is unsupported", param="stream_options")
    return value


@fault(
    "stream-usage-wrong-total",
    site="chat.chunks",
    summary="The streamed usage total is prompt tokens only.",
    seen_in="compat-bugs E.29",
)
def _usage_wrong_total(value: list[Any], **_: Any) -> list[Any]:
    index = _usage_index(value)
    if index is None or not isinstance(value[index].get("usage"), dict):
        return value
    items = list(value)
    usage = items[index]["usage"]
    items[index] = {**items[index], "usage": {**usage, "total_tokens": usage.get("prompt_tokens", 0)}}
    return items


@fault(
    "stream-usage-unrequested",
    site="chat.chunks",
    summary="A usage chunk with empty choices is always sent.",
    seen_in="llm-mock-api (peers.md), nguyenphutrong/quotio#460",
)
@_plain_only
def _usage_unrequested(value: list[Any], **_: Any) -> list[Any]:
    chunks = _chunks(value)
    if not chunks:
        return value
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    extra = {**{k: v for k, v in chunks[-1].items() if k != "choices"}, "choices": [], "usage": usage}
    return [*value[:-1], extra, value[-1]]


# -- n, tools, logprobs -------------------------------------------------------------------------------------------


@fault(
    "stream-ignores-n",
    site="request",
    summary="A streamed request with n > 1 streams one choice.",
    seen_in="abetlen/llama-cpp-python#1906",
)
def _ignores_n(value: Any, *, path: str = "", **_: Any) -> Any:
    if _on(path, "/chat/completions") and isinstance(value, dict) and value.get("stream") is True:
        return {k: v for k, v in value.items() if k != "n"}
    return value


def _tool_calls(value: list[Any]) -> list[dict[str, Any]]:
    calls = []
    for chunk in _chunks(value):
        for choice in _choices(chunk):
            calls.extend(c for c in (choice.get("delta") or {}).get("tool_calls") or [] if isinstance(c, dict))
    return calls


@fault(
    "stream-tool-call-no-index",
    site="chat.chunks",
    summary="Tool call deltas carry no index.",
    seen_in="ollama/ollama#7881, openai/openai-python#2806 (Gemini)",
)
def _tool_call_no_index(value: list[Any], **_: Any) -> list[Any]:
    items = copy.deepcopy(value)
    for call in _tool_calls(items):
        call.pop("index", None)
    return items


@fault(
    "stream-tool-call-no-id",
    site="chat.chunks",
    summary="The first tool call fragment has no id.",
    seen_in="compat-bugs D.25 (chenyme/grok2api#239)",
)
def _tool_call_no_id(value: list[Any], **_: Any) -> list[Any]:
    items = copy.deepcopy(value)
    for call in _tool_calls(items):
        call.pop("id", None)
    return items


@fault(
    "stream-tool-args-object",
    site="chat.chunks",
    summary="Tool call arguments are sent as a JSON object.",
    seen_in="ggml-org/llama.cpp#20198, ollama/ollama#6155",
)
def _tool_args_object(value: list[Any], **_: Any) -> list[Any]:
    items = copy.deepcopy(value)
    calls = _tool_calls(items)
    if not calls:
        return value
    text = "".join(c.get("function", {}).get("arguments", "") for c in calls)
    try:
        parsed = json.loads(text)
    except ValueError:
        return value
    for position, call in enumerate(calls):
        function = call.get("function", {})
        if position == 0:
            function["arguments"] = parsed
        else:
            function.pop("arguments", None)
    return items


@fault(
    "stream-tool-finish-stop",
    site="chat.chunks",
    summary='A tool call finishes with "stop".',
    seen_in="compat-bugs D (agents never run the call)",
)
def _tool_finish_stop(value: list[Any], **_: Any) -> list[Any]:
    return _each_choice(
        value, lambda c: c.update(finish_reason="stop") if c.get("finish_reason") == "tool_calls" else None
    )


def _logprob_chunks(value: list[Any], change: Any) -> list[Any]:
    def apply(choice: dict[str, Any]) -> None:
        if isinstance(choice.get("logprobs"), dict):
            choice["logprobs"] = change(choice["logprobs"])

    return _each_choice(value, apply)


@fault(
    "stream-logprobs-wrong-shape",
    site="chat.chunks",
    summary="Chat chunks carry completions-style logprobs.",
    seen_in="vllm-project/vllm#3179",
)
def _logprobs_wrong_shape(value: list[Any], **_: Any) -> list[Any]:
    return _logprob_chunks(
        value,
        lambda lp: {
            "tokens": [e.get("token") for e in lp.get("content") or []],
            "token_logprobs": [e.get("logprob") for e in lp.get("content") or []],
        },
    )


@fault(
    "stream-logprobs-dropped",
    site="chat.chunks",
    summary="Requested logprobs are silently dropped.",
    seen_in="ollama/ollama#16117, waybarrios/vllm-mlx#786",
)
def _logprobs_dropped(value: list[Any], **_: Any) -> list[Any]:
    return _logprob_chunks(value, lambda lp: None)


# -- consistency and delivery --------------------------------------------------------------------------------------


@fault(
    "stream-content-differs",
    site="chat.chunks",
    summary="The streamed text differs from the non-streamed text.",
    seen_in="servers with separate streaming and batch code paths",
)
@_plain_only
def _content_differs(value: list[Any], **_: Any) -> list[Any]:
    def change(choice: dict[str, Any]) -> None:
        delta = choice.get("delta") or {}
        if isinstance(delta.get("content"), str):
            delta["content"] = delta["content"].upper()

    return _each_choice(value, change)


@fault(
    "stream-all-at-once",
    site="stream.frames",
    summary="The whole stream is written at once, after generation.",
    seen_in="Prism validating proxy buffers SSE (peers.md)",
)
@_plain_only
def _all_at_once(value: list[Any], *, kind: str = "", **_: Any) -> list[Any]:
    frames = [frame for frame in value if isinstance(frame, bytes)]
    return [b"".join(frames)] if kind == "chat" else value


# -- errors ----------------------------------------------------------------------------------------------------------


@fault(
    "stream-error-as-200-event",
    site="asgi",
    summary="Errors of streamed requests are sent as a 200 event stream carrying the error.",
    seen_in="songquanpeng/one-api#193",
)
def _error_as_200_event(value: ASGIApp, **_: Any) -> ASGIApp:
    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes) -> Any:
        try:
            request = json.loads(b"".join(scope["oai.request_body"]) or b"{}")
        except ValueError:
            return None
        if (
            status < 400
            or not _on(scope["path"], "/chat/completions")
            or not isinstance(request, dict)
            or request.get("stream") is not True
        ):
            return None
        return 200, {"content-type": "text/event-stream"}, b"data: " + body + b"\n\ndata: [DONE]\n\n"

    return _rewriting(value, rewrite)


def _break_midway(value: list[Any], error: Any, *, done: bool) -> list[Any]:
    positions = _content_positions(value)
    if len(positions) < 2:
        return value
    cut = positions[1] + 1
    return [*value[:cut], {"error": error}, *([DONE] if done else [])]


@fault(
    "stream-midway-error-flat",
    site="chat.chunks",
    summary='A mid-stream error is data: {"error": "<string>"} instead of the error object.',
    seen_in="tensorzero/tensorzero#5445, ollama/ollama#6646 (string errors)",
)
@_plain_only
def _midway_error_flat(value: list[Any], **_: Any) -> list[Any]:
    return _break_midway(value, "upstream model overloaded", done=True)


@fault(
    "stream-midway-error-no-done",
    site="chat.chunks",
    summary="After a mid-stream error the body ends without [DONE].",
    seen_in="BerriAI/litellm#39748, open-octo/octo-agent#910",
)
@_plain_only
def _midway_error_no_done(value: list[Any], **_: Any) -> list[Any]:
    error = {"message": "upstream model overloaded", "type": "server_error", "param": None, "code": None}
    return _break_midway(value, error, done=False)


# -- legal, but breaks popular clients -----------------------------------------------------------------------------


@fault(
    "stream-named-events",
    site="stream.frames",
    summary="Every event is named (event: chunk).",
    seen_in="openai-python v1.0 dropped named events; compat-bugs B.9",
)
@_plain_only
def _named_events(value: list[Any], *, kind: str = "", **_: Any) -> list[Any]:
    if kind != "chat":
        return value
    return [b"event: chunk\n" + frame if isinstance(frame, bytes) else frame for frame in value]


@fault(
    "stream-multiline-data",
    site="stream.frames",
    summary="Each chunk's JSON is spread over several data lines.",
    seen_in="SamSaffron/term-llm#487",
)
@_plain_only
def _multiline_data(value: list[Any], *, kind: str = "", **_: Any) -> list[Any]:
    if kind != "chat":
        return value
    out: list[Any] = []
    for frame in value:
        if isinstance(frame, bytes) and frame.startswith(b"data: {"):
            payload = json.loads(frame[len(b"data: ") :])
            lines = json.dumps(payload, indent=1, ensure_ascii=False).split("\n")
            frame = "".join(f"data: {line}\n" for line in lines).encode() + b"\n"
        out.append(frame)
    return out


def _ping_after_first(value: list[Any], **_: Any) -> list[Any]:
    return [*value[:1], "ping", *value[1:]]


# -- completions -------------------------------------------------------------------------------------------------------


@fault(
    "completion-stream-content-type-json",
    site="stream.headers",
    summary="The completion stream is labelled JSON.",
    seen_in="microsoft/foundry-dev-tools#195",
)
def _completion_content_type(value: dict[str, str], *, kind: str = "", **_: Any) -> dict[str, str]:
    return {**value, "content-type": "application/json"} if kind == "completion" else value


fault(
    "completion-stream-non-json-event",
    site="completion.chunks",
    summary="The completion stream carries data: ping.",
    seen_in="compat-bugs B.8",
)(_ping_after_first)


fault(
    "completion-stream-chunk-after-done",
    site="completion.chunks",
    summary="A chunk follows [DONE].",
    seen_in="agentscope-ai/agentscope-java#2073",
)(_chunk_after_done)


@fault(
    "completion-stream-wrong-object",
    site="completion.chunks",
    summary='Completion chunks say "completion.chunk".',
    seen_in="compat-bugs C.21",
)
def _completion_wrong_object(value: list[Any], **_: Any) -> list[Any]:
    return [{**item, "object": "completion.chunk"} if isinstance(item, dict) else item for item in value]


fault(
    "completion-stream-id-changes",
    site="completion.chunks",
    summary="Every completion chunk has a new id.",
    seen_in="ggml-org/llama.cpp#5876",
)(_id_changes)


@fault(
    "completion-stream-no-index",
    site="completion.chunks",
    summary="Completion chunk choices carry no index.",
    seen_in="compat-bugs C.18",
)
def _completion_no_index(value: list[Any], **_: Any) -> list[Any]:
    return _each_choice(value, lambda c: c.pop("index", None))


@fault(
    "completion-stream-no-finish-reason",
    site="completion.chunks",
    summary="No completion chunk carries a finish_reason.",
    seen_in="qualcomm/GenieX#1246",
)
def _completion_no_finish(value: list[Any], **_: Any) -> list[Any]:
    return _each_choice(value, lambda c: c.update(finish_reason=None))


@fault(
    "completion-stream-usage-unrequested",
    site="completion.chunks",
    summary="The final completion chunk carries usage although none was requested.",
    seen_in="llama.cpp llama-server (research llama-peer.md)",
)
def _completion_usage_unrequested(value: list[Any], **_: Any) -> list[Any]:
    chunks = _chunks(value)
    if not chunks:
        return value
    items = list(value)
    last = items.index(chunks[-1])
    items[last] = {**chunks[-1], "usage": {"prompt_tokens": 5, "completion_tokens": 8, "total_tokens": 13}}
    return items
