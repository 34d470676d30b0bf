"""Faults of streamed chat completions: how real servers break server-sent event streams (CHAT-STREAM-*;
compat-bugs sections B–E).

Each works on the list of stream items (dict chunks, then the string "[DONE]") or on the serialised
frames, and most apply only to the *plain* streamed request (no stream_options, tools, n or logprobs)
so that one fault breaks one rule: the suite's other stream probes stay clean. The faults of streams
that ask for usage, n > 1, tool calls or logprobs are in :mod:`.chat_stream_options`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Scope

from ._asgi import on, rewriting
from ._registry import fault
from ._stream import break_midway, choices, chunk_after_done, content_positions, each_choice, id_changes, plain_only

# framing ------------------------------------------------------------------------------------------


@fault(
    "stream-content-type-json",
    site="stream.headers",
    summary="The chat stream is labelled application/json.",
    seen_in="microsoft/foundry-dev-tools#195",
)
def _stream_content_type_json(value: dict[str, str], *, kind: str = "", **_: Any) -> dict[str, str]:
    return {**value, "content-type": "application/json"} if kind == "chat" else value


@fault(
    "stream-non-json-event",
    site="chat.chunks",
    summary="The chat stream carries a `data: ping` keep-alive event.",
    seen_in="openai-python _streaming.py (json.loads on every event); compat-bugs B.8",
)
def _stream_non_json_event(value: list[Any], **_: Any) -> list[Any]:
    return [*value[:1], "ping", *value[1:]]


@fault(
    "stream-no-done",
    site="chat.chunks",
    summary="The chat stream ends without the terminating `data: [DONE]` event.",
    seen_in="ik_llama.cpp#467, oobabooga/textgen#4778",
)
def _stream_no_done(value: list[Any], **_: Any) -> list[Any]:
    return [item for item in value if item != "[DONE]"]


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


fault(
    "stream-chunk-after-done",
    site="chat.chunks",
    summary="A chunk is sent after data: [DONE].",
    seen_in="agentscope-ai/agentscope-java#2073 (clients filtering [DONE] instead of stopping)",
)(chunk_after_done)


@fault(
    "stream-linger-after-done",
    site="stream.frames",
    summary="The body stays open 1.5 s after [DONE].",
    seen_in="openai/openai-python#3440 (clients drained until EOF)",
)
@plain_only
def _linger_after_done(value: list[Any], *, kind: str = "", **_: Any) -> list[Any]:
    return [*value, 1.5] if kind == "chat" else value


@fault(
    "stream-false-streams",
    site="request",
    summary='"stream": false is streamed anyway.',
    seen_in="Ollama's native API streams by default",
)
def _stream_false_streams(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/chat/completions") and isinstance(value, dict) and value.get("stream") is False:
        return {**value, "stream": True}
    return value


@fault(
    "stream-ignored",
    site="request",
    summary='"stream": true is ignored: one JSON completion comes back.',
    seen_in="Prism mock (peers.md)",
)
def _stream_ignored(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/chat/completions") and isinstance(value, dict) and value.get("stream") is True:
        return {k: v for k, v in value.items() if k not in ("stream", "stream_options")}
    return value


# chunks -------------------------------------------------------------------------------------------


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


fault(
    "stream-id-changes",
    site="chat.chunks",
    summary="Every chunk has a different id.",
    seen_in="ggml-org/llama.cpp#5876, microsoft/foundry-local#144",
)(id_changes)


@fault(
    "stream-choice-no-index",
    site="chat.chunks",
    summary="Chunk choices carry no index.",
    seen_in="compat-bugs C.18; langwatch/langwatch#6196",
)
@plain_only
def _choice_no_index(value: list[Any], **_: Any) -> list[Any]:
    return each_choice(value, lambda c: c.pop("index", None))


@fault(
    "stream-message-not-delta",
    site="chat.chunks",
    summary="Chunk choices carry `message` instead of `delta`.",
    seen_in="servers that reuse the non-stream choice shape",
)
@plain_only
def _message_not_delta(value: list[Any], **_: Any) -> list[Any]:
    return each_choice(value, lambda c: c.update(message=c.pop("delta", {})))


# ordering -----------------------------------------------------------------------------------------


@fault(
    "stream-no-role",
    site="chat.chunks",
    summary="No delta carries role, in every stream (tool calls too).",
    seen_in="tensorzero/tensorzero#1265; stubllm 0.x (reports/stubllm)",
)
def _no_role(value: list[Any], **_: Any) -> list[Any]:
    return each_choice(value, lambda c: (c.get("delta") or {}).pop("role", None))


@fault(
    "stream-empty-role",
    site="chat.chunks",
    summary='The first delta carries role "".',
    seen_in='MiniMax-AI/MiniMax-M2.5#2 (Vercel AI SDK: expected "assistant")',
)
@plain_only
def _empty_role(value: list[Any], **_: Any) -> list[Any]:
    def change(choice: dict[str, Any]) -> None:
        delta = choice.get("delta") or {}
        if "role" in delta:
            delta["role"] = ""

    return each_choice(value, change)


@fault(
    "stream-role-every-chunk",
    site="chat.chunks",
    summary="Every delta repeats role assistant.",
    seen_in="llama.cpp tests assert later chunks have no role",
)
@plain_only
def _role_every_chunk(value: list[Any], **_: Any) -> list[Any]:
    def change(choice: dict[str, Any]) -> None:
        if isinstance(choice.get("delta"), dict) and choice["delta"].get("content"):
            choice["delta"] = {"role": "assistant", **choice["delta"]}

    return each_choice(value, change)


@fault(
    "stream-no-finish-reason",
    site="chat.chunks",
    summary="No chunk carries a finish_reason.",
    seen_in="anomalyco/opencode#43882 (stream closed before a finish_reason was received)",
)
@plain_only
def _no_finish_reason(value: list[Any], **_: Any) -> list[Any]:
    return each_choice(value, lambda c: c.update(finish_reason=None))


@fault(
    "stream-finish-reason-empty",
    site="chat.chunks",
    summary='finish_reason is "" instead of null on every chunk.',
    seen_in="ollama/ollama#4357, qualcomm/GenieX#1246",
)
@plain_only
def _finish_reason_empty(value: list[Any], **_: Any) -> list[Any]:
    return each_choice(value, lambda c: c.update(finish_reason="") if c.get("finish_reason") is None else None)


@fault(
    "stream-content-after-finish",
    site="chat.chunks",
    summary="The finish chunk comes before the last content chunk.",
    seen_in="tensorzero/tensorzero#2078 (finish_reason, then more chunks)",
)
@plain_only
def _content_after_finish(value: list[Any], **_: Any) -> list[Any]:
    positions = content_positions(value)
    finish = next(
        (
            i
            for i, item in enumerate(value)
            if isinstance(item, dict) and any(c.get("finish_reason") for c in choices(item))
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
@plain_only
def _finish_key_missing(value: list[Any], **_: Any) -> list[Any]:
    return each_choice(value, lambda c: c.pop("finish_reason") if c.get("finish_reason", "x") is None else None)


# consistency and delivery -------------------------------------------------------------------------


@fault(
    "stream-content-differs",
    site="chat.chunks",
    summary="The streamed text differs from the non-streamed text.",
    seen_in="servers with separate streaming and batch code paths",
)
@plain_only
def _content_differs(value: list[Any], **_: Any) -> list[Any]:
    def change(choice: dict[str, Any]) -> None:
        delta = choice.get("delta") or {}
        if isinstance(delta.get("content"), str):
            delta["content"] = delta["content"].upper()

    return each_choice(value, change)


@fault(
    "stream-all-at-once",
    site="stream.frames",
    summary="The whole stream is written at once, after generation.",
    seen_in="Prism validating proxy buffers SSE (peers.md)",
)
@plain_only
def _all_at_once(value: list[Any], *, kind: str = "", **_: Any) -> list[Any]:
    frames = [frame for frame in value if isinstance(frame, bytes)]
    return [b"".join(frames)] if kind == "chat" else value


# errors -------------------------------------------------------------------------------------------


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
            or not on(scope["path"], "/chat/completions")
            or not isinstance(request, dict)
            or request.get("stream") is not True
        ):
            return None
        return 200, {"content-type": "text/event-stream"}, b"data: " + body + b"\n\ndata: [DONE]\n\n"

    return rewriting(value, rewrite)


@fault(
    "stream-midway-error-flat",
    site="chat.chunks",
    summary='A mid-stream error is data: {"error": "<string>"} instead of the error object.',
    seen_in="tensorzero/tensorzero#5445, ollama/ollama#6646 (string errors)",
)
@plain_only
def _midway_error_flat(value: list[Any], **_: Any) -> list[Any]:
    return break_midway(value, "upstream model overloaded", done=True)


@fault(
    "stream-midway-error-no-done",
    site="chat.chunks",
    summary="After a mid-stream error the body ends without [DONE].",
    seen_in="BerriAI/litellm#39748, open-octo/octo-agent#910",
)
@plain_only
def _midway_error_no_done(value: list[Any], **_: Any) -> list[Any]:
    error = {"message": "upstream model overloaded", "type": "server_error", "param": None, "code": None}
    return break_midway(value, error, done=False)


# legal, but breaks popular clients ----------------------------------------------------------------


@fault(
    "stream-named-events",
    site="stream.frames",
    summary="Every event is named (event: chunk).",
    seen_in="openai-python v1.0 dropped named events; compat-bugs B.9",
)
@plain_only
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
@plain_only
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
