"""The real-client oracle's own tests: the node path, client readiness, the SDKs' request budget, redaction.

Every SDK check is also exercised by the meta-tests (each proving fault makes exactly its requirements
fail); these cover what the meta-tests cannot: a machine without node, the budget arithmetic, the key.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance import sdk
from conformance.core.results import Violation
from conformance.reference import ReferenceServer
from conformance.report.json_report import validate_report
from conformance.report.readiness import readiness
from conformance.runner import run
from conformance.target import Target
from conformance.transport.client import HttpClient
from conformance.transport.limits import BudgetExhausted
from tests.conftest import TEST_KEY
from tests.suite_runs import MODELS

NODE_IDS = ["SDK-NODE-001", "SDK-NODE-002", "SDK-NODE-003", "SDK-NODE-004", "SDK-NODE-005"]
# GET /models once (the runner checks the target answers), then the node flows: models 1, chat 1,
# stream 1, embeddings 2 (default and float), errors 2 (wrong key, unknown model).
NODE_RUN_REQUESTS = 1 + 7
HAS_NODE = shutil.which("node") is not None and shutil.which("npm") is not None


def _target(base_url: str, **settings: Any) -> Target:
    return Target.build(base_url, api_key=TEST_KEY, env={}, **{**MODELS, **settings})


def _outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {row["id"]: row["outcome"] for row in report["results"]}


# -- openai-node ---------------------------------------------------------------------------------------------


@pytest.mark.skipif(not HAS_NODE, reason="node and npm are not on PATH")
def test_node_sdk_passes_against_the_reference_provider(reference_server: ReferenceServer) -> None:
    report = run(_target(reference_server.base_url), out_dir=None, only=NODE_IDS).report
    assert _outcomes(report) == dict.fromkeys(NODE_IDS, "PASS"), report["results"]
    assert report["usage"]["requests"] == NODE_RUN_REQUESTS  # every node request charged, exactly once
    validate_report(report)
    assert report["summary"]["readiness"]["openai-node"] == {"status": "ready", "failing": [], "not_run": []}


@pytest.mark.skipif(not HAS_NODE, reason="node and npm are not on PATH")
def test_a_node_failure_names_the_exception_and_shows_the_exchange(reference_server: ReferenceServer) -> None:
    report = run(_target(reference_server.fault_base_url("stream-non-json-event")), out_dir=None, only=NODE_IDS)
    row = next(row for row in report.report["results"] if row["id"] == "SDK-NODE-003")
    assert row["outcome"] == "FAIL"
    violation = row["checks"][0]["violation"]
    assert "SyntaxError" in violation["actual"]
    assert "data: ping" in violation["evidence"][0]["sse_lines"]


def test_without_node_the_node_requirements_are_skipped_with_the_reason(
    reference_server: ReferenceServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name in ("node", "npm") else found(name))
    report = run(_target(reference_server.base_url), out_dir=None, only=NODE_IDS).report
    rows = {row["id"]: row for row in report["results"]}
    assert {rid: row["outcome"] for rid, row in rows.items()} == dict.fromkeys(NODE_IDS, "SKIP")
    for row in rows.values():
        assert "openai-node not run: node is not on PATH" in row["message"], row["message"]
    assert report["usage"]["requests"] == 1  # no node request was charged
    assert report["summary"]["readiness"]["openai-node"]["not_run"] == NODE_IDS  # "ready" was never tried
    validate_report(report)


@pytest.mark.skipif(not HAS_NODE, reason="node is not on PATH")
def test_without_npm_a_missing_package_is_a_skip_not_a_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = shutil.which
    monkeypatch.setenv(sdk.CACHE_ENV, str(tmp_path))  # an empty cache: the package must be installed
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "npm" else found(name))
    setup = sdk.prepare_node()
    assert setup.modules is None
    assert setup.reason == f"npm is not on PATH, so openai@{sdk.NODE_OPENAI_VERSION} could not be installed"
    assert not list(tmp_path.iterdir())  # nothing half-installed left behind


# -- client readiness --------------------------------------------------------------------------------------------


def _row(rid: str, level: str, outcome: str, *breaks: str, capability: str = "chat") -> dict[str, Any]:
    return {"id": rid, "level": level, "outcome": outcome, "breaks": list(breaks), "capability": capability}


READY = {"status": "ready", "failing": [], "not_run": []}


@pytest.mark.parametrize(
    ("rows", "client", "expected"),
    [
        ([], "openai-python", READY),
        ([_row("A", "MUST", "PASS", "openai-python")], "openai-python", READY),
        (
            [_row("A", "MUST", "FAIL", "openai-python (JSONDecodeError)")],
            "openai-python",
            {"status": "broken", "failing": ["A"], "not_run": []},
        ),
        (  # strict validation breaks wherever the lenient client does
            [_row("A", "MUST", "FAIL", "openai-python (JSONDecodeError)")],
            "openai-python strict",
            {"status": "broken", "failing": ["A"], "not_run": []},
        ),
        ([_row("A", "MUST", "FAIL", "openai-python (JSONDecodeError)")], "openai-node", READY),
        ([_row("A", "SHOULD", "FAIL", "openai-python strict")], "openai-python", READY),
        (
            [_row("A", "SHOULD", "FAIL", "openai-python strict")],
            "openai-python strict",
            {"status": "limited", "failing": ["A"], "not_run": []},
        ),
        (  # only an older release breaks
            [_row("A", "MUST", "FAIL", "openai-python < 1.66")],
            "openai-python",
            {"status": "limited", "failing": ["A"], "not_run": []},
        ),
        (
            [_row("A", "MUST", "TIMEOUT", "every SDK (no exception is raised)")],
            "openai-node",
            {"status": "broken", "failing": ["A"], "not_run": []},
        ),
        (
            [_row("A", "MUST", "FAIL", "openai-python and openai-node (retry a doomed request)")],
            "openai-node",
            {"status": "broken", "failing": ["A"], "not_run": []},
        ),
        (
            [_row("B", "SHOULD", "FAIL", "EventSource-based clients"), _row("A", "MUST", "FAIL", "strict SSE clients")],
            "strict SSE parsers",
            {"status": "broken", "failing": ["A", "B"], "not_run": []},
        ),
        (
            [_row("A", "SHOULD", "FAIL", "browsers (a 307 preflight fails)")],
            "browsers via CORS",
            {"status": "limited", "failing": ["A"], "not_run": []},
        ),
        (
            [_row("A", "MUST", "FAIL", "CORS preflight clients")],
            "browsers via CORS",
            {"status": "broken", "failing": ["A"], "not_run": []},
        ),
        (  # the client's own oracle did not run: still "ready", but visibly untried
            [_row("N", "MUST", "SKIP", "openai-node", capability="sdk"), _row("X", "MUST", "SKIP", "openai-node")],
            "openai-node",
            {"status": "ready", "failing": [], "not_run": ["N"]},
        ),
        ([_row("A", "MUST", "ERROR", "openai-python")], "openai-python", READY),
        (
            [_row("A", "SHOULD", "FAIL", "Responses API agents")],
            "Responses API agents",
            {"status": "limited", "failing": ["A"], "not_run": []},
        ),
    ],
)
def test_readiness(rows: list[dict[str, Any]], client: str, expected: dict[str, Any]) -> None:
    assert readiness({"results": rows})[client] == expected


def test_readiness_lists_every_client_in_order() -> None:
    assert list(readiness({"results": []})) == [
        "openai-python",
        "openai-python strict",
        "openai-node",
        "strict SSE parsers",
        "browsers via CORS",
        "Responses API agents",
    ]


# -- the request budget ----------------------------------------------------------------------------------------


def test_every_sdk_request_is_charged_and_the_budget_stops_the_sdk(reference_server: ReferenceServer) -> None:
    with HttpClient(_target(reference_server.base_url, max_requests=2)) as http:
        python = sdk.PythonSdk(http)
        try:
            outcome = python.run("three lists", lambda client: [list(client.models.list()) for _ in range(3)])
        finally:
            python.close()
        assert http.usage.requests == 2
        assert len(outcome.plain.exchanges) == 2  # the third was never sent
        with pytest.raises(BudgetExhausted):
            sdk.raise_for_error(outcome.plain, expected="three lists")


def test_the_strict_client_is_judged_on_the_same_answers_at_no_cost(reference_server: ReferenceServer) -> None:
    with HttpClient(_target(reference_server.base_url)) as http:
        python = sdk.PythonSdk(http)
        try:
            outcome = python.run("list", lambda client: list(client.models.list()))
        finally:
            python.close()
        assert http.usage.requests == 1
        assert outcome.strict is not None
        assert outcome.strict.error is None
        assert outcome.strict.exchanges == outcome.plain.exchanges  # the very same recorded answer


def test_a_full_oracle_run_charges_the_sdk_requests(reference_server: ReferenceServer) -> None:
    report = run(_target(reference_server.base_url), out_dir=None, only=["SDK-PY-001", "SDK-PY-101"]).report
    assert _outcomes(report) == {"SDK-PY-001": "PASS", "SDK-PY-101": "PASS"}
    assert report["usage"]["requests"] == 1 + 2  # the runner's GET /models, then list and retrieve once


def test_an_sdk_request_never_leaves_the_targets_origin(reference_server: ReferenceServer) -> None:
    with HttpClient(_target(reference_server.base_url)) as http:
        request = httpx.Request("GET", "http://elsewhere.example/v1/models", headers={"authorization": "Bearer x"})
        with pytest.raises(sdk.LeftOrigin):
            http.policy.handle_request(request)  # the transport under openai-python's client
        assert http.usage.requests == 0


class ThrottledServer(ReferenceServer):
    """The reference provider behind a limiter that refuses the first request once: 429, retry-after-ms 20."""

    def _app(self) -> ASGIApp:
        app = super()._app()
        refused = False

        async def limiter(scope: Scope, receive: Receive, send: Send) -> None:
            nonlocal refused
            if scope["type"] != "http" or refused:
                await app(scope, receive, send)
                return
            refused = True
            body = b'{"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}'
            headers = [(b"content-type", b"application/json"), (b"retry-after-ms", b"20")]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        return limiter


def test_a_429_is_waited_for_like_the_suites_own_requests() -> None:
    with ThrottledServer(api_key=TEST_KEY, stream_delay=0.001) as server, HttpClient(_target(server.base_url)) as http:
        python = sdk.PythonSdk(http)
        try:
            outcome = python.run("client.models.list()", lambda client: list(client.models.list()))
        finally:
            python.close()
        assert outcome.plain.error is None
        assert (http.usage.requests, http.usage.retries) == (2, 1)  # the retry is charged too
        assert [a.split(" (", 1)[0] for a in outcome.plain.exchanges[0].attempts] == ["429, waited 0.02 s"]


@pytest.mark.skipif(not HAS_NODE, reason="node and npm are not on PATH")
def test_openai_node_waits_for_a_429_too() -> None:
    setup = sdk.prepare_node()
    assert setup.modules is not None, setup.reason
    with ThrottledServer(api_key=TEST_KEY, stream_delay=0.001) as server, HttpClient(_target(server.base_url)) as http:
        results = sdk.run_node(http, setup, ["models"], models={}, unknown_model="x", wrong_key="y")
        run = results.run_of("models")
        assert run.error is None, run.error
        assert http.usage.requests == 2  # the request and its retry, both charged by the policy
        assert [a.split(" (", 1)[0] for a in run.exchanges[0].attempts] == ["429, waited 0.02 s"]


# -- failures ----------------------------------------------------------------------------------------------------


def test_an_sdk_failure_names_the_exception_and_the_raw_exchange(reference_server: ReferenceServer) -> None:
    url = reference_server.fault_base_url("stream-tool-call-no-index")
    report = run(_target(url), out_dir=None, only=["SDK-PY-004"]).report
    row = report["results"][0]
    assert row["outcome"] == "FAIL"
    violation = row["checks"][0]["violation"]
    assert violation["title"].startswith("openai-python: client.chat.completions.stream(tools=[...])")
    assert violation["actual"].startswith("TypeError: ")
    evidence = violation["evidence"][0]
    assert evidence["url"].endswith("/chat/completions")
    assert any('"tool_calls"' in line for line in evidence["sse_lines"])


def test_the_key_never_appears_in_an_sdk_failure(reference_server: ReferenceServer) -> None:
    # A model named after the key: every refusal quotes the model, so the exception messages the SDKs
    # produce (and the request bodies they recorded) carry the key, and must come out redacted.
    target = _target(reference_server.base_url, chat_model=f"gpt-{TEST_KEY}")
    report = run(target, out_dir=None, only=["SDK-PY-002", "SDK-PY-011", "SDK-NODE-005"]).report
    rows = {row["id"]: row for row in report["results"]}
    assert rows["SDK-PY-002"]["outcome"] == "UNSUPPORTED"  # a 404 with an envelope: an honest refusal
    assert "NotFoundError" in rows["SDK-PY-002"]["message"]
    assert "gpt-[REDACTED]" in rows["SDK-PY-002"]["message"]
    assert rows["SDK-PY-011"]["outcome"] == "FAIL"  # NotFoundError, not BadRequestError
    assert "gpt-[REDACTED]" in rows["SDK-PY-011"]["message"]
    evidence = rows["SDK-PY-011"]["checks"][0]["violation"]["evidence"][0]
    assert "gpt-[REDACTED]" in evidence["request_body"]
    assert evidence["request_headers"]["authorization"] == "Bearer [REDACTED]"
    assert TEST_KEY not in json.dumps(report)


def test_a_bug_in_a_flow_is_our_error_not_the_providers(reference_server: ReferenceServer) -> None:
    with HttpClient(_target(reference_server.base_url)) as http:
        python = sdk.PythonSdk(http)
        try:
            outcome = python.run("a broken flow", lambda client: next(iter(client.models.list())).no_such_attribute)
        finally:
            python.close()
    with pytest.raises(AttributeError):  # re-raised as is: the plugin reports ERROR, never FAIL
        sdk.raise_for_error(outcome.plain, expected="anything")


def test_an_exception_inside_the_sdk_after_an_answer_is_the_providers(reference_server: ReferenceServer) -> None:
    url = reference_server.fault_base_url("models-bare-array")
    with HttpClient(_target(url)) as http:
        python = sdk.PythonSdk(http)
        try:
            outcome = python.run("client.models.list()", lambda client: list(client.models.list()))
        finally:
            python.close()
    assert isinstance(outcome.plain.error, AttributeError)
    with pytest.raises(Violation, match="raised AttributeError"):
        sdk.raise_for_error(outcome.plain, expected="the models")
    assert not isinstance(outcome.plain.error, openai.OpenAIError)


# -- readiness over structured breaks (schema 1.1): the client field, not substrings of free text -------------


def _brow(rid: str, level: str, outcome: str, *clients: str) -> dict[str, Any]:
    breaks = [{"client": c, "how": "raises", "shown_by": ""} for c in clients]
    return {"id": rid, "level": level, "outcome": outcome, "breaks": breaks, "capability": "chat"}


BROKEN_A = {"status": "broken", "failing": ["A"], "not_run": []}
LIMITED_A = {"status": "limited", "failing": ["A"], "not_run": []}


@pytest.mark.parametrize(
    ("rows", "client", "expected"),
    [
        ([_brow("A", "MUST", "FAIL", "openai-python")], "openai-python", BROKEN_A),
        ([_brow("A", "MUST", "FAIL", "openai-python")], "openai-python strict", BROKEN_A),
        ([_brow("A", "MUST", "FAIL", "openai-python strict")], "openai-python", READY),
        ([_brow("A", "SHOULD", "FAIL", "openai-python strict")], "openai-python strict", LIMITED_A),
        ([_brow("A", "MUST", "FAIL", "openai-python < 1.66")], "openai-python", LIMITED_A),
        ([_brow("A", "MUST", "FAIL", "openai-python 0.x")], "openai-python", LIMITED_A),
        ([_brow("A", "MUST", "FAIL", "openai-node")], "openai-node", BROKEN_A),
        # a client field that merely mentions another client's name does not name it
        ([_brow("A", "MUST", "FAIL", "clients built on openai-python")], "openai-python", READY),
        ([_brow("A", "MUST", "FAIL", "strict SSE parsers")], "strict SSE parsers", BROKEN_A),
        ([_brow("A", "MUST", "FAIL", "EventSource")], "strict SSE parsers", BROKEN_A),
        ([_brow("A", "SHOULD", "FAIL", "browsers")], "browsers via CORS", LIMITED_A),
        ([_brow("A", "MUST", "PASS", "openai-node")], "openai-node", READY),
    ],
)
def test_readiness_matches_the_client_field(rows: list[dict[str, Any]], client: str, expected: dict[str, Any]) -> None:
    assert readiness({"results": rows})[client] == expected
