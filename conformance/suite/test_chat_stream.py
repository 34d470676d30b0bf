"""CHAT-STREAM-*: the streamed chat completion (seed 002 "stream"; seed 004 chunk example;
openai-python ``_streaming.py`` and ``lib/streaming/chat``; compat-bugs sections B–E).

Every failure names the offending event ("event #7") and quotes its raw line(s).
"""

from __future__ import annotations

import json
from typing import Any

from conformance import expect, streams
from conformance.core.results import NotApplicable, Unsupported, Violation
from conformance.plugin import requirement
from conformance.streams import Item, Kind
from conformance.suite import _streaming as shared
from conformance.suite._streaming import fail_at
from conformance.transport.exchange import Exchange, StreamExchange
from conformance.transport.sse import UNTERMINATED_EVENT

CLOSE_AFTER_DONE_S = 1.0
WHAT = "POST /chat/completions (stream)"


def judged(stream: StreamExchange) -> list[Item]:
    return shared.judged(stream, WHAT, see="CHAT-STREAM-008")


def declined(stream: StreamExchange, feature: str) -> None:
    """A 400/404/501 with an error envelope is an honest refusal of an optional feature."""
    expect.answered(stream)
    if stream.status in (400, 404, 422, 501) and expect.error_envelope_or_none(stream) is not None:
        raise Unsupported(f"the provider refuses {feature} ({stream.status} with an error envelope)")


def finding(stream: StreamExchange, rules: tuple[str, ...], title: str, expected: str, *, chat: bool = True) -> None:
    found = streams.timeline(stream, chat=chat).findings
    for rule in rules:
        if rule in found:
            hit = found[rule]
            pointer = f"event #{hit.item.number}" if hit.item else "end of stream"
            actual = f"{hit.message}: {hit.item.raw}" if hit.item else hit.message
            raise Violation(title, pointer=pointer, expected=expected, actual=actual, evidence=stream)


# -- framing --------------------------------------------------------------------------------------------------


@requirement("CHAT-STREAM-001", needs="chat")
def test_stream_is_event_stream(chat_stream: StreamExchange) -> None:
    expect.status(chat_stream, 200)
    expect.media_type(chat_stream, "text/event-stream", "A streamed chat completion is not text/event-stream")


@requirement("CHAT-STREAM-002", needs="chat")
def test_stream_events_are_json_chunks(chat_stream: StreamExchange) -> None:
    shared.events_are_json(judged(chat_stream), chat_stream)


@requirement("CHAT-STREAM-003", needs="chat")
def test_stream_is_terminated_by_done(chat_stream: StreamExchange) -> None:
    shared.terminated_by_done(judged(chat_stream), chat_stream, "The stream was not terminated by [DONE]")


