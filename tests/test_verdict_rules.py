"""The verdict rules that are not a single check's: a MAY is never a failure, a same-origin 307/308
whose target serves the request is legal (ARCHITECTURE.md, "Verdicts people can defend"), a tool call
in content is a call, not markup a model echoed (CHAT-TOOL-008), a background response refused with the
envelope is declined (not a 5xx), and a cancel that comes after the response finished is legal either way
the provider answers it."""

from __future__ import annotations

import json

import pytest

from conformance.checks import responses_background as background
from conformance.checks.chat_tools import call_in_text
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


# Content of an answer to tool_choice "auto" → the call CHAT-TOOL-008 finds in it (None: no call).
ECHOED_PREAMBLE = (  # llama.cpp b11434 --jinja, gemma-3-270m (reports/llama-server, issue 16): no call was made
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with "
    "function signatures within <tool_call></tool_call> XML tags:\n"
)
DEFINITION = '<tools>{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", '
DEFINITION += '"properties": {"city": {"type": "string"}}, "required": ["city"]}}}</tools>'
PARIS = {"city": "Paris"}
CALLS_IN_TEXT: list[tuple[str, str, tuple[str, dict[str, str]] | None]] = [
    (
        "hermes-markup",
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
        ("get_weather", PARIS),
    ),
    ("llama-json", '{"name": "get_weather", "parameters": {"city": "Paris"}}', ("get_weather", PARIS)),
    ("python-tag", '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}', ("get_weather", PARIS)),
    ("mistral-list", '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}}]', ("get_weather", PARIS)),
    ("mistral-args", '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}', ("get_weather", PARIS)),
    ("llama-function-tag", '<function=get_weather>{"city": "Paris"}</function>', ("get_weather", PARIS)),
    (
        "openai-shape",
        '{"type": "function", "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}}',
        ("get_weather", PARIS),
    ),
    ("prose-around", 'Sure! {"name": "get_weather", "arguments": {"city": "Paris"}} Done.', ("get_weather", PARIS)),
    ("echoed-preamble", ECHOED_PREAMBLE, None),
    ("echoed-definition", DEFINITION, None),
    ("plain-answer", "It is sunny in Paris.", None),
    ("another-function", '<tool_call>{"name": "get_time", "arguments": {"city": "Paris"}}</tool_call>', None),
    ("cut-call", '<tool_call>{"name": "get_weather", "arguments": {"ci', None),
]


@pytest.mark.parametrize(("content", "found"), [case[1:] for case in CALLS_IN_TEXT], ids=[c[0] for c in CALLS_IN_TEXT])
def test_a_call_in_content_is_a_call_not_markup(content: str, found: tuple[str, dict[str, str]] | None) -> None:
    assert call_in_text(content) == found


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


def test_a_background_response_still_running_at_the_time_limit_is_a_timeout_not_a_skip() -> None:
    running = {**QUEUED, "status": "in_progress"}
    polled = Polled(sent(200, QUEUED), "resp_1", (sent(200, running), sent(200, running)))
    with pytest.raises(ProviderTimeout, match="did not finish within the time limit"):
        background.test_background_response_polled(polled)


NOT_FOUND = {"error": {"message": "File Not Found", "type": "not_found_error", "param": None, "code": 404}}


def test_a_provider_without_cancel_is_unsupported_for_both_cancel_requirements() -> None:
    # llama.cpp b11434: background ignored (the response is completed at once), no storage, no cancel route.
    finished = {**QUEUED, "status": "completed", "output": []}
    polled = Polled(sent(200, finished), "resp_1", (sent(404, NOT_FOUND),))
    cancel = Cancelled(sent(200, finished), "resp_1", sent(404, NOT_FOUND), sent(404, NOT_FOUND))
    with pytest.raises(Unsupported, match="does not offer cancel"):
        background.test_background_response_cancelled(cancel, polled)
    with pytest.raises(Unsupported, match="does not offer cancel"):
        background._cancel_offered(cancel)
