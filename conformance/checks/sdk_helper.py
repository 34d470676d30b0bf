"""SDK-PY-004 and its strict twin SDK-PY-104: openai-python's ``chat.completions.stream()`` helper, which
accumulates the deltas of a stream into a ChatCompletion -- once for text, once for a forced tool call
(``lib/streaming/chat/_completions.py``). The other openai-python checks are in ``sdk.py``."""

from __future__ import annotations

import json

from conformance import expect
from conformance.checks.chat_stream_options import IGNORED
from conformance.checks.sdk import in_band_error, strict_verdict, text_of
from conformance.core.results import NotApplicable, Unsupported
from conformance.engine import check
from conformance.probes.chat_stream import WEATHER_TOOL
from conformance.sdk import SdkOutcome, SdkRun, describe, raise_for_error, read, wrong_value
from conformance.streams import forced_call_ignored
from conformance.transport.exchange import StreamExchange


def judge_helper_text(run: SdkRun) -> None:
    if in_band_error(run):
        raise NotApplicable(
            f"the provider reported an error mid-stream ({describe(run.error)}); see SDK-PY-012", see="SDK-PY-012"
        )
    raise_for_error(run, expected="the accumulated ChatCompletion")
    text_of(run, read(run, run.value, ".choices[0].message.content"), "the accumulated message.content")


def judge_helper_tools(run: SdkRun) -> None:
    exc = run.error
    status = getattr(exc, "status_code", None)
    if run.exchanges and expect.declines(status, _enveloped(run)):
        raise Unsupported(f"the provider refuses tools ({describe(exc)})")
    raise_for_error(run, expected="the accumulated ChatCompletion with its tool call")
    if not read(run, run.value, ".choices[0].message.tool_calls"):
        # What the client accumulated from a stream without a tool call: the provider's finding, not its.
        raise NotApplicable("no tool call was streamed for the helper to accumulate (see CHAT-STREAM-054)", see=IGNORED)
    call = read(run, run.value, ".choices[0].message.tool_calls[0]")
    call_id, name, arguments = (read(run, call, path) for path in (".id", ".function.name", ".function.arguments"))
    if not isinstance(call_id, str) or not call_id:
        raise wrong_value(run, "the accumulated tool call has no id", expected="a non-empty id", actual=repr(call_id))
    if name != WEATHER_TOOL["function"]["name"]:  # type: ignore[index]
        raise wrong_value(
            run, "the accumulated tool call names another function", expected="get_weather", actual=repr(name)
        )
    try:
        json.loads(arguments) if isinstance(arguments, str) else None
    except ValueError:
        if read(run, run.value, ".choices[0].finish_reason") == "length":
            raise NotApplicable("the tool call's arguments were cut by the run's max_tokens") from None
        arguments = None
    if not isinstance(arguments, str):
        raise wrong_value(
            run,
            "the accumulated tool call arguments are not a JSON string",
            expected='a JSON string such as \'{"city": "Paris"}\'',
            actual=repr(read(run, call, ".function.arguments"))[:200],
        )


def _enveloped(run: SdkRun) -> bool:
    return expect.error_envelope_or_none(run.exchanges[-1]) is not None


def _helper_tools_judged(chat_stream_tools: StreamExchange | None) -> None:
    """The helper's tool call is judged only where the raw forced call was honoured (see forced_call_ignored)."""
    if forced_call_ignored(chat_stream_tools):
        raise NotApplicable("the raw forced tool call was ignored (see CHAT-STREAM-054)", see=IGNORED)


@check("SDK-PY-004", needs="chat")
def test_python_stream_helper(
    sdk_helper_text: SdkOutcome, sdk_helper_tools: SdkOutcome | None, chat_stream_tools: StreamExchange | None
) -> None:
    judge_helper_text(sdk_helper_text.plain)
    _helper_tools_judged(chat_stream_tools)
    if sdk_helper_tools is not None:  # tools declared absent: the text helper alone
        judge_helper_tools(sdk_helper_tools.plain)


@check("SDK-PY-104", needs="chat")
def test_python_strict_stream_helper(
    sdk_helper_text: SdkOutcome, sdk_helper_tools: SdkOutcome | None, chat_stream_tools: StreamExchange | None
) -> None:
    strict_verdict(sdk_helper_text, "SDK-PY-004", judge_helper_text)
    _helper_tools_judged(chat_stream_tools)
    if sdk_helper_tools is not None:
        strict_verdict(sdk_helper_tools, "SDK-PY-004", judge_helper_tools)