@requirement("CHAT-STREAM-004", needs="chat")
def test_every_event_ends_with_blank_line(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    assert chat_stream.decoded is not None
    for notice in chat_stream.decoded.notices:
        if notice.kind == UNTERMINATED_EVENT:
            raise Violation(
                "An event is not terminated by a blank line",
                pointer=f"line {notice.line}",
                expected="every event followed by an empty line (\\n\\n)",
                actual=notice.detail,
                evidence=chat_stream,
            )


@requirement("CHAT-STREAM-005", needs="chat")
def test_nothing_follows_done(chat_stream: StreamExchange) -> None:
    shared.nothing_after_done(judged(chat_stream), chat_stream, see="CHAT-STREAM-003")


@requirement("CHAT-STREAM-006", needs="chat")
def test_connection_closes_after_done(chat_stream: StreamExchange) -> None:
    done = next((item for item in judged(chat_stream) if item.kind is Kind.DONE), None)
    if done is None or done.event.time is None:
        raise NotApplicable("no [DONE] (see CHAT-STREAM-003)")
    if chat_stream.eof_s is None:
        raise Violation(
            "The connection stayed open after [DONE]",
            pointer=f"event #{done.number}",
            expected=f"the body ends within {CLOSE_AFTER_DONE_S:g} s of [DONE]",
            actual=f"still open when reading stopped ({chat_stream.cut_short or chat_stream.error})",
            evidence=chat_stream,
        )
    lag = chat_stream.eof_s - done.event.time
    if lag > CLOSE_AFTER_DONE_S:
        raise Violation(
            "The connection stayed open after [DONE]",
            pointer=f"event #{done.number}",
            expected=f"the body ends within {CLOSE_AFTER_DONE_S:g} s of [DONE]",
            actual=f"closed {lag:.2f} s after [DONE]",
            evidence=chat_stream,
        )


@requirement("CHAT-STREAM-007", needs="chat")
def test_stream_false_gets_json(chat_stream_false: Exchange) -> None:
    # The exact JSON label is CHAT-001's verdict; this rule is about JSON versus an event stream.
    expect.status(chat_stream_false, 200)
    if chat_stream_false.media_type == "text/event-stream" or chat_stream_false.text.lstrip().startswith("data:"):
        raise Violation(
            '"stream": false was answered with an event stream',
            expected="one JSON body",
            actual=f"{chat_stream_false.content_type}: {chat_stream_false.text[:120]!r}",
            evidence=chat_stream_false,
        )
    expect.json_object(chat_stream_false)


@requirement("CHAT-STREAM-008", needs="chat")
def test_stream_true_gets_events(chat_stream: StreamExchange) -> None:
    expect.success(chat_stream, "POST /chat/completions (stream)")
    try:
        body = json.loads(chat_stream.text)
    except ValueError:
        body = None
    if isinstance(body, dict) or not chat_stream.events:
        raise Violation(
            '"stream": true was answered with one JSON body, not events',
            expected="data: {...} events",
            actual=expect.short(body) if body is not None else "(no events)",
            evidence=chat_stream,
        )


# -- chunks ---------------------------------------------------------------------------------------------------


@requirement("CHAT-STREAM-010", needs="chat")
def test_chunks_are_chat_completion_chunks(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    for item in streams.chunks(chat_stream):
        if item.chunk.get("object") != "chat.completion.chunk":
            raise fail_at(
                item, 'A chunk lacks "object": "chat.completion.chunk"', '"chat.completion.chunk"', chat_stream
            )


@requirement("CHAT-STREAM-011", needs="chat")
def test_chunks_carry_id_created_model(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    for item in streams.chunks(chat_stream):
        chunk = item.chunk
        if not isinstance(chunk.get("id"), str) or not isinstance(chunk.get("model"), str):
            raise fail_at(item, "A chunk lacks id or model", "string id and model on every chunk", chat_stream)
        if not expect.epoch_seconds(chunk.get("created")):
            raise fail_at(
                item,
                "A chunk's created is missing or not epoch seconds",
                "an integer Unix timestamp in seconds",
                chat_stream,
            )


@requirement("CHAT-STREAM-012", needs="chat")
def test_chunks_share_id_created_model(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    found = streams.chunks(chat_stream)
    if not found:
        raise NotApplicable("no chunks (see CHAT-STREAM-002)")
    first = found[0].chunk
    for item in found[1:]:
        for key in ("id", "created", "model"):
            if key in item.chunk and key in first and item.chunk[key] != first[key]:
                raise fail_at(
                    item,
                    f"The chunks' {key} changes within one completion",
                    f"{key} = {expect.short(first[key])} as in event #{found[0].number}",
                    chat_stream,
                )


@requirement("CHAT-STREAM-013", needs="chat")
def test_chunk_choices_carry_index(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    for item in streams.chunks(chat_stream):
        for choice in streams.choices_of(item):
            if not expect.is_type(choice.get("index"), int):
                raise fail_at(item, "A chunk choice lacks an integer index", "choices[].index", chat_stream)


@requirement("CHAT-STREAM-014", needs="chat")
def test_chunk_choices_carry_delta(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    for item in streams.chunks(chat_stream):
        for choice in streams.choices_of(item):
            if not isinstance(choice.get("delta"), dict):
                raise fail_at(
                    item, "A chunk choice carries no delta object", "choices[].delta (not message)", chat_stream
                )


# -- ordering (streams.TRANSITIONS) ---------------------------------------------------------------------------


@requirement("CHAT-STREAM-020", needs="chat")
def test_first_delta_carries_assistant_role(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    finding(
        chat_stream,
        ("role-first", "role-value"),
        "A choice's first delta does not carry role assistant",
        'the first delta of each choice: {"role": "assistant", ...}',
    )


@requirement("CHAT-STREAM-021", needs="chat")
def test_later_deltas_do_not_repeat_role(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    finding(chat_stream, ("role-once",), "A later delta repeats the role", "role only in the first delta")


@requirement("CHAT-STREAM-022", needs="chat")
def test_exactly_one_documented_finish_per_choice(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    finding(
        chat_stream,
        ("finish-value", "one-finish"),
        "A choice does not get exactly one documented finish_reason",
        f"one chunk per choice with finish_reason in {', '.join(streams.CHAT_FINISH_REASONS)}",
    )


@requirement("CHAT-STREAM-023", needs="chat")
def test_nothing_after_finish(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    finding(
        chat_stream,
        ("after-finish",),
        "A choice got content after its finish_reason",
        "no delta content after the finish chunk",
    )


@requirement("CHAT-STREAM-024", needs="chat")
def test_finish_reason_key_on_every_choice(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    for item in streams.chunks(chat_stream):
        for choice in streams.choices_of(item):
            if "finish_reason" not in choice:
                raise fail_at(
                    item,
                    "A chunk choice lacks the finish_reason key",
                    '"finish_reason": null until the end',
                    chat_stream,
                )


# -- usage ----------------------------------------------------------------------------------------------------


def usage_chunks(stream: StreamExchange) -> list[Item]:
    return [item for item in streams.chunks(stream) if item.chunk.get("choices") == []]


@requirement("CHAT-STREAM-030", needs="chat")
def test_include_usage_adds_one_final_usage_chunk(chat_stream_usage: StreamExchange) -> None:
    found = judged(chat_stream_usage)
    chunk_items = streams.chunks(chat_stream_usage)
    usage_only = usage_chunks(chat_stream_usage)
    if len(usage_only) != 1 or not isinstance(usage_only[0].chunk.get("usage"), dict):
        last = chunk_items[-1] if chunk_items else found[-1]
        raise fail_at(
            last,
            "include_usage did not give exactly one usage chunk with empty choices",
            'one chunk {"choices": [], "usage": {...}} before [DONE]',
            chat_stream_usage,
            actual=f"{len(usage_only)} chunk(s) with choices []; last chunk: {last.raw}",
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


@requirement("CHAT-STREAM-031", needs="chat")
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


@requirement("CHAT-STREAM-032", needs="chat")
def test_no_usage_chunk_unless_requested(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    shared.no_unrequested_usage(chat_stream)


# -- n > 1 ----------------------------------------------------------------------------------------------------


@requirement("CHAT-STREAM-040", needs="chat")
def test_every_choice_streams_role_content_and_finish(chat_stream_n: StreamExchange) -> None:
    expect.answered(chat_stream_n)
    if chat_stream_n.status == 400 and expect.error_envelope_or_none(chat_stream_n) is not None:
        return  # an honest refusal of n > 1
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
        raise Violation(
            "A forced tool call was not streamed as tool_calls deltas",
            expected="delta.tool_calls fragments",
            actual=f"{len(streams.chunks(stream))} chunks without tool_calls",
            evidence=stream,
        )
    return fragments


@requirement("CHAT-STREAM-050", needs="chat")
def test_tool_call_deltas_carry_index(chat_stream_tools: StreamExchange) -> None:
    for item, call in tool_fragments(chat_stream_tools):
        if not expect.is_type(call.get("index"), int):
            raise fail_at(
                item,
                "A tool_calls delta lacks an integer index",
                "tool_calls[].index on every fragment",
                chat_stream_tools,
            )


@requirement("CHAT-STREAM-051", needs="chat")
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


@requirement("CHAT-STREAM-052", needs="chat")
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


@requirement("CHAT-STREAM-053", needs="chat")
def test_tool_call_finishes_with_tool_calls(chat_stream_tools: StreamExchange) -> None:
    tool_fragments(chat_stream_tools)
    reasons = [
        (item, choice.get("finish_reason"))
        for item in streams.chunks(chat_stream_tools)
        for choice in streams.choices_of(item)
        if choice.get("finish_reason") is not None
    ]
    if not reasons or reasons[-1][1] != "tool_calls":
        item = reasons[-1][0] if reasons else streams.chunks(chat_stream_tools)[-1]
        raise fail_at(
            item, 'A tool call did not finish with "tool_calls"', 'finish_reason "tool_calls"', chat_stream_tools
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


@requirement("CHAT-STREAM-060", needs="chat")
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


# -- consistency and delivery ---------------------------------------------------------------------------------


@requirement("CHAT-STREAM-070", needs="chat")
def test_stream_content_equals_non_stream(
    chat_stream: StreamExchange,
    chat_response: Exchange,
    chat_response_again: Exchange,
) -> None:
    judged(chat_stream)
    if streams.errors(chat_stream):
        raise NotApplicable("the stream carried an in-band error")
    contents = []
    for exchange in (chat_response, chat_response_again):
        try:
            contents.append(exchange.json()["choices"][0]["message"]["content"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise NotApplicable("no non-streamed content to compare with (see CHAT-005)") from None
    if contents[0] != contents[1]:
        raise NotApplicable("the provider is not deterministic at temperature 0: two identical requests differed")
    streamed = streams.content_text(chat_stream)
    if streamed != contents[0]:
        raise Violation(
            "The streamed content differs from the non-streamed content of the same request",
            expected=repr(contents[0][:200]),
            actual=repr(streamed[:200]),
            evidence=[chat_stream, chat_response],
        )


@requirement("CHAT-STREAM-071", needs="chat")
def test_stream_is_delivered_incrementally(chat_stream: StreamExchange) -> None:
    found = judged(chat_stream)
    if len(found) < 3:
        raise NotApplicable("too few events to judge delivery")
    arrivals = {item.event.time for item in found}
    if len(arrivals) < 2:
        raise Violation(
            "The whole stream arrived in one network read",
            expected="events spread over several reads",
            actual=f"{len(found)} events, all in one read",
            evidence=chat_stream,
        )


# -- errors ---------------------------------------------------------------------------------------------------


def _is_completion_body(stream: StreamExchange) -> bool:
    try:
        body = stream.json()
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(body, dict) and "choices" in body and "error" not in body


@requirement("CHAT-STREAM-080", needs="chat")
def test_error_before_streaming_is_a_real_status(stream_unknown_model: StreamExchange) -> None:
    # The envelope's shape is ERR-001's verdict; this rule is about status and framing.
    stream = stream_unknown_model
    expect.answered(stream)
    status = stream.status or 0
    if 200 <= status < 300:
        found = streams.items(stream)
        if found and not any(item.kind is Kind.ERROR for item in found) and streams.chunks(stream):
            raise NotApplicable("the provider served the unknown model (see ERR-005): no error to judge")
        if not found and _is_completion_body(stream):  # served, but not streamed: CHAT-STREAM-008's verdict
            raise NotApplicable("the provider served the unknown model in one JSON body (see ERR-005): no error here")
        raise Violation(
            "An error known before streaming was sent as a 200 stream",
            expected="a 4xx/5xx status with a JSON error body",
            actual=f"{status} {stream.content_type}: {stream.text[:160]!r}",
            evidence=stream,
        )
    if stream.media_type == "text/event-stream":
        raise Violation(
            "An error status was sent as an event stream",
            expected="a JSON error body",
            actual=f"{status} {stream.content_type}",
            evidence=stream,
        )
    expect.json_value(stream)


@requirement("CHAT-STREAM-081", needs="chat")
def test_in_band_errors_are_enveloped_and_end_the_stream(
    chat_stream: StreamExchange,
    chat_stream_usage: StreamExchange,
    chat_stream_n: StreamExchange,
) -> None:
    judged_any = False
    for stream in (chat_stream, chat_stream_usage, chat_stream_n):
        for item in streams.errors(stream):
            judged_any = True
            error = item.chunk.get("error")
            if not (
                isinstance(error, dict) and isinstance(error.get("message"), str) and isinstance(error.get("type"), str)
            ):
                raise fail_at(
                    item,
                    "An in-band stream error is not the error envelope",
                    'data: {"error": {"message": str, "type": str, ...}}',
                    stream,
                )
            later = [i for i in streams.items(stream) if i.number > item.number and i.kind is not Kind.DONE]
            if later:
                raise fail_at(
                    later[0], "The stream went on after an in-band error", "[DONE] right after the error", stream
                )
            if not any(i.kind is Kind.DONE for i in streams.items(stream)) or stream.eof_s is None:
                raise fail_at(
                    item,
                    "The stream did not end cleanly after an in-band error",
                    "the error event, then data: [DONE], then the end of the body",
                    stream,
                )
    if not judged_any:
        raise NotApplicable("no stream of this run carried an in-band error; nothing to judge")


# -- legal, but known to break popular clients ----------------------------------------------------------------


@requirement("CHAT-STREAM-090", needs="chat")
def test_events_are_unnamed_or_message(chat_stream: StreamExchange) -> None:
    for item in judged(chat_stream):
        if item.event.event not in (None, "", "message"):
            raise fail_at(
                item, "A chat stream event has a custom event name", "no event field, or event: message", chat_stream
            )


@requirement("CHAT-STREAM-091", needs="chat")
def test_each_event_is_one_data_line(chat_stream: StreamExchange) -> None:
    for item in judged(chat_stream):
        data_lines = [line for line in item.event.lines if line.text.startswith("data")]
        if len(data_lines) > 1:
            raise fail_at(
                item, "An event spreads its JSON over several data lines", "one data: line per event", chat_stream
            )
