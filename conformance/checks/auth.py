"""AUTH-*: Bearer authentication and the organization header (seed 002 "Authentication"; seed 001)."""

from __future__ import annotations

from conformance import builders, expect
from conformance.core.results import NotApplicable, Violation
from conformance.engine import check
from conformance.target import Target
from conformance.transport.exchange import Exchange


@check("AUTH-001", needs="chat")
def test_missing_key_is_401(keyed: None, no_key_chat: Exchange) -> None:
    expect.status(no_key_chat, 401, title="A request without a key was not refused with 401")


@check("AUTH-002", needs="chat")
def test_wrong_key_is_refused(keyed: None, wrong_key_chat: Exchange) -> None:
    # Any 4xx raises an APIStatusError subclass in both SDKs (openai-python _client.py _make_status_error:
    # 400 → BadRequestError, 401 → AuthenticationError, 403 → PermissionDeniedError, ...); only a 2xx (no
    # exception) or a 5xx (retried, then InternalServerError) breaks them. "Exactly 401" is AUTH-006.
    exchange = wrong_key_chat
    expect.answered(exchange)
    assert exchange.status is not None
    if not 400 <= exchange.status < 500:
        raise Violation(
            "A request with a wrong key was not refused with a 4xx",
            expected="a 4xx status (401) with the error envelope",
            actual=f"{exchange.status} {exchange.reason}",
            detail=expect.short(exchange.text, 200),
            evidence=exchange,
        )
    if expect.error_envelope_or_none(exchange) is None:
        raise NotApplicable(f"refused with {exchange.status}, but without the error envelope (see ERR-001)")


@check("AUTH-006", needs="chat")
def test_wrong_key_is_401(keyed: None, wrong_key_chat: Exchange) -> None:
    exchange = wrong_key_chat
    expect.answered(exchange)
    assert exchange.status is not None
    if not 400 <= exchange.status < 500:
        raise NotApplicable(f"a wrong key was answered {exchange.status}, not refused (see AUTH-002)")
    expect.status(exchange, 401, title="A request with a wrong key was refused, but not with 401")


@check("AUTH-003")
def test_organization_header_is_accepted(models_listing: Exchange, organization_models: Exchange) -> None:
    exchange = organization_models
    if exchange.status != 200 and exchange.status == models_listing.status:
        # "served as without it": the header changed nothing (MODELS-001 judges the list itself)
        raise NotApplicable(f"GET /models answers {models_listing.status} without the header too")
    expect.status(exchange, 200, title="A request with OpenAI-Organization was not served")


@check("AUTH-004", needs="chat")
def test_errors_never_echo_the_full_key(target: Target, wrong_key_chat: Exchange, api_errors: list[Exchange]) -> None:
    # The wrong key is ours to send; the real key must not come back in any error either.
    checks = [(wrong_key_chat, builders.WRONG_KEY)] + [(e, target.api_key) for e in api_errors if target.api_key]
    for exchange, key in checks:
        if key and key in exchange.text:
            raise Violation(
                "An error body quotes the API key in full",
                expected="the key masked (e.g. sk-ab***wxyz)",
                actual="the full key (redacted here) appears in the body; it ends up in client logs",
                evidence=exchange,
            )


REQUEST_ID_HEADERS = ("x-request-id", "request-id", "openai-request-id", "x-amzn-requestid", "cf-ray")


@check("AUTH-005", needs="chat")
def test_responses_carry_a_request_id(chat_response: Exchange, models_listing: Exchange) -> None:
    for exchange in (chat_response, models_listing):
        if exchange.ok and not any(name in exchange.headers for name in REQUEST_ID_HEADERS):
            raise Violation(
                "No request id header",
                expected=f"one of {', '.join(REQUEST_ID_HEADERS)}",
                actual=f"headers: {', '.join(sorted(exchange.headers)) or '(none)'}",
                evidence=exchange,
            )
