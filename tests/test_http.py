"""The one HTTP client: URL joining like the SDK, redaction, budget, origin-bound credentials, caps and retries.

Transport behaviour is driven through ``httpx.MockTransport`` (nothing leaves the process); the budget
is spent against the session's reference server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from conformance.reference import ReferenceServer
from conformance.target import Target
from conformance.transport.client import HttpClient
from conformance.transport.exchange import REDACTED, Exchange, Redactor
from conformance.transport.limits import BudgetExhausted
from conformance.transport.urls import join_url
from tests.conftest import TEST_KEY

KEY = "sk-http-secret-0123456789abcdef"
BASE = "http://api.example/v1"

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that records requests and answers with a scripted handler."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


def ok_json(payload: Any = None) -> Handler:
    return lambda request: httpx.Response(200, json=payload if payload is not None else {"ok": True})


@pytest.fixture
def make_client() -> Iterator[Callable[..., tuple[HttpClient, Recorder]]]:
    clients: list[HttpClient] = []

    def make(handler: Handler, base_url: str = BASE, **limits: Any) -> tuple[HttpClient, Recorder]:
        recorder = Recorder(handler)
        target = Target.build(base_url, api_key=KEY, env={}, **limits)
        client = HttpClient(target, transport=httpx.MockTransport(recorder))
        clients.append(client)
        return client, recorder

    yield make
    for client in clients:
        client.close()


# -- join_url -------------------------------------------------------------------------------------

JOINS = [
    ("http://h/v1", "chat/completions", "http://h/v1/chat/completions"),
    ("http://h/v1/", "chat/completions", "http://h/v1/chat/completions"),
    ("http://h/v1", "/chat/completions", "http://h/v1/chat/completions"),
    ("http://h/v1/", "/chat/completions", "http://h/v1/chat/completions"),
    ("http://h/api/v1", "models", "http://h/api/v1/models"),
    ("http://h/openai/deployments/d", "/embeddings", "http://h/openai/deployments/d/embeddings"),
    ("http://h", "/models", "http://h/models"),  # no /v1 added
    ("http://h/", "models", "http://h/models"),
    ("http://h:8080/v1", "models?limit=2", "http://h:8080/v1/models?limit=2"),
    ("http://h/v1", "models/ft:ref-instruct:acme::abc123", "http://h/v1/models/ft:ref-instruct:acme::abc123"),
    ("http://h/v1", "https://other.example/x", "https://other.example/x"),
    ("http://h/v1", "http://other.example/x", "http://other.example/x"),
]


@pytest.mark.parametrize(("base", "path", "expected"), JOINS)
def test_join_url(base: str, path: str, expected: str) -> None:
    assert join_url(base, path) == expected


@pytest.mark.parametrize(
    ("base", "path"), [*((base, path) for base, path, _ in JOINS), ("http://h/v1", "HTTPS://Other.example/x")]
)
def test_join_url_matches_httpx_merge_url(base: str, path: str) -> None:
    # openai-python's _prepare_url is httpx's _merge_url on a base URL forced to end in "/".
    with httpx.Client(base_url=base) as client:
        assert httpx.URL(join_url(base, path)) == client._merge_url(path)


# -- Redactor --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secrets", "text", "expected"),
    [
        ([KEY], f"Bearer {KEY}", f"Bearer {REDACTED}"),
        ([KEY], f"{KEY} and {KEY}", f"{REDACTED} and {REDACTED}"),
        ([KEY], f"url?key={KEY}&k2={KEY}x", f"url?key={REDACTED}&k2={REDACTED}x"),
        (["sk-abcd", "sk-abcdefgh"], "sk-abcdefgh", REDACTED),  # the longer secret is replaced whole
        (["abc"], "abc", "abc"),  # too short to redact without mangling everything
        ([], f"Bearer {KEY}", f"Bearer {KEY}"),
    ],
)
def test_redactor_replaces_every_occurrence(secrets: list[str], text: str, expected: str) -> None:
    assert Redactor(secrets)(text) == expected


def test_redactor_walks_nested_values() -> None:
    value = {KEY: [f"Bearer {KEY}", {"deep": (KEY, 1)}], "n": 3, "none": None, "ok": "plain"}
    assert Redactor([KEY]).walk(value) == {
        REDACTED: [f"Bearer {REDACTED}", {"deep": [REDACTED, 1]}],
        "n": 3,
        "none": None,
        "ok": "plain",
    }


# -- budget ----------------------------------------------------------------------------------------


def test_budget_raises_after_max_requests(reference_server: ReferenceServer) -> None:
    target = Target.build(reference_server.base_url, api_key=TEST_KEY, env={}, max_requests=2)
    with HttpClient(target) as client:
        assert [client.request("GET", "models").status for _ in range(2)] == [200, 200]
        with pytest.raises(BudgetExhausted, match="--max-requests"):
            client.request("GET", "models")
        with pytest.raises(BudgetExhausted):
            client.stream("POST", "chat/completions", json_body={})
        assert client.usage.requests == 2


# -- credentials stay with the target ----------------------------------------------------------------


def test_authorization_is_sent_to_the_target_origin(make_client: Any) -> None:
    client, recorder = make_client(ok_json())
    client.request("GET", "models")
    assert recorder.requests[0].headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize(
    "url",
    [
        "http://other.example/v1/models",  # another host
        "http://api.example:8080/v1/models",  # another port
        "https://api.example/v1/models",  # another scheme
    ],
)
def test_authorization_is_not_sent_to_another_origin(make_client: Any, url: str) -> None:
    client, recorder = make_client(ok_json())
    exchange = client.request("GET", url, headers={"Authorization": f"Bearer {KEY}"})
    assert exchange.status == 200
    assert "authorization" not in recorder.requests[0].headers


def test_redirect_is_recorded_not_followed(make_client: Any) -> None:
    client, recorder = make_client(lambda r: httpx.Response(307, headers={"location": "http://evil.example/v1/models"}))
    exchange = client.request("POST", "chat/completions", json_body={"model": "m"})
    assert (exchange.status, exchange.headers["location"]) == (307, "http://evil.example/v1/models")
    assert len(recorder.requests) == 1


# -- caps, timeouts and retries ------------------------------------------------------------------------


def test_body_over_the_limit_is_cut_and_marked_too_large(make_client: Any) -> None:
    client, _ = make_client(lambda r: httpx.Response(200, content=b"x" * 100), max_body_bytes=10)
    exchange = client.request("GET", "models")
    assert (exchange.status, exchange.error, exchange.truncated, exchange.body) == (200, "too-large", True, b"x" * 10)


def _raise(exc: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    return handler


@pytest.mark.parametrize(
    ("exc", "error", "attempts"),
    [
        (httpx.ReadTimeout, "timeout", 2),  # no answer: sent again, as openai-python does
        (httpx.ConnectTimeout, "timeout", 2),
        (httpx.ConnectError, "connect", 1),
        (httpx.ReadError, "reset", 2),  # retried once, like a stale keep-alive connection
        (httpx.RemoteProtocolError, "protocol", 2),
    ],
)
def test_transport_failure_is_recorded_never_raised(
    make_client: Any, exc: type[httpx.TransportError], error: str, attempts: int
) -> None:
    client, recorder = make_client(_raise(exc))
    exchange = client.request("GET", "models")
    assert (exchange.status, exchange.error, exchange.ok) == (None, error, False)
    assert len(recorder.requests) == attempts


def test_stream_read_timeout_is_recorded(make_client: Any) -> None:
    client, _ = make_client(_raise(httpx.ReadTimeout))
    exchange = client.stream("POST", "chat/completions", json_body={})
    assert (exchange.error, exchange.events) == ("timeout", ())


def test_stale_connection_reset_is_retried_once(make_client: Any) -> None:
    calls = iter([_raise(httpx.ReadError), ok_json()])
    client, recorder = make_client(lambda request: next(calls)(request))
    exchange = client.request("GET", "models")
    assert (exchange.status, exchange.error) == (200, None)
    assert exchange.retried is not None
    assert exchange.retried.startswith("reset")
    assert len(recorder.requests) == 2


def test_reset_after_the_answer_began_is_not_retried(make_client: Any) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"partial":'
        raise httpx.ReadError("connection reset by peer")

    client, recorder = make_client(lambda r: httpx.Response(200, content=body()))
    exchange = client.request("GET", "models")
    assert (exchange.status, exchange.error, exchange.retried) == (200, "reset", None)
    assert len(recorder.requests) == 1


# -- evidence ----------------------------------------------------------------------------------------


def _echo(request: httpx.Request) -> httpx.Response:
    auth = request.headers.get("authorization", "")
    return httpx.Response(401, json={"error": {"message": f"bad key {auth}"}}, headers={"www-authenticate": auth})


def test_evidence_redacts_the_key_everywhere(make_client: Any) -> None:
    client, _ = make_client(_echo)
    exchange = client.request("POST", f"models?api_key={KEY}", json_body={"key": KEY})
    evidence = exchange.evidence(client.redact)
    assert KEY not in json.dumps(evidence.to_dict())
    assert REDACTED in evidence.url
    assert evidence.request_headers["authorization"] == f"Bearer {REDACTED}"
    assert REDACTED in (evidence.request_body or "")
    assert REDACTED in (evidence.body_excerpt or "")
    assert evidence.response_headers["www-authenticate"] == f"Bearer {REDACTED}"


def test_evidence_redacts_the_key_from_error_text(make_client: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"proxy refused Bearer {KEY}", request=request)

    client, _ = make_client(handler)
    evidence = client.request("GET", "models").evidence(client.redact)
    assert evidence.error is not None
    assert evidence.error.startswith("connect")
    assert KEY not in evidence.error
    assert REDACTED in evidence.error


def test_exchange_repr_never_contains_the_key(make_client: Any) -> None:
    # Exchanges are fixture values of checks: pytest prints their repr in tracebacks (-l, -vv).
    client, _ = make_client(ok_json())
    exchange: Exchange = client.request("GET", "models")
    assert KEY not in repr(exchange)
    assert KEY not in repr(client.stream("POST", "chat/completions", json_body={}))


# -- usage accounting --------------------------------------------------------------------------------

NOTHING_ELSE = {"retries": 0, "resent": 0, "timeouts": 0, "breaker_trips": 0, "not_sent": 0, "concurrency": 4}


def _sse(*payloads: dict[str, Any]) -> Handler:
    body = b"".join(b"data: " + json.dumps(p).encode() + b"\n\n" for p in payloads) + b"data: [DONE]\n\n"
    return lambda request: httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})


def test_usage_sums_json_responses(make_client: Any) -> None:
    client, _ = make_client(ok_json({"usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}}))
    client.request("POST", "chat/completions", json_body={})
    client.request("POST", "chat/completions", json_body={})
    assert client.usage.to_dict() == {**NOTHING_ELSE, "requests": 2, "prompt_tokens": 10, "completion_tokens": 14}


def test_usage_sums_sse_chunks(make_client: Any) -> None:
    client, _ = make_client(
        _sse(
            {"choices": []},
            {"usage": {"prompt_tokens": 1, "completion_tokens": 2}},
            {"usage": {"completion_tokens": 3}},
        )
    )
    client.stream("POST", "chat/completions", json_body={})
    assert client.usage.to_dict() == {**NOTHING_ELSE, "requests": 1, "prompt_tokens": 1, "completion_tokens": 5}


@pytest.mark.parametrize(
    "usage",
    [{"completion_tokens": -1}, {"completion_tokens": "7"}, {"completion_tokens": True}, "7", None],
)
def test_usage_ignores_values_that_are_not_counts(make_client: Any, usage: Any) -> None:
    client, _ = make_client(ok_json({"usage": usage}))
    client.request("POST", "chat/completions", json_body={})
    assert client.usage.completion_tokens == 0


def test_usage_matches_what_the_reference_provider_billed(reference_server: ReferenceServer) -> None:
    target = Target.build(reference_server.base_url, api_key=TEST_KEY, env={})
    body = {"model": "ref-chat", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 5}
    with HttpClient(target) as client:
        plain = client.request("POST", "chat/completions", json_body=body).json()["usage"]
        streamed = client.stream(
            "POST", "chat/completions", json_body={**body, "stream": True, "stream_options": {"include_usage": True}}
        )
        billed = [json.loads(e.data)["usage"] for e in streamed.events if e.data.startswith("{")]
        billed = [usage for usage in billed if usage]
        assert len(billed) == 1
        expected = plain["completion_tokens"] + billed[0]["completion_tokens"]
        assert client.usage.completion_tokens == expected > 0


def test_stream_evidence_redacts_the_key_from_sse_lines(make_client: Any) -> None:
    client, _ = make_client(_sse({"echo": f"Bearer {KEY}"}))
    evidence = client.stream("POST", "chat/completions", json_body={}).evidence(client.redact)
    assert any(REDACTED in line for line in evidence.sse_lines)
    assert not any(KEY in line for line in evidence.sse_lines)


@pytest.mark.parametrize("offset", [1990, 1995, 1999])
def test_evidence_cut_never_leaves_part_of_the_key(make_client: Any, offset: int) -> None:
    # The answer's excerpt is cut at 2000 characters; a key straddling the cut must not show its prefix.
    # The request is kept whole (a replay sends it again), redacted, and says a secret was replaced in it.
    text = "x" * offset + KEY + "y" * 100
    client, _ = make_client(lambda r: httpx.Response(400, text=text))
    evidence = client.request("POST", "models", content=text.encode()).evidence(client.redact)
    redacted = "x" * offset + REDACTED + "y" * 100
    assert evidence.body_excerpt == redacted[:2000] + "…"
    assert evidence.body_bytes == len(text)
    assert evidence.request_body == redacted
    assert evidence.request_body_bytes == len(text)
    assert evidence.request_body_redacted
