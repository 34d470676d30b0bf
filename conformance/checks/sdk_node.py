"""SDK-NODE-*: the pinned openai-node package run against the provider (conformance/sdk/node.py and
sdk_node.mjs), each flow judged from what the client did; the openai-python oracle is in ``sdk.py``.

The tool and structured-output flows (SDK-NODE-007..009): a forced call read as the function-calling guide
reads it (``JSON.parse(call.function.arguments)``); the stream helper (``client.chat.completions.stream()``,
ChatCompletionStream) assembling a streamed answer that may hold two calls, each by its own index;
``client.chat.completions.parse()`` with a plain ``json_schema`` response_format (openai-node lib/parser:
``JSON.parse`` of the content into ``message.parsed``; no zod, an optional peer dependency the suite does
not install).
"""

from __future__ import annotations

from typing import Any

from conformance.checks.chat_stream_options import IGNORED
from conformance.checks.sdk import CHAT_FINISH_REASONS, in_band_error, same_vector, text_of, vectors
from conformance.core.results import NotApplicable, Violation
from conformance.engine import check
from conformance.sdk import (
    NodeError,
    NodeResults,
    NodeSetup,
    SdkRun,
    describe,
    details,
    error_fields,
    raise_for_error,
    wrong_value,
)


def node_run(node_setup: NodeSetup, node_results: NodeResults, flow: str) -> SdkRun:
    if node_setup.modules is None:
        raise NotApplicable(f"openai-node not run: {node_setup.reason}")
    return node_results.run_of(flow)


@check("SDK-NODE-001")
def test_node_lists_models(node_setup: NodeSetup, node_results: NodeResults) -> None:
    run = node_run(node_setup, node_results, "models")
    raise_for_error(run, expected="the listed models")
    ids = run.value.get("ids") if isinstance(run.value, dict) else None
    if not ids or not all(isinstance(model_id, str) and model_id for model_id in ids):
        raise wrong_value(
            run, "client.models.list() gave no model ids", expected="at least one string id", actual=repr(ids)[:200]
        )


@check("SDK-NODE-002", needs="chat")
def test_node_chat_completion(node_setup: NodeSetup, node_results: NodeResults) -> None:
    run = node_run(node_setup, node_results, "chat")
    raise_for_error(run, expected="a ChatCompletion")
    text_of(run, run.value.get("content"), "choices[0].message.content")
    if run.value.get("finish_reason") not in CHAT_FINISH_REASONS:
        raise wrong_value(
            run,
            "choices[0].finish_reason is not a documented value",
            expected=" or ".join(CHAT_FINISH_REASONS),
            actual=repr(run.value.get("finish_reason")),
        )


@check("SDK-NODE-003", needs="chat")
def test_node_chat_stream(node_setup: NodeSetup, node_results: NodeResults) -> None:
    run = node_run(node_setup, node_results, "chat_stream")
    if in_band_error(run):
        raise NotApplicable(f"the provider reported an error mid-stream ({describe(run.error)})")
    raise_for_error(run, expected="chunks to the end of the stream")
    text_of(run, run.value.get("content"), "the assembled content of the stream")
    if run.value.get("finish_reason") not in CHAT_FINISH_REASONS:
        raise wrong_value(
            run,
            "no chunk carried a finish_reason",
            expected=" or ".join(CHAT_FINISH_REASONS),
            actual=repr(run.value.get("finish_reason")),
        )


@check("SDK-NODE-004", needs="embeddings")
def test_node_embeddings_default_base64(node_setup: NodeSetup, node_results: NodeResults) -> None:
    run = node_run(node_setup, node_results, "embeddings")
    raise_for_error(run, expected="a CreateEmbeddingResponse with decoded vectors")
    decoded = vectors(run, run.value.get("decoded") or [])
    floats = run.value.get("floats") or []
    if floats and isinstance(floats[0], list) and floats[0]:
        same_vector(run, decoded[0], [float(v) for v in floats[0]], run)


@check("SDK-NODE-005", needs="chat")
def test_node_error_mapping(node_setup: NodeSetup, node_results: NodeResults) -> None:
    """A wrong key and an unknown model each throw an APIError for a 4xx, with type from the envelope.

    openai-node core/error.ts APIError.generate maps any 4xx to an APIError subclass (401
    AuthenticationError, 404 NotFoundError, 400 BadRequestError, ...): which one is a SHOULD of the
    raw-HTTP checks (AUTH-006, ERR-005). An unknown model served is ERR-005's finding: SKIP here.
    """
    run = node_run(node_setup, node_results, "errors")
    raise_for_error(run, expected="the two errors, caught", declinable=False)
    wanted = "an APIError for a 4xx (AuthenticationError, NotFoundError, BadRequestError, ...)"
    cases = (("wrong_key", "a request with a wrong key"), ("unknown_model", "a request for an unknown model"))
    served: str | None = None
    for key, situation in cases:
        if key not in run.value:
            continue  # no key configured: nothing to refuse
        info = run.value[key]
        if info is None:
            if key == "unknown_model":
                served = "the unknown model was served: no error to map (see ERR-005)"
                continue
            raise wrong_value(run, f"{situation} raised nothing", expected=wanted, actual="a normal return value")
        error = NodeError(info)
        if error.status is None or not 400 <= error.status < 500:
            raise Violation(
                f"{run.client}: {situation} threw {error.cls}, not an APIError for a 4xx",
                expected=wanted,
                actual=describe(error),
                detail=details(error),
                evidence=run.evidence,
            )
        if not isinstance(error.type, str) or not error.type:
            raise Violation(
                f"{run.client}: {error.cls}.type is empty: the client found no error object",
                expected='.code, .type and .param read from {"error": {...}}',
                actual=error_fields(error),
                evidence=run.evidence,
            )
    if served is not None:
        raise NotApplicable(served)


