"""The verdict rules that are not a single check's: a MAY is never a failure, a same-origin 307/308
whose target serves the request is legal (ARCHITECTURE.md, "Verdicts people can defend"), a background
response refused with the envelope is declined (not a 5xx), and a cancel that comes after the response
finished is legal either way the provider answers it."""

from __future__ import annotations

import json

import pytest

from conformance.checks import responses_background as background
from conformance.core.results import Level, NotApplicable, Outcome, ProviderTimeout, Unsupported, Violation
from conformance.engine.judge import NOT_OFFERED, optional_absent
from conformance.probes.base_url import Sent, same_origin_target
from conformance.probes.responses_background import Cancelled, Polled
from conformance.transport.exchange import Exchange

BASE = "http://127.0.0.1:8000/v1/chat/completions/"


def answer(status: int, location: str | None = None, url: str = BASE) -> Exchange:
    headers = {"location": location} if location is not None else {}
    return Exchange(method="POST", url=url, request_headers={}, request_body=b"{}", status=status, headers=headers)


def test_a_may_violation_is_skipped_as_not_offered() -> None:
    skipped = optional_absent(Violation("No request id header"), Level.MAY)
    assert isinstance(skipped, NotApplicable)
    assert str(skipped) == f"{NOT_OFFERED}: No request id header"


def test_a_should_violation_stays_a_failure() -> None:
    assert optional_absent(Violation("No request id header"), Level.SHOULD) is None


def test_a_may_timeout_stays_a_timeout() -> None:
    timeout = ProviderTimeout("no answer")
    assert timeout.outcome is Outcome.TIMEOUT
    assert optional_absent(timeout, Level.MAY) is None


def test_a_same_origin_307_is_followed() -> None:
    assert same_origin_target(answer(307, "../completions")) == "http://127.0.0.1:8000/v1/chat/completions"


def test_a_same_origin_308_is_followed() -> None:
    assert same_origin_target(answer(308, "/v1/chat/completions")) == "http://127.0.0.1:8000/v1/chat/completions"


def test_a_cross_origin_307_is_not_followed() -> None:
    assert same_origin_target(answer(307, "https://elsewhere.example/v1/chat/completions")) is None


def test_a_301_is_not_followed() -> None:
    assert same_origin_target(answer(301, "/v1/chat/completions")) is None


def test_a_307_whose_target_serves_is_legal() -> None:
    assert Sent("chat/completions/", answer(307, "../completions"), answer(200)).legal_redirect


def test_a_307_whose_target_refuses_is_not_legal() -> None:
    assert not Sent("chat/completions/", answer(307, "../completions"), answer(404)).legal_redirect


# -- background responses: declined honestly, and a cancel that came too late -------------------------------

RESPONSES = "http://127.0.0.1:8000/v1/responses"
ENVELOPE = {"error": {"message": "background is not supported", "type": "invalid_request_error"}}
QUEUED = {"id": "resp_1", "object": "response", "status": "queued", "background": True}


def sent(status: int, body: object, url: str = RESPONSES) -> Exchange:
    return Exchange(
        method="POST", url=url, request_headers={}, request_body=b"{}", status=status, body=json.dumps(body).encode()
    )


def test_background_refused_with_the_envelope_is_declined() -> None:
    with pytest.raises(Unsupported):
        background.background_created(sent(400, ENVELOPE))


def test_background_refused_with_a_5xx_is_no_decline() -> None:
    with pytest.raises(Violation):
        background.background_created(sent(500, ENVELOPE))


def test_a_cancel_refused_after_the_response_finished_is_not_judged() -> None:
    finished = {**QUEUED, "status": "completed"}
    polled = Polled(sent(200, QUEUED), "resp_1", (sent(200, finished),))
    cancel = Cancelled(sent(200, finished), "resp_1", sent(409, ENVELOPE), sent(409, ENVELOPE))
    with pytest.raises(NotApplicable):
        background.test_background_response_cancelled(cancel, polled)


def test_a_cancel_answering_the_finished_response_twice_passes() -> None:
    finished = {**QUEUED, "status": "completed"}
    polled = Polled(sent(200, QUEUED), "resp_1", (sent(200, finished),))
    cancel = Cancelled(sent(200, QUEUED), "resp_1", sent(200, finished), sent(200, finished))
    background.test_background_response_cancelled(cancel, polled)
