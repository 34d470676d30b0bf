"""CHAT-STREAM-030..071: the stream options of a chat completion — ``stream_options.include_usage``,
``n > 1``, tool-call deltas and logprobs (seed 002 "stream"; openai-python ``lib/streaming/chat``;
compat-bugs sections C–E). The framing, chunk and ordering rules are in ``chat_stream.py``.
"""

from __future__ import annotations

import json
from typing import Any

from conformance import expect, streams
from conformance.checks import _streaming as shared
from conformance.checks._streaming import fail_at
from conformance.checks.chat_stream import declined, judged
from conformance.core.results import NotApplicable, Violation
from conformance.engine import check
from conformance.streams import Item
from conformance.transport.exchange import StreamExchange

# -- usage ----------------------------------------------------------------------------------------------------


def _carries_nothing(choice: dict[str, Any]) -> bool:
    delta = choice.get("delta")
    return not isinstance(delta, dict) or not any(delta.get(key) for key in ("content", "tool_calls", "refusal"))


def usage_chunks(stream: StreamExchange) -> list[Item]:
    """The chunks that are the include_usage chunk: ``choices`` [] as documented, or choices that carry
    nothing (LiteLLM sends ``[{"index": 0, "delta": {}}]``): the chunk schema allows a choice beside
    ``usage`` and the clients accept it (SDK-PY-003 passes on it), so that form is legal (ARCHITECTURE,
    "Legal is legal")."""
    return [
        item
        for item in streams.chunks(stream)
        if item.chunk.get("choices") == []
        or (isinstance(item.chunk.get("usage"), dict) and all(_carries_nothing(c) for c in streams.choices_of(item)))
    ]


@check("CHAT-STREAM-030", needs="chat")
def test_include_usage_adds_one_final_usage_chunk(chat_stream_usage: StreamExchange) -> None:
    found = judged(chat_stream_usage)
    chunk_items = streams.chunks(chat_stream_usage)
    usage_only = usage_chunks(chat_stream_usage)
    if len(usage_only) != 1 or not isinstance(usage_only[0].chunk.get("usage"), dict):
        last = chunk_items[-1] if chunk_items else found[-1]
        raise fail_at(
            last,
            "include_usage did not give exactly one usage chunk",
            'one chunk {"choices": [], "usage": {...}} before [DONE]',
            chat_stream_usage,
            actual=f"{len(usage_only)} usage chunk(s); last chunk: {last.raw}",
        )
    if chunk_items[-1].number != usage_only[0].number:
        raise fail_at(
            chunk_items[-1],
            "The usage chunk is not the last chunk",
            "the usage chunk last, before [DONE]",
            chat_stream_usage,
        )
    for item in chunk_items[:-1]:
        if item.chunk.get("usage") is not None:
            raise fail_at(
                item,
                "A content chunk carries usage",
                '"usage": null (or absent) before the usage chunk',
                chat_stream_usage,
            )


@check("CHAT-STREAM-031", needs="chat")
def test_stream_usage_adds_up(chat_stream_usage: StreamExchange) -> None:
    expect.answered(chat_stream_usage)
    if not 200 <= (chat_stream_usage.status or 0) < 300:
        raise NotApplicable("the include_usage request was refused (see CHAT-STREAM-030)")
    judged(chat_stream_usage)
    usage_only = [item for item in usage_chunks(chat_stream_usage) if isinstance(item.chunk.get("usage"), dict)]
    if not usage_only:
        raise NotApplicable("no usage chunk (see CHAT-STREAM-030)")
    item = usage_only[-1]
    usage = item.chunk["usage"]
    values = [usage.get(key) for key in ("prompt_tokens", "completion_tokens", "total_tokens")]
    if not all(expect.is_type(v, int) for v in values) or values[0] + values[1] != values[2]:
        raise fail_at(
            item, "Stream usage does not add up", "integer tokens with total = prompt + completion", chat_stream_usage
        )