# -- tools and structured outputs ------------------------------------------------------------------------

NAME = "get_weather"


def _cut(run: SdkRun) -> None:
    """The run's own small max_tokens cut the answer: nothing to judge."""
    if isinstance(run.error, NodeError) and run.error.cls == "LengthFinishReasonError":
        raise NotApplicable("openai-node raised LengthFinishReasonError: the answer was cut by the run's max_tokens")
    if isinstance(run.value, dict) and run.value.get("finish_reason") == "length":
        raise NotApplicable("the answer was cut by the run's max_tokens")


def judge_call(run: SdkRun, call: Any, where: str) -> None:
    """A call as the client handed it over: a string id, the function's name, and arguments that are JSON
    text of an object (what the user's JSON.parse gets; whether it fits the schema is CHAT-TOOL-003's)."""
    if not isinstance(call, dict):
        raise wrong_value(run, f"{where} is not a tool call", expected="a tool call object", actual=repr(call)[:200])
    if not isinstance(call.get("id"), str) or not call["id"]:
        raise wrong_value(
            run, f"{where}.id is not a string", expected="a non-empty string", actual=repr(call.get("id"))
        )
    if call.get("name") != NAME:
        raise wrong_value(run, f"{where}.function.name is wrong", expected=repr(NAME), actual=repr(call.get("name")))
    if not isinstance(call.get("arguments"), str):
        raise wrong_value(
            run,
            f"{where}.function.arguments is not a string",
            expected="JSON text, as JSON.parse(call.function.arguments) expects",
            actual=repr(call.get("arguments"))[:200],
        )
    parsed = call.get("parsed")
    if call.get("parse_error") or not isinstance(parsed, dict):
        raise wrong_value(
            run,
            f"JSON.parse({where}.function.arguments) gives no arguments object",
            expected="a JSON object (the function's arguments)",
            actual=call.get("parse_error") or f"{parsed!r} from {call['arguments'][:200]!r}",
        )


@check("SDK-NODE-007", needs=("chat", "tools"))
def test_node_reads_a_forced_tool_call(node_setup: NodeSetup, node_results: NodeResults) -> None:
    run = node_run(node_setup, node_results, "chat_tools")
    raise_for_error(run, expected="a ChatCompletion with the forced get_weather call")
    _cut(run)
    calls = run.value.get("calls") or []
    if not calls:
        raise NotApplicable(f"no tool call to read: the forced call was not made (see {IGNORED})", see=IGNORED)
    judge_call(run, calls[0], "message.tool_calls[0]")


@check("SDK-NODE-008", needs=("chat", "tools"))
def test_node_stream_helper_assembles_tool_calls(node_setup: NodeSetup, node_results: NodeResults) -> None:
    run = node_run(node_setup, node_results, "chat_tools_stream")
    if in_band_error(run):
        raise NotApplicable(f"the provider reported an error mid-stream ({describe(run.error)})")
    raise_for_error(run, expected="the final ChatCompletion with the streamed tool calls")
    _cut(run)
    calls = run.value.get("calls") or []
    if not calls:
        raise NotApplicable("the model answered without a tool call ('auto'): nothing for the helper to assemble")
    for position, call in enumerate(calls):
        judge_call(run, call, f"finalChatCompletion() message.tool_calls[{position}]")
    ids = [call["id"] for call in calls]
    if len(set(ids)) < len(ids):
        raise wrong_value(
            run, "the assembled tool calls share an id", expected="one id per call", actual=f"ids {ids!r}"
        )


@check("SDK-NODE-009", needs=("chat", "structured_outputs"))
def test_node_parse_reads_a_structured_output(node_setup: NodeSetup, node_results: NodeResults) -> None:
    run = node_run(node_setup, node_results, "chat_parse")
    _cut(run)
    raise_for_error(run, expected="a ParsedChatCompletion whose message.parsed is the answer object")
    parsed = run.value.get("parsed")
    if not isinstance(parsed, dict) or parsed.get("answer") not in ("yes", "no"):
        raise wrong_value(
            run,
            "message.parsed is not the answer the json_schema asks for",
            expected='{"answer": "yes"} or {"answer": "no"}',
            actual=f"parsed {parsed!r}; content {str(run.value.get('content'))[:200]!r}",
        )
