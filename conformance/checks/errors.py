"""ERR-*: the error envelope and status codes by cause (seeds 000, 001, 002; compat-bugs F)."""

from __future__ import annotations

import re
from typing import Any

from conformance import expect
from conformance.core.results import NotApplicable, Violation
from conformance.engine import check
from conformance.probes.errors import OUT_OF_RANGE
from conformance.transport.exchange import Exchange

# Body shapes that mean "error" even under a 2xx status: seed 001's {"code":"105","msg":...,"success":false},
# a top-level "error", or a status/message pair instead of the documented object.
_ERROR_MARKERS = ("error", "msg", "error_code", "detail")


def _errors(exchanges: list[Exchange]) -> list[Exchange]:
    return [e for e in exchanges if e.ok and e.status is not None and e.status >= 400]


def _looks_like_error(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    if body.get("success") is False or any(key in body for key in _ERROR_MARKERS):
        return True
    return "code" in body and "message" in body and not {"choices", "data", "object"} & set(body)


@check("ERR-001", needs="chat")
def test_errors_carry_the_envelope(api_errors: list[Exchange]) -> None:
    for exchange in _errors(api_errors):
        expect.error_envelope(exchange)


@check("ERR-002", needs="chat")
def test_envelope_carries_param_and_code(api_errors: list[Exchange]) -> None:
    enveloped = [e for e in _errors(api_errors) if expect.error_envelope_or_none(e) is not None]
    if not enveloped:
        raise NotApplicable("no error envelope to inspect (see ERR-001)")
    for exchange in enveloped:
        expect.error_envelope(exchange, strict=True)


@check("ERR-003", needs="chat")
def test_errors_are_application_json(api_errors: list[Exchange]) -> None:
    for exchange in _errors(api_errors):
        expect.media_type(exchange, "application/json", "Error response is not application/json")


@check("ERR-004", needs="chat")
def test_errors_are_never_2xx(api_errors: list[Exchange]) -> None:
    for exchange in api_errors:
        if not exchange.ok or exchange.status is None or not 200 <= exchange.status < 300:
            continue
        try:
            body = exchange.json()
        except (ValueError, UnicodeDecodeError):
            continue
        if _looks_like_error(body):
            raise Violation(
                "An error was reported with a 2xx status",
                expected="a 4xx status with the error envelope",
                actual=f"{exchange.status} {expect.short(body, 200)}",
                evidence=exchange,
            )


@check("ERR-005", needs="chat")
def test_unknown_model_is_404_model_not_found(unknown_model_chat: Exchange) -> None:
    expect.answered(unknown_model_chat)
    if unknown_model_chat.status is not None and unknown_model_chat.status >= 500:
        raise NotApplicable(f"an unknown model is a {unknown_model_chat.status} (see ERR-006)")
    expect.status(unknown_model_chat, 404, title="An unknown model is not a 404")
    error = expect.error_envelope_or_none(unknown_model_chat)
    # Only a present `code` is judged here; its absence is ERR-002's verdict (one rule, one verdict).
    if error is not None and "code" in error and error["code"] != "model_not_found":
        raise Violation(
            "An unknown model lacks code model_not_found",
            pointer="/error/code",
            expected='"model_not_found"',
            actual=expect.short(error.get("code")),
            evidence=unknown_model_chat,
        )


@check("ERR-006", needs="chat")
def test_client_mistakes_are_never_5xx(
    bad_json_chat: Exchange,
    bad_type_chat: Exchange,
    unknown_model_chat: Exchange,
    messages_not_array_chat: Exchange,
) -> None:
    for exchange in (bad_json_chat, bad_type_chat, unknown_model_chat, messages_not_array_chat):
        expect.answered(exchange)
        if exchange.status is not None and exchange.status >= 500:
            raise Violation(
                "A client's mistake was answered with a server error",
                expected="a 4xx status",
                actual=f"{exchange.status} {exchange.reason}",
                detail=f"Request: {exchange.request_body!r}",
                evidence=exchange,
            )


@check("ERR-007", needs="chat")
def test_malformed_json_is_400(bad_json_chat: Exchange) -> None:
    expect.status(bad_json_chat, 400, title="Malformed JSON is not a 400")


@check("ERR-008", needs="chat")
def test_missing_messages_is_refused(missing_messages_chat: Exchange) -> None:
    expect.status(missing_messages_chat, *expect.REFUSALS, title="A request without messages was not refused")


@check("ERR-009", needs="chat")
def test_validation_error_names_param(missing_messages_chat: Exchange, bad_type_chat: Exchange) -> None:
    for exchange, name in ((missing_messages_chat, "messages"), (bad_type_chat, "temperature")):
        error = expect.error_envelope_or_none(exchange)
        if exchange.status not in expect.REFUSALS or error is None or "param" not in error:
            raise NotApplicable("no 400 error envelope with a param key to inspect (see ERR-002, ERR-008)")
        param = error["param"]
        if not isinstance(param, str) or name not in param:
            raise Violation(
                "The error does not name the parameter",
                pointer="/error/param",
                expected=repr(name),
                actual=expect.short(param),
                evidence=exchange,
            )


@check("ERR-010", needs="chat")
def test_wrong_type_is_refused(bad_type_chat: Exchange) -> None:
    expect.status(bad_type_chat, *expect.REFUSALS, title='temperature "hot" was not refused')


# A completion model used for chat should be pointed at /completions (not just "does not exist").
_NAMES_COMPLETIONS = re.compile(r"(?<!chat/)(?<!chat\.)(?<!chat )\bcompletions\b", re.IGNORECASE)


@check("ERR-011", needs=("chat", "completions"))
def test_wrong_endpoint_error_names_the_right_one(
    completion_model: str, chat_model: str, completion_model_on_chat: Exchange | None
) -> None:
    if completion_model == chat_model:
        raise NotApplicable("one model serves both chat and completions here")
    exchange = completion_model_on_chat
    assert exchange is not None  # sent wherever the two models differ
    expect.answered(exchange)
    if exchange.status is not None and exchange.status < 400:
        raise NotApplicable(f"{completion_model!r} is also served on /chat/completions")
    if not _NAMES_COMPLETIONS.search(exchange.text):
        raise Violation(
            "The error does not name the endpoint that serves the model",
            expected="a message pointing to /v1/completions",
            actual=expect.short(exchange.text, 200),
            evidence=exchange,
        )


@check("ERR-012")
def test_unknown_route_is_json_404(unknown_route: Exchange) -> None:
    exchange = unknown_route
    expect.status(exchange, 404, title="An unknown route is not a 404")
    expect.error_envelope(exchange)


@check("ERR-013", needs="chat")  # /chat/completions is a known path only where chat is served
def test_wrong_method_is_json_405(wrong_method_chat: Exchange) -> None:
    expect.status(wrong_method_chat, 405, title="A wrong method is not a 405")
    expect.error_envelope(wrong_method_chat)


@check("ERR-014", needs="chat", cases={case: case for case in sorted(OUT_OF_RANGE)})
def test_out_of_range_value_is_refused(out_of_range_chat: dict[str, Exchange], case: str) -> None:
    exchange = out_of_range_chat[case]
    expect.status(exchange, *expect.REFUSALS, title=f"An out-of-range value ({case}) was not refused")


# What openai-python raises for each status (src/openai/_client.py _make_status_error).
SDK_EXCEPTIONS = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    409: "ConflictError",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
}


@check("ERR-015", needs="chat")
def test_validation_errors_are_not_422(
    missing_messages_chat: Exchange, bad_type_chat: Exchange, out_of_range_chat: dict[str, Exchange]
) -> None:
    for exchange in (missing_messages_chat, bad_type_chat, *out_of_range_chat.values()):
        if exchange.status == 422:
            raise Violation(
                "A validation error is a 422, not a 400",
                expected="400 (openai.BadRequestError)",
                actual="422 (openai-python raises openai.UnprocessableEntityError, which handlers "
                "written for BadRequestError do not catch)",
                evidence=exchange,
            )