@check("CHAT-STREAM-032", needs="chat")
def test_no_usage_chunk_unless_requested(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    shared.no_unrequested_usage(chat_stream)


# -- n > 1 ----------------------------------------------------------------------------------------------------


@check("CHAT-STREAM-040", needs=("chat", "n"))
def test_every_choice_streams_role_content_and_finish(chat_stream_n: StreamExchange) -> None:
    declined(chat_stream_n, "n > 1")
    judged(chat_stream_n)
    line = streams.timeline(chat_stream_n)
    for index in (0, 1):
        text = streams.content_text(chat_stream_n, index)
        if line.states.get(index) is not streams.State.FINISHED or not line.roles.get(index) or not text:
            raise Violation(
                "With n=2 a choice did not stream its own role, content and finish",
                pointer=f"choice {index}",
                expected="role, content and finish_reason for indexes 0 and 1",
                actual=f"state {line.states.get(index, 'absent')}, role chunks {line.roles.get(index, 0)}, "
                f"content {text[:60]!r}",
                evidence=chat_stream_n,
            )


# -- tool calls -----------------------------------------------------------------------------------------------


def tool_fragments(stream: StreamExchange) -> list[tuple[Item, dict[str, Any]]]:
    declined(stream, "tools")
    judged(stream)
    fragments = []
    for item in streams.chunks(stream):
        for choice in streams.choices_of(item):
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
            for call in delta.get("tool_calls") or []:
                fragments.append((item, call if isinstance(call, dict) else {}))
    if not fragments:
        raise NotApplicable("no tool call was streamed to judge (see CHAT-STREAM-054)", see=IGNORED)
    return fragments


#: The requirement a forced tool call answered without one is the finding of (the others SKIP "see" it).
IGNORED = "CHAT-STREAM-054"


@check(IGNORED, needs=("chat", "tools"))
def test_forced_tool_call_is_not_ignored(chat_stream_tools: StreamExchange) -> None:
    declined(chat_stream_tools, "tools")
    judged(chat_stream_tools)
    calls = streams.tool_call_fragments(chat_stream_tools)
    if not calls:
        raise Violation(
            "A forced tool call was answered without one",
            expected="delta.tool_calls fragments (tool_choice names the function), or a 4xx declining tools",
            actual=f"{len(streams.chunks(chat_stream_tools))} chunks without tool_calls: "
            f"{streams.content_text(chat_stream_tools, 0)[:80]!r}",
            evidence=chat_stream_tools,
        )


@check("CHAT-STREAM-050", needs=("chat", "tools"))
def test_tool_call_deltas_carry_index(chat_stream_tools: StreamExchange) -> None:
    for item, call in tool_fragments(chat_stream_tools):
        if not expect.is_type(call.get("index"), int):
            raise fail_at(
                item,
                "A tool_calls delta lacks an integer index",
                "tool_calls[].index on every fragment",
                chat_stream_tools,
            )


@check("CHAT-STREAM-051", needs=("chat", "tools"))
def test_first_tool_fragment_names_the_call(chat_stream_tools: StreamExchange) -> None:
    seen: set[Any] = set()
    for item, call in tool_fragments(chat_stream_tools):
        key = call.get("index", 0)
        if key in seen:
            continue
        seen.add(key)
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        if not (
            isinstance(call.get("id"), str) and call.get("type") == "function" and isinstance(function.get("name"), str)
        ):
            raise fail_at(
                item,
                "The first fragment of a tool call lacks id, type or function.name",
                '{"index", "id", "type": "function", "function": {"name", ...}}',
                chat_stream_tools,
            )


@check("CHAT-STREAM-052", needs=("chat", "tools"))
def test_tool_arguments_concatenate_to_json(chat_stream_tools: StreamExchange) -> None:
    arguments: dict[Any, str] = {}
    for item, call in tool_fragments(chat_stream_tools):
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        if "arguments" not in function:
            continue
        if not isinstance(function["arguments"], str):
            raise fail_at(
                item,
                "Tool call arguments are not a string",
                "function.arguments as JSON text fragments",
                chat_stream_tools,
            )
        arguments[call.get("index", 0)] = arguments.get(call.get("index", 0), "") + function["arguments"]
    for index, text in arguments.items():
        try:
            json.loads(text)
        except ValueError:
            raise Violation(
                "Tool call arguments do not concatenate to JSON",
                pointer=f"tool call {index}",
                expected="fragments that join into one JSON document",
                actual=repr(text[:200]),
                evidence=chat_stream_tools,
            ) from None


@check("CHAT-STREAM-053", needs=("chat", "tools"))
def test_tool_call_finishes_with_tool_calls(chat_stream_tools: StreamExchange) -> None:
    tool_fragments(chat_stream_tools)
    reasons = [
        (item, choice.get("finish_reason"))
        for item in streams.chunks(chat_stream_tools)
        for choice in streams.choices_of(item)
        if choice.get("finish_reason") is not None
    ]
    # The probe's tool_choice names the function: the OpenAI API answers such a call with "stop"
    # (vllm-project/vllm#49496, ENTERPILOT/GoModel#124), the description documents "tool_calls".
    if not reasons or reasons[-1][1] not in ("tool_calls", "stop"):
        item = reasons[-1][0] if reasons else streams.chunks(chat_stream_tools)[-1]
        raise fail_at(
            item,
            'A tool call did not finish with "tool_calls"',
            'finish_reason "tool_calls" (or "stop", after a tool_choice naming the function)',
            chat_stream_tools,
        )


# -- logprobs -------------------------------------------------------------------------------------------------


def _logprob_entry_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return "an entry is not an object"
    if not isinstance(entry.get("token"), str):
        return "token is not a string"
    if not expect.is_type(entry.get("logprob"), (int, float)) or entry["logprob"] > 0:
        return "logprob is not a number <= 0"
    if entry.get("bytes") is not None and not (
        isinstance(entry["bytes"], list) and all(expect.is_type(b, int) for b in entry["bytes"])
    ):
        return "bytes is neither null nor a list of integers"
    if not isinstance(entry.get("top_logprobs"), list):
        return "top_logprobs is not a list"
    return None


@check("CHAT-STREAM-060", needs=("chat", "logprobs"))
def test_streamed_logprobs_have_documented_shape(chat_stream_logprobs: StreamExchange) -> None:
    declined(chat_stream_logprobs, "logprobs")
    judged(chat_stream_logprobs)
    content_chunks = 0
    for item in streams.chunks(chat_stream_logprobs):
        for choice in streams.choices_of(item):
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
            if not delta.get("content"):
                continue
            content_chunks += 1
            logprobs = choice.get("logprobs")
            entries = logprobs.get("content") if isinstance(logprobs, dict) else None
            if not isinstance(entries, list) or not entries:
                raise fail_at(
                    item,
                    "A content chunk lacks logprobs.content although logprobs were requested",
                    'choices[].logprobs = {"content": [{token, logprob, bytes, top_logprobs}]}',
                    chat_stream_logprobs,
                )
            for entry in entries:
                problem = _logprob_entry_problem(entry)
                if problem:
                    raise fail_at(
                        item,
                        f"Streamed logprobs have the wrong shape: {problem}",
                        "{token: str, logprob: number <= 0, bytes: [int] | null, top_logprobs: [...]}",
                        chat_stream_logprobs,
                    )
    if not content_chunks:
        raise NotApplicable("no content chunks to carry logprobs")
