"""ERR-*: the error envelope and status codes by cause (seeds 000, 001, 002; compat-bugs F)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from conformance import expect, probes
from conformance.core.results import NotApplicable, Violation
from conformance.plugin import requirement
from conformance.transport.client import HttpClient
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


@requirement("ERR-001", needs="chat")
def test_errors_carry_the_envelope(api_errors: list[Exchange]) -> None:
    for exchange in _errors(api_errors):
        expect.error_envelope(exchange)


@requirement("ERR-002", needs="chat")
def test_envelope_carries_param_and_code(api_errors: list[Exchange]) -> None:
    enveloped = [e for e in _errors(api_errors) if expect.error_envelope_or_none(e) is not None]
    if not enveloped:
        raise NotApplicable("no error envelope to inspect (see ERR-001)")
    for exchange in enveloped:
        expect.error_envelope(exchange, strict=True)


@requirement("ERR-003", needs="chat")
def test_errors_are_application_json(api_errors: list[Exchange]) -> None:
    for exchange in _errors(api_errors):
        expect.media_type(exchange, "application/json", "Error response is not application/json")


@requirement("ERR-004", needs="chat")
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


@requirement("ERR-005", needs="chat")
def test_unknown_model_is_404_model_not_found(unknown_model_chat: Exchange) -> None:
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


@requirement("ERR-006", needs="chat")
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


@requirement("ERR-007", needs="chat")
def test_malformed_json_is_400(bad_json_chat: Exchange) -> None:
    expect.status(bad_json_chat, 400, title="Malformed JSON is not a 400")


@requirement("ERR-008", needs="chat")
def test_missing_messages_is_400(missing_messages_chat: Exchange) -> None:
    expect.status(missing_messages_chat, 400, title="A request without messages is not a 400")


@requirement("ERR-009", needs="chat")
def test_validation_error_names_param(missing_messages_chat: Exchange, bad_type_chat: Exchange) -> None:
    for exchange, name in ((missing_messages_chat, "messages"), (bad_type_chat, "temperature")):
        error = expect.error_envelope_or_none(exchange)
        if exchange.status != 400 or error is None or "param" not in error:
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


@requirement("ERR-010", needs="chat")
def test_wrong_type_is_400(bad_type_chat: Exchange) -> None:
    expect.status(bad_type_chat, 400, title='temperature "hot" was not refused with 400')


# A completion model used for chat should be pointed at /completions (not just "does not exist").
_NAMES_COMPLETIONS = re.compile(r"(?<!chat/)(?<!chat\.)(?<!chat )\bcompletions\b", re.IGNORECASE)


@requirement("ERR-011", needs=("chat", "completions"))
def test_wrong_endpoint_error_names_the_right_one(client: HttpClient, completion_model: str, chat_model: str) -> None:
    if completion_model == chat_model:
        raise NotApplicable("one model serves both chat and completions here")
    exchange = client.request(
        "POST",
        "chat/completions",
        json_body={"model": completion_model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1},
    )
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


@requirement("ERR-012")
def test_unknown_route_is_json_404(client: HttpClient) -> None:
    exchange = client.request("POST", "oai-conformance-no-such-route", json_body={"model": probes.UNKNOWN_MODEL})
    expect.status(exchange, 404, title="An unknown route is not a 404")
    expect.error_envelope(exchange)


@requirement("ERR-013", needs="chat")  # /chat/completions is a known path only where chat is served
def test_wrong_method_is_json_405(client: HttpClient) -> None:
    exchange = client.request("PUT", "chat/completions", json_body={})
    expect.status(exchange, 405, title="A wrong method is not a 405")
    expect.error_envelope(exchange)


# Out-of-range values the documented contract rejects (seed 002 ranges; OpenAPI minimum/maximum).
OUT_OF_RANGE = {
    "temperature 2.5": {"temperature": 2.5},
    "top_p 1.5": {"top_p": 1.5},
    "n 0": {"n": 0},
    "max_tokens 0": {"max_tokens": 0},
    "max_tokens -1": {"max_tokens": -1},
    "presence_penalty 3": {"presence_penalty": 3},
    "frequency_penalty -3": {"frequency_penalty": -3},
    "stop with 5 entries": {"stop": ["a", "b", "c", "d", "e"]},
    "unknown role": {"messages": [{"role": "wizard", "content": "Hi"}]},
}


@requirement("ERR-014", needs="chat")
@pytest.mark.parametrize("case", sorted(OUT_OF_RANGE))
def test_out_of_range_value_is_400(client: HttpClient, chat_model: str, case: str) -> None:
    body = {"model": chat_model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1, **OUT_OF_RANGE[case]}
    exchange = client.request("POST", "chat/completions", json_body=body)
    expect.status(exchange, 400, title=f"An out-of-range value ({case}) is not a 400")


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


@requirement("ERR-015", needs="chat")
def test_validation_errors_are_not_422(missing_messages_chat: Exchange, bad_type_chat: Exchange) -> None:
    for exchange in (missing_messages_chat, bad_type_chat):
        if exchange.status == 422:
            raise Violation(
                "A validation error is a 422, not a 400",
                expected="400 (openai.BadRequestError)",
                actual="422 (openai-python raises openai.UnprocessableEntityError, which handlers "
                "written for BadRequestError do not catch)",
                evidence=exchange,
            )
