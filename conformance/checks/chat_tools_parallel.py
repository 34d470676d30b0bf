"""CHAT-TOOL-010..012: parallel tool calls (OpenAPI ChatCompletionMessageToolCalls, ChatCompletionMessageToolCallChunk,
CreateChatCompletionRequest parallel_tool_calls; openai-python lib/streaming/_deltas.py, openai-node
lib/ChatCompletionStream).

The "auto" request names two cities. Whether a model answers it with one call or two is its own choice
(legal either way): the checks judge the calls it made. Two calls are two entries, each with its own id;
streamed, each call's deltas carry its own ``index``, which is all the clients' accumulators go by -- two
calls sent at one index assemble to one call, its name, id and arguments concatenated. With
``parallel_tool_calls`` false at most one call comes, or the parameter is declined.
"""

from __future__ import annotations

from typing import Any

from conformance import expect, streams
from conformance.checks.chat_tools import FORCED, TYPES, _type_problem, calls_of, choice_of
from conformance.core.results import NotApplicable, Unsupported, Violation
from conformance.engine import check
from conformance.transport.exchange import Exchange, StreamExchange

#: The requirement that owns the "auto" request (a tool call written as text, or the request refused).
AUTO_OWNER = "CHAT-TOOL-008"
#: The requirements that own a streamed tool-call fragment without an integer index, or a stream not served.
NO_INDEX = "CHAT-STREAM-050"
NOT_SERVED = "CHAT-STREAM-008"


def well_formed_calls(choice: dict[str, Any]) -> list[dict[str, Any]]:
    """The calls of a choice whose shape is right (a call of the wrong shape is CHAT-TOOL-002's)."""
    return [call for call in calls_of(choice) if not _type_problem(call)]


@check("CHAT-TOOL-010", needs=("chat", "tools"))
def test_parallel_calls_have_their_own_ids(chat_tools_auto: Exchange) -> None:
    choice = choice_of(chat_tools_auto, 'tool_choice "auto"', owner=AUTO_OWNER)
    calls = well_formed_calls(choice)
    if len(calls) < len(calls_of(choice)):
        raise NotApplicable(f"a tool call of the wrong shape (see {TYPES})", see=TYPES)
    if len(calls) < 2:
        raise NotApplicable(f"the model made {len(calls)} call(s) for two cities: no parallel calls to judge (legal)")
    ids = [call["id"] for call in calls]
    if len(set(ids)) < len(ids):
        raise Violation(
            "Parallel tool calls share an id",
            pointer="/choices/0/message/tool_calls",
            expected="a distinct id per call: each tool message answers one call by tool_call_id",
            actual=f"ids {ids!r}",
            evidence=chat_tools_auto,
        )


@check("CHAT-TOOL-011", needs=("chat", "tools"))
def test_streamed_parallel_calls_have_their_own_index(chat_stream_tools_parallel: StreamExchange) -> None:
    stream = chat_stream_tools_parallel
    expect.served_status(stream, "the streamed request", feature="tools", owner=NOT_SERVED)
    ids_at: dict[int, str] = {}
    for item in streams.chunks(stream):
        for choice in streams.choices_of(item):
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
            for fragment in (delta.get("tool_calls") or []) if choice.get("index", 0) == 0 else []:
                if not isinstance(fragment, dict) or not expect.is_type(fragment.get("index"), int):
                    raise NotApplicable(f"a fragment without an integer index (see {NO_INDEX})", see=NO_INDEX)
                index, call_id = int(fragment["index"]), fragment.get("id")
                if not isinstance(call_id, str) or not call_id:
                    continue  # a later fragment of the call (a first one without id is CHAT-STREAM-051's)
                if ids_at.setdefault(index, call_id) != call_id:
                    raise Violation(
                        "Two streamed tool calls share one index",
                        pointer=f"tool_calls index {index}",
                        expected="each call's deltas at its own index (0, 1, ...): the clients assemble calls "
                        "by index alone",
                        actual=f"call {ids_at[index]!r} and call {call_id!r} both at index {index}: openai-python "
                        "and openai-node assemble one call, its arguments concatenated",
                        evidence=stream,
                    )
    if len(ids_at) < 2:
        raise NotApplicable(f"{len(ids_at)} call(s) streamed for two cities: no parallel calls to judge (legal)")


@check("CHAT-TOOL-012", needs=("chat", "tools"))
def test_parallel_tool_calls_false_is_honoured(chat_tools_serial: Exchange) -> None:
    exchange = chat_tools_serial
    expect.answered(exchange)
    if expect.declined(exchange):
        raise Unsupported(f"parallel_tool_calls: the provider answered {exchange.status} with an error envelope")
    choice = choice_of(exchange, "parallel_tool_calls false", owner=FORCED)
    calls = calls_of(choice)
    if len(calls) > 1:
        raise Violation(
            "parallel_tool_calls false was answered with several calls",
            pointer="/choices/0/message/tool_calls",
            expected="at most one tool call (parallel_tool_calls: false), or a 4xx declining the parameter",
            actual=f"{len(calls)} calls: {expect.short(calls, 200)}",
            evidence=exchange,
        )
