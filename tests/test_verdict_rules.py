"""The verdict rules that are not a single check's: a MAY is never a failure, and a same-origin 307/308
whose target serves the request is legal (ARCHITECTURE.md, "Verdicts people can defend")."""

from __future__ import annotations

from conformance.core.results import Level, NotApplicable, Outcome, ProviderTimeout, Violation
from conformance.engine.judge import NOT_OFFERED, optional_absent
from conformance.probes.base_url import Sent, same_origin_target
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
