"""The property run (conformance/property/): its pure parts, and what a run against the reference shows.

The meta-tests prove each PROP requirement on its fault (tests/test_meta.py); here: how findings are
classified, how generated bodies are made cheap without changing their validity, which operations a
target claims, and that a run honours the budget, the key and a declared capability set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.checks.property import PropertyHarnessError, report
from conformance.core.catalogue import load_catalogue
from conformance.core.results import NotApplicable, Violation
from conformance.engine import RunState
from conformance.imaging import decode_png
from conformance.property import (
    AUTH,
    CLASSES,
    CONTENT_TYPE,
    EDGE_CASES,
    ENVELOPE,
    INVALID_INPUT,
    SCHEMA,
    STATUS,
    VALID_5XX,
    PropertyFailure,
    PropertyRun,
    claimed,
    classify,
    envelope_problem,
    load_spec,
    operations,
    run_property_tests,
    shape_body,
    tiny_png,
)
from conformance.property.results import owner_of_finding
from conformance.property.spec import event_problem, officially_valid
from conformance.reference import ReferenceServer
from conformance.target import Target
from tests.conftest import TEST_KEY
from tests.suite_runs import MODELS, cached_report, outcomes

PROPERTY_IDS = [f"PROP-00{n}" for n in range(1, 10)]


def target(base_url: str, **settings: Any) -> Target:
    return Target.build(base_url, api_key=settings.pop("api_key", TEST_KEY), env={}, **MODELS, **settings)


def property_run(base_url: str, **settings: Any) -> tuple[PropertyRun, RunState]:
    state = RunState(target=target(base_url, **settings), catalogue=load_catalogue())
    try:
        return run_property_tests(state), state
    finally:
        state.close()


@pytest.fixture(scope="module")
def keyless_server() -> Iterator[ReferenceServer]:
    server = ReferenceServer(api_key=None, stream_delay=0.001).start()
    try:
        yield server
    finally:
        server.stop()


# -- classification ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "klass"),
    [
        ("ST103", STATUS),
        ("ST104", CONTENT_TYPE),
        ("ST105", CONTENT_TYPE),
        ("ST108", SCHEMA),
        ("ST109", SCHEMA),
        ("ST201", INVALID_INPUT),
        ("ST204", STATUS),
        ("ST401", AUTH),
        ("ST999", STATUS),  # a code schemathesis adds later still lands somewhere
    ],
)
def test_failure_codes_map_to_classes(code: str, klass: str) -> None:
    assert classify(code, "") == klass


def test_server_errors_are_left_to_our_own_check() -> None:
    # Only our check knows whether the request was valid (PROP-004) or not (PROP-005).
    assert classify("ST101", "") is None
    assert classify("ST102", "") is None


def test_a_missing_authorization_header_is_an_auth_finding() -> None:
    assert classify("ST203", "Got 200 when missing required 'Authorization' header") == AUTH
    assert classify("ST203", "Got 200 when missing required 'X-Trace' header") == INVALID_INPUT


def test_every_class_has_a_requirement() -> None:
    assert len(CLASSES) == len(PROPERTY_IDS)
    catalogue = load_catalogue()
    for requirement_id in PROPERTY_IDS:
        assert "property" in catalogue[requirement_id].tags


# -- the envelope check ----------------------------------------------------------------------------------


def test_the_error_envelope_passes() -> None:
    body = {"error": {"message": "Bad", "type": "invalid_request_error", "param": None, "code": None}}
    assert envelope_problem(json.dumps(body).encode()) is None


@pytest.mark.parametrize(
    "body",
    [
        b"<html>Not Found</html>",
        b'{"detail": "Not Found"}',
        b'{"error": "Bad"}',
        b'{"code": "105", "msg": "token invalid."}',
        b'{"error": {"message": "Bad"}}',
        b"[]",
    ],
)
def test_what_is_not_the_error_envelope(body: bytes) -> None:
    problem = envelope_problem(body)
    assert problem is not None
    assert "Received" in problem


# -- shaping generated bodies ------------------------------------------------------------------------------

CHAT_MODELS = {"chat": "ref-chat", "completions": "ref-instruct"}


def test_the_model_is_pinned_and_tokens_clamped() -> None:
    body: dict[str, Any] = {"model": "x", "messages": [], "max_tokens": 9000, "n": 100}
    shape_body(body, "chat", CHAT_MODELS, 16)
    assert body == {"model": "ref-chat", "messages": [], "max_tokens": 16, "n": 2}


def test_a_missing_token_limit_is_added() -> None:
    body: dict[str, Any] = {"model": "x", "prompt": "Hi"}
    shape_body(body, "completions", CHAT_MODELS, 16)
    assert body["max_tokens"] == 16
    assert body["model"] == "ref-instruct"


@pytest.mark.parametrize("value", [-1, 0, "many", 2.5, None, True])
def test_an_invalid_value_is_never_replaced(value: Any) -> None:
    # A negative case must stay negative: only values of the right type and range are clamped.
    body: dict[str, Any] = {"model": 3, "max_tokens": value, "n": value}
    shape_body(body, "chat", CHAT_MODELS, 16)
    assert body == {"model": 3, "max_tokens": value, "n": value}


def test_an_optional_image_model_is_left_to_the_provider() -> None:
    body: dict[str, Any] = {"prompt": "A cat", "model": "dall-e-9", "n": 7}
    shape_body(body, "images", CHAT_MODELS, 16)
    assert body == {"prompt": "A cat", "n": 1}


def test_the_source_image_is_a_real_square_png() -> None:
    info = decode_png(tiny_png())
    assert info.width == info.height


# -- claims -----------------------------------------------------------------------------------------------

SPEC_OPERATIONS = {f"{method} {path}": operation for path, method, operation in operations(load_spec())}


def claimed_labels(**settings: Any) -> set[str]:
    covered = target("http://127.0.0.1:9/v1", **settings)
    return {label for label, operation in SPEC_OPERATIONS.items() if claimed(covered, operation)}


def test_everything_is_claimed_by_default() -> None:
    assert claimed_labels() == set(SPEC_OPERATIONS)


def test_the_core_profile_claims_models_chat_completions_and_embeddings() -> None:
    assert claimed_labels(profile="core") == {
        "GET /models",
        "GET /models/{model}",
        "POST /chat/completions",
        "POST /completions",
        "POST /embeddings",
    }


def test_declared_capabilities_limit_the_run() -> None:
    labels = claimed_labels(capabilities="chat,images")
    assert "POST /chat/completions" in labels
    assert "POST /images/variations" in labels
    assert "GET /models" in labels  # models cannot be declined
    assert "POST /embeddings" not in labels
    assert "GET /files" not in labels


def test_the_legacy_profile_stands_alone() -> None:
    labels = claimed_labels(profile="legacy")
    assert "POST /edits" in labels
    assert "DELETE /models/{model}" in labels
    assert "POST /chat/completions" not in labels


# -- reporting a class -----------------------------------------------------------------------------------


def test_a_finding_becomes_a_violation_with_the_code_title_and_reproducer() -> None:
    run = PropertyRun(judged={SCHEMA: 3})
    run.add(
        PropertyFailure(SCHEMA, "ST108", "Response violates schema", "Received: x", "GET /models", "curl -X GET url")
    )
    with pytest.raises(Violation) as raised:
        report(run, SCHEMA)
    assert raised.value.title == "ST108 Response violates schema"
    assert raised.value.pointer == "GET /models"
    assert "curl -X GET url" in (raised.value.detail or "")


def test_a_broken_run_is_an_error_not_a_pass() -> None:
    run = PropertyRun(judged={SCHEMA: 3}, errors=["schemathesis: boom"])
    with pytest.raises(PropertyHarnessError):
        report(run, SCHEMA)


def test_a_class_that_judged_nothing_is_not_a_pass() -> None:
    with pytest.raises(NotApplicable):
        report(PropertyRun(judged={SCHEMA: 3}), AUTH)


# -- runs against the reference provider -------------------------------------------------------------------


def test_the_clean_reference_passes_every_property_requirement(reference_server: ReferenceServer) -> None:
    results = outcomes(cached_report(reference_server.base_url, TEST_KEY))
    assert {rid: results[rid] for rid in PROPERTY_IDS} == dict.fromkeys(PROPERTY_IDS, "PASS")


def test_a_run_covers_every_operation_within_its_share_of_the_budget(reference_server: ReferenceServer) -> None:
    run, state = property_run(reference_server.base_url)
    assert not run.errors
    assert not run.failures
    assert set(run.operations) == set(SPEC_OPERATIONS)
    assert run.reached == set(SPEC_OPERATIONS)
    assert run.edge_cases == tuple(edge.name for edge in EDGE_CASES)
    assert run.requests <= 0.6 * state.target.max_requests
    assert state.client.usage.requests >= run.requests


def test_the_run_is_deterministic(reference_server: ReferenceServer) -> None:
    first, _ = property_run(reference_server.base_url)
    second, _ = property_run(reference_server.base_url)
    assert first.requests == second.requests
    assert first.judged == second.judged


def test_a_small_budget_skips_the_run(reference_server: ReferenceServer) -> None:
    run, state = property_run(reference_server.base_url, max_requests=30)
    assert run.skipped
    assert state.client.usage.requests <= 30
    with pytest.raises(NotApplicable):
        report(run, SCHEMA)


def test_a_spent_budget_stops_the_run_and_no_class_passes(reference_server: ReferenceServer) -> None:
    run, state = property_run(reference_server.base_url, max_requests=120)
    assert run.budget
    assert state.client.usage.requests <= 120 + 2  # ignored_auth's two probes may overdraw by their own two
    for klass in CLASSES:
        if not run.failures.get(klass):
            with pytest.raises(NotApplicable):
                report(run, klass)


def test_a_declared_capability_set_is_all_that_runs(reference_server: ReferenceServer) -> None:
    run, _ = property_run(reference_server.base_url, capabilities="embeddings", profile="core")
    assert set(run.operations) == {"GET /models", "GET /models/{model}", "POST /embeddings"}
    assert not run.failures


def test_a_declared_capability_the_provider_declines_is_left_out_as_the_checks_leave_it(
    reference_server: ReferenceServer,
) -> None:
    base_url = reference_server.fault_base_url("images-unsupported-404")
    run, _ = property_run(base_url, capabilities="images", profile="extended")
    assert run.declined == ("images",)
    assert not run.failures


def test_without_a_key_the_auth_class_is_not_judged(keyless_server: ReferenceServer) -> None:
    run, _ = property_run(keyless_server.base_url, api_key="")
    assert not run.failures
    with pytest.raises(NotApplicable):
        report(run, AUTH)
    report(run, SCHEMA)  # the rest is judged as usual


def test_findings_never_show_the_key(reference_server: ReferenceServer) -> None:
    run, _ = property_run(reference_server.fault_base_url("prop-engines-ignore-auth"))
    assert run.failures[AUTH]
    text = json.dumps(
        [f.__dict__ | {"evidence": f.evidence.to_dict() if f.evidence else None} for f in run.failures[AUTH]]
    )
    assert TEST_KEY not in text
    # Each finding shows the credentials its request really carried: never the key's, for an auth finding.
    kinds = {f.evidence.auth for f in run.failures[AUTH] if f.evidence is not None}
    assert kinds
    assert kinds <= {"none", "wrong", "other"}


def test_a_valid_request_answered_500_is_a_valid_input_finding(reference_server: ReferenceServer) -> None:
    run, _ = property_run(reference_server.fault_base_url("prop-embeddings-user-500"))
    assert set(run.failures) == {VALID_5XX}
    finding = run.failures[VALID_5XX][0]
    assert finding.operation == "POST /embeddings"
    assert finding.evidence is not None
    assert finding.evidence.status == 500


def test_a_4xx_without_envelope_is_one_finding_not_two(reference_server: ReferenceServer) -> None:
    # The flat error body also violates the 400's schema; one rule, one verdict.
    run, _ = property_run(reference_server.fault_base_url("prop-edits-flat-errors"))
    assert set(run.failures) == {ENVELOPE}


# A generated negative case that only a tightening of ours calls invalid (an x-deviation with `official`)
# is legal to the official description: judged as a valid request, never as an invalid one (PROP-005).
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
OFFICIALLY: list[tuple[str, str, Any, bool]] = [
    ("chat max_tokens 0", "POST /chat/completions", {**CHAT, "max_tokens": 0}, True),
    ("chat max_completion_tokens -2", "POST /chat/completions", {**CHAT, "max_completion_tokens": -2}, True),
    ("chat max_tokens a string", "POST /chat/completions", {**CHAT, "max_tokens": "7"}, False),
    ("chat without messages", "POST /chat/completions", {"model": "m", "max_tokens": 0}, False),
    ("a valid chat request", "POST /chat/completions", CHAT, False),
    (
        "responses function_call_output item",
        "POST /responses",
        {"model": "m", "input": [{"type": "function_call_output", "call_id": "c", "output": "{}"}]},
        True,
    ),
    ("responses input a number", "POST /responses", {"model": "m", "input": 5}, False),
    ("embeddings empty input", "POST /embeddings", {"model": "m", "input": ""}, False),
    ("no JSON body", "GET /models", None, False),
]


@pytest.mark.parametrize(("label", "body", "legal"), [c[1:] for c in OFFICIALLY], ids=[c[0] for c in OFFICIALLY])
def test_a_case_invalid_only_by_our_tightening_is_legal(label: str, body: Any, legal: bool) -> None:
    assert officially_valid(label, body) is legal


def _schema_finding(missing: str, at: str) -> PropertyFailure:
    message = f'"{missing}" is a required property\n\nValidated against the response schema for status code 404.\n\n'
    message += f"Schema at {at}:\n\n    {{}}\n\nValue:\n\n    {{}}"
    return PropertyFailure(
        klass=SCHEMA, code="ST108", title="t", message=message, operation="GET /models/{model}", reproduce=""
    )


# Schema findings that are a hand-written requirement's behaviour (recorded from llama-server's PROP-001).
OWNED_FINDINGS = [
    ("param", "/components/schemas/Error", "ERR-002"),
    ("logprobs", "/components/schemas/CreateChatCompletionResponse/properties/choices/items", "CHAT-008"),
    (
        "refusal",
        "/components/schemas/CreateChatCompletionResponse/properties/choices/items/properties/message",
        "CHAT-008",
    ),
    ("id", "/components/schemas/CreateChatCompletionResponse", None),
    ("param", "/components/schemas/Model", None),
]
# The same, a property of the wrong type: `404 is not of types "null", "string"` (llama-server's integer code).
WRONG_TYPES = [
    ("/components/schemas/Error/properties/code", "ERR-002"),
    ("/components/schemas/Error/properties/message", None),
    ("/components/schemas/Model/properties/code", None),
]


@pytest.mark.parametrize(("at", "owner"), WRONG_TYPES)
def test_a_wrong_type_finding_of_a_hand_written_rule_names_its_owner(at: str, owner: str | None) -> None:
    message = '404 is not of types "null", "string"\n\nValidated against the response schema for status code 404.'
    message += f"\n\nSchema at {at}:\n\n    {{}}\n\nValue:\n\n    404"
    finding = PropertyFailure(klass=SCHEMA, code="ST108", title="t", message=message, operation="x", reproduce="")
    assert owner_of_finding(finding) == owner


@pytest.mark.parametrize(("missing", "at", "owner"), OWNED_FINDINGS)
def test_a_schema_finding_of_a_hand_written_rule_names_its_owner(missing: str, at: str, owner: str | None) -> None:
    assert owner_of_finding(_schema_finding(missing, at)) == owner


def test_the_class_is_owned_only_when_every_finding_is() -> None:
    run = PropertyRun()
    run.add(_schema_finding("param", "/components/schemas/Error"))
    with pytest.raises(Violation) as owned:
        report(run, SCHEMA)
    assert owned.value.owned_by == ("ERR-002",)
    run.add(_schema_finding("id", "/components/schemas/CreateChatCompletionResponse"))
    with pytest.raises(Violation) as mixed:
        report(run, SCHEMA)
    assert mixed.value.owned_by == ()


# schemathesis words an invalid SSE event only as "not valid under any of the schemas listed in the
# 'anyOf'"; the finding then says why, from the decoded payload (llama.cpp's response.created event).
ANYOF = "is not valid under any of the schemas listed in the 'anyOf' keyword"
CREATED = b'event: response.created\ndata: {"type":"response.created","response":{"id":"r","object":"response",'
CREATED += b'"status":"in_progress"}}\n\n'
CHUNK = (
    b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":"none"}\n\ndata: [DONE]\n\n'
)
EVENTS: list[tuple[str, str, bytes, str | None]] = [
    (
        "response.created without created_at, model, output",
        f'Event #0: "..." {ANYOF}\n\nSchema at /components/schemas/ResponseStreamEvent/properties/data:\n\n    {{}}',
        CREATED,
        "at /response: 'created_at' is a required property; at /response: 'model' is a required property; "
        "at /response: 'output' is a required property",
    ),
    (
        "a chat chunk whose choices are a string",
        f'Event #0: "..." {ANYOF}\n\nSchema at /components/schemas/ChatCompletionStreamEvent/properties/data:',
        CHUNK,
        "at /choices: 'none' is not of type 'array'",
    ),
    (
        "no event number",
        f'"..." {ANYOF}\n\nSchema at /components/schemas/ResponseStreamEvent/properties/data:',
        CREATED,
        None,
    ),
    (
        "an event the stream does not have",
        f'Event #5: "..." {ANYOF}\n\nSchema at /components/schemas/ResponseStreamEvent/properties/data:',
        CREATED,
        None,
    ),
]


@pytest.mark.parametrize(("message", "stream", "why"), [e[1:] for e in EVENTS], ids=[e[0] for e in EVENTS])
def test_an_invalid_sse_event_says_why(message: str, stream: bytes, why: str | None) -> None:
    assert event_problem(message, stream) == why
