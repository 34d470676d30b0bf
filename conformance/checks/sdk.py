"""SDK-*: the real-client oracle -- what the official clients actually do with the provider's answers.

The raw-HTTP checks say what the contract is; these say whether a user's code works. openai-python is
driven in-process (``conformance.sdk.PythonSdk``: the target's base URL and key, no retries, every
request charged to the run's budget and recorded), each flow once with the plain client (SDK-PY-0NN,
MUST) and, on the same answers, with ``_strict_response_validation=True`` (SDK-PY-1NN, SHOULD: the
strict twin of SDK-PY-0NN). openai-node runs the basic flows in a subprocess (SDK-NODE-*), when node is
available. A failure names the exception or the wrong value the client produced and shows the raw
exchange that caused it.

No strict twin exists for two flows, because openai-python's strict mode fails them against any
provider, OpenAI included: a completion stream (every chunk but the last has ``finish_reason: null``,
which the ``Completion`` model does not allow; openai/openai-openapi#100) and the default base64
embeddings (validated as ``list[float]`` before the SDK decodes the base64 string).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import openai

from conformance.core.results import NotApplicable, Unsupported, Violation
from conformance.engine import check
from conformance.probes.sdk import EMBEDDING_INPUTS
from conformance.sdk import (
    NodeError,
    SdkOutcome,
    SdkRun,
    describe,
    details,
    error_fields,
    exception_name,
    raise_for_error,
    raise_for_limits,
    read,
    wrong_value,
)
from conformance.transport.limits import BudgetExhausted

CHAT_FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter", "function_call")


COMPLETION_FINISH_REASONS = ("stop", "length", "content_filter")


# What openai-python raises for an in-band stream error whose `error` carries no message string.
GENERIC_STREAM_ERROR = "An error occurred during streaming"


EMBEDDING_TOLERANCE = 1e-5


def strict_verdict(outcome: SdkOutcome, plain_id: str, judge: Callable[[SdkRun], None]) -> None:
    """The strict twin: judged only where the plain client works, so it fails only on what validation adds."""
    try:
        judge(outcome.plain)
    except (Violation, NotApplicable) as exc:
        raise NotApplicable(
            f"openai-python already fails without strict validation (see {plain_id})", see=plain_id
        ) from exc
    if outcome.strict is None:
        raise NotApplicable(f"openai-python already fails without strict validation (see {plain_id})", see=plain_id)
    judge(outcome.strict)


def in_band_error(run: SdkRun) -> bool:
    """The client raised because the provider sent an error event inside a 200 stream."""
    exc = run.error
    if isinstance(exc, NodeError):
        return exc.cls == "APIError" and exc.status is None
    return isinstance(exc, openai.APIError) and not isinstance(
        exc, openai.APIStatusError | openai.APIConnectionError | openai.APIResponseValidationError
    )


def text_of(run: SdkRun, value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise wrong_value(
            run, f"{what} is empty", expected="the generated text (a non-empty string)", actual=repr(value)
        )
    return value


def judge_models(run: SdkRun) -> None:
    raise_for_error(run, expected="the listed models, then the retrieved model")
    models, retrieved = run.value
    ids = [read(run, model, ".id") for model in models]
    if not ids:
        raise wrong_value(run, "client.models.list() listed no model", expected="at least one model", actual="[]")
    if not all(isinstance(model_id, str) and model_id for model_id in ids):
        raise wrong_value(run, "a listed model's .id is not a string", expected="str ids", actual=repr(ids)[:200])
    got = read(run, retrieved, ".id")
    if got != ids[0]:
        raise wrong_value(
            run, "client.models.retrieve(id) returned another model", expected=repr(ids[0]), actual=repr(got)
        )


@check("SDK-PY-001")
def test_python_lists_and_retrieves_models(sdk_models: SdkOutcome) -> None:
    judge_models(sdk_models.plain)


@check("SDK-PY-101")
def test_python_strict_lists_and_retrieves_models(sdk_models: SdkOutcome) -> None:
    strict_verdict(sdk_models, "SDK-PY-001", judge_models)


def judge_chat(run: SdkRun) -> None:
    raise_for_error(run, expected="a ChatCompletion")
    text_of(run, read(run, run.value, ".choices[0].message.content"), "choices[0].message.content")
    reason = read(run, run.value, ".choices[0].finish_reason")
    if reason not in CHAT_FINISH_REASONS:
        raise wrong_value(
            run,
            "choices[0].finish_reason is not a documented value",
            expected=" or ".join(CHAT_FINISH_REASONS),
            actual=repr(reason),
        )


@check("SDK-PY-002", needs="chat")
def test_python_chat_completion(sdk_chat: SdkOutcome) -> None:
    judge_chat(sdk_chat.plain)


@check("SDK-PY-102", needs="chat")
def test_python_strict_chat_completion(sdk_chat: SdkOutcome) -> None:
    strict_verdict(sdk_chat, "SDK-PY-002", judge_chat)


def judge_chat_stream(run: SdkRun) -> None:
    if in_band_error(run):
        raise NotApplicable(
            f"the provider reported an error mid-stream ({describe(run.error)}); see SDK-PY-012", see="SDK-PY-012"
        )
    raise_for_error(run, expected="ChatCompletionChunks to the end of the stream")
    plain, with_usage = run.value
    content, reasons = "", []
    for number, chunk in enumerate(plain, 1):
        # The README's loop: `chunk.choices[0].delta.content or ""`; what breaks it breaks users' code.
        content += read(run, chunk, ".choices[0].delta.content") or ""
        reasons.append(read(run, chunk, ".choices[0].finish_reason"))
        if not isinstance(content, str):
            raise wrong_value(
                run,
                "delta.content is not a string",
                expected="str or None",
                actual=repr(content),
                pointer=f"chunk #{number}",
            )
    text_of(run, content, "the assembled content of the stream")
    if not any(reason in CHAT_FINISH_REASONS for reason in reasons):
        raise wrong_value(
            run,
            "no chunk carried a finish_reason",
            expected=" or ".join(CHAT_FINISH_REASONS),
            actual=f"finish_reason values {sorted({repr(r) for r in reasons})}",
        )
    usage = read(run, with_usage[-1], ".usage") if with_usage else None
    tokens = getattr(usage, "completion_tokens", None)
    if not isinstance(tokens, int):
        raise wrong_value(
            run,
            "the last chunk carried no usage although stream_options.include_usage was set",
            expected="chunk.usage with integer completion_tokens on the last chunk",
            actual=repr(usage)[:200],
        )


@check("SDK-PY-003", needs="chat")
def test_python_chat_stream(sdk_chat_stream: SdkOutcome) -> None:
    judge_chat_stream(sdk_chat_stream.plain)


@check("SDK-PY-103", needs="chat")
def test_python_strict_chat_stream(sdk_chat_stream: SdkOutcome) -> None:
    strict_verdict(sdk_chat_stream, "SDK-PY-003", judge_chat_stream)


def judge_completion(run: SdkRun) -> None:
    raise_for_error(run, expected="a Completion")
    text_of(run, read(run, run.value, ".choices[0].text"), "choices[0].text")
    reason = read(run, run.value, ".choices[0].finish_reason")
    if reason not in COMPLETION_FINISH_REASONS:
        raise wrong_value(
            run,
            "choices[0].finish_reason is not a documented value",
            expected=" or ".join(COMPLETION_FINISH_REASONS),
            actual=repr(reason),
        )


@check("SDK-PY-005", needs="completions")
def test_python_completion(sdk_completion: SdkOutcome) -> None:
    judge_completion(sdk_completion.plain)


@check("SDK-PY-105", needs="completions")
def test_python_strict_completion(sdk_completion: SdkOutcome) -> None:
    strict_verdict(sdk_completion, "SDK-PY-005", judge_completion)


@check("SDK-PY-006", needs="completions")
def test_python_completion_stream(sdk_completion_stream: SdkOutcome) -> None:
    run = sdk_completion_stream.plain
    if in_band_error(run):
        raise NotApplicable(f"the provider reported an error mid-stream ({describe(run.error)})")
    raise_for_error(run, expected="Completion chunks to the end of the stream")
    text, reasons = "", []
    for chunk in run.value:
        text += read(run, chunk, ".choices[0].text") or ""
        reasons.append(read(run, chunk, ".choices[0].finish_reason"))
    text_of(run, text, "the assembled text of the stream")
    if not any(reason in COMPLETION_FINISH_REASONS for reason in reasons):
        raise wrong_value(
            run,
            "no chunk carried a finish_reason",
            expected=" or ".join(COMPLETION_FINISH_REASONS),
            actual=f"finish_reason values {sorted({repr(r) for r in reasons})}",
        )


def vectors(run: SdkRun, data: list[Any]) -> list[list[float]]:
    """The vectors a user gets, checked: one per input, finite numbers, one dimension."""
    if len(data) != len(EMBEDDING_INPUTS):
        raise wrong_value(
            run, "not one embedding per input", expected=f"{len(EMBEDDING_INPUTS)} embeddings", actual=f"{len(data)}"
        )
    found = []
    for index, vector in enumerate(data):
        numbers = isinstance(vector, list) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in vector
        )
        if not numbers or not vector or not all(math.isfinite(v) for v in vector):
            raise wrong_value(
                run,
                "an embedding is not a list of finite numbers",
                pointer=f"data[{index}].embedding",
                expected="[float, ...]",
                actual=repr(vector)[:120],
            )
        found.append([float(v) for v in vector])
    if len({len(vector) for vector in found}) > 1:
        raise wrong_value(
            run,
            "the embeddings differ in dimension",
            expected="one dimension",
            actual=f"lengths {[len(vector) for vector in found]}",
        )
    return found


def float_vectors(run: SdkRun) -> list[list[float]]:
    raise_for_error(run, expected="a CreateEmbeddingResponse")
    return vectors(run, [read(run, item, ".embedding") for item in read(run, run.value, ".data")])


def judge_embeddings_float(run: SdkRun) -> None:
    float_vectors(run)


def same_vector(run: SdkRun, decoded: list[float], floats: list[float], float_run: SdkRun) -> None:
    worst = max((abs(a - b) for a, b in zip(decoded, floats, strict=False)), default=0.0)
    if len(decoded) != len(floats) or worst > EMBEDDING_TOLERANCE:
        raise Violation(
            f"{run.client}: the decoded default embedding differs from the float one",
            pointer="data[0].embedding",
            expected=f"{len(floats)} values equal within {EMBEDDING_TOLERANCE:g} to the float response",
            actual=f"{len(decoded)} values, max difference {worst:.3g}: {decoded[:4]}…",
            evidence=[*run.evidence, *float_run.evidence],
        )


@check("SDK-PY-007", needs="embeddings")
def test_python_embeddings_default_base64(sdk_embeddings_default: SdkOutcome, sdk_embeddings_float: SdkOutcome) -> None:
    run = sdk_embeddings_default.plain
    raise_for_error(run, expected="a CreateEmbeddingResponse with float vectors")
    decoded = vectors(run, [read(run, item, ".embedding") for item in read(run, run.value, ".data")])
    try:
        floats = float_vectors(sdk_embeddings_float.plain)
    except (Violation, NotApplicable, Unsupported, BudgetExhausted):
        return  # nothing trustworthy to compare with; SDK-PY-008 reports the float response
    # The first vector only: the base64 path is what is judged here, not a float response's later items.
    same_vector(run, decoded[0], floats[0], sdk_embeddings_float.plain)


@check("SDK-PY-008", needs="embeddings")
def test_python_embeddings_float(sdk_embeddings_float: SdkOutcome) -> None:
    float_vectors(sdk_embeddings_float.plain)


@check("SDK-PY-108", needs="embeddings")
def test_python_strict_embeddings_float(sdk_embeddings_float: SdkOutcome) -> None:
    strict_verdict(sdk_embeddings_float, "SDK-PY-008", judge_embeddings_float)


# -- error mapping -------------------------------------------------------------------------------------------


def judge_error_mapping(
    run: SdkRun,
    situation: str,
    *,
    accepted: tuple[type[openai.APIStatusError], ...] = (),
    served: tuple[str, str] | None = None,
) -> None:
    """The client raised an ``openai.APIStatusError`` for a 4xx (one of ``accepted``, when given) and found
    the error object: .type (and .code, .param) from the body.

    Any 4xx raises an APIStatusError subclass (openai-python _client.py _make_status_error: 400
    BadRequestError, 401 AuthenticationError, 404 NotFoundError, 422 UnprocessableEntityError, other 4xx
    APIStatusError); which subclass is a SHOULD of the raw-HTTP checks (AUTH-006, ERR-005, ERR-015). A
    5xx (InternalServerError, after the retries) or no exception breaks the user's handler. ``served``: the
    SKIP reason and the requirement whose finding it is, when the request was served, instead of a failure.
    """
    wanted = " or ".join(f"openai.{c.__name__}" for c in accepted) or "an openai.APIStatusError for a 4xx"
    exc = run.error
    if exc is None:
        if served is not None:
            reason, owner = served
            raise NotApplicable(f"{reason} (see {owner})", see=owner)
        value = repr(run.value)[:200]
        raise wrong_value(run, f"{situation} raised nothing", expected=wanted, actual=f"a normal return value: {value}")
    raise_for_limits(run, exc, wanted)
    if not isinstance(exc, openai.OpenAIError):
        raise_for_error(run, expected=wanted, declinable=False)
    refused = isinstance(exc, openai.APIStatusError) and 400 <= exc.status_code < 500
    if not refused or (accepted and not isinstance(exc, accepted)):
        raise Violation(
            f"{run.client}: {situation} raised {exception_name(exc)}, not {wanted}",
            expected=wanted,
            actual=describe(exc),
            detail=details(exc),
            evidence=run.evidence,
        )
    assert isinstance(exc, openai.APIStatusError)
    if not isinstance(exc.type, str) or not exc.type:
        raise Violation(
            f"{run.client}: {exception_name(exc)}.type is empty: the client found no error object",
            expected='.code, .type and .param read from {"error": {"message", "type", "param", "code"}}',
            actual=error_fields(exc),
            detail=f"Exception: {describe(exc)}",
            evidence=run.evidence,
        )


@check("SDK-PY-009", needs="chat")
def test_python_wrong_key_raises_a_status_error(sdk_wrong_key: SdkOutcome) -> None:
    judge_error_mapping(sdk_wrong_key.plain, "a request with a wrong key")


@check("SDK-PY-010", needs="chat")
def test_python_unknown_model_raises_a_status_error(sdk_unknown_model: SdkOutcome) -> None:
    judge_error_mapping(
        sdk_unknown_model.plain,
        "a request for an unknown model",
        served=("the unknown model was served: no error to map", "ERR-005"),
    )


@check("SDK-PY-011", needs="chat")
def test_python_bad_parameter_raises_bad_request(sdk_bad_parameter: SdkOutcome) -> None:
    # 400 vs 422 is ERR-015's (SHOULD): both are the documented validation refusals.
    judge_error_mapping(
        sdk_bad_parameter.plain,
        "a request with a bad parameter",
        accepted=(openai.BadRequestError, openai.UnprocessableEntityError),
        served=("the bad parameter was served: no error to map", "ERR-010"),
    )


def _served_as_one_json_body(run: SdkRun) -> bool:
    last = run.exchanges[-1] if run.exchanges else None
    if last is None or last.status is None or not 200 <= last.status < 300:
        return False
    try:
        body = last.json()
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(body, dict) and "choices" in body and "error" not in body


@check("SDK-PY-012", needs="chat")
def test_python_stream_errors_raise_api_error(sdk_stream_refused: SdkOutcome, sdk_chat_stream: SdkOutcome) -> None:
    run = sdk_stream_refused.plain
    if run.error is not None:
        if not isinstance(run.error, openai.APIStatusError):
            raise_for_error(run, expected="an APIStatusError from create()", declinable=False)
    else:
        stage, found = run.value
        if stage == "while iterating":
            raise_for_limits(run, found, "an APIStatusError from create()")  # the budget, a timeout: not judged
            raise Violation(
                f"{run.client}: a refused streamed request raised {exception_name(found)} only while iterating",
                expected="an APIStatusError (e.g. NotFoundError) raised by create(), before any iteration",
                actual=describe(found),
                detail="create() returned a Stream: handlers around create() never see the error",
                evidence=run.evidence,
            )
        if not found:
            if _served_as_one_json_body(run):  # not refused at all: CHAT-STREAM-008 and ERR-005 judge that
                raise NotApplicable("the provider served the unknown model in one JSON body: no refused stream")
            raise wrong_value(
                run,
                "a refused streamed request ended without an error or a chunk",
                expected="an APIStatusError",
                actual="an empty stream",
            )
        # An unknown model that is served is ERR-005's finding; the in-band part below may still apply.
    midway = sdk_chat_stream.plain
    if in_band_error(midway):
        assert isinstance(midway.error, openai.APIError)
        if midway.error.message == GENERIC_STREAM_ERROR or not isinstance(midway.error.body, dict):
            raise Violation(
                f"{midway.client}: an in-band stream error reached the user without its message",
                expected='APIError carrying the provider\'s message (data: {"error": {"message": ...}})',
                actual=f"{describe(midway.error)}; body {midway.error.body!r}",
                evidence=midway.evidence,
            )
    if run.error is None:
        raise NotApplicable(
            "the provider served the unknown model (see ERR-005): no refused stream to judge", see="ERR-005"
        )
