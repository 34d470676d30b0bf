"""Evidence keeps the whole request: every header, the full body and the auth kind the policy saw it carry.

Driven through ``httpx.MockTransport`` (nothing leaves the process): what the transport received is
compared with what the evidence says was sent.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conformance.target import Target
from conformance.transport.auth import WRONG_KEY, AuthKind, auth_kind
from conformance.transport.client import HttpClient
from conformance.transport.exchange import REDACTED

KEY = "sk-evidence-secret-0123456789abcdef"
BASE = "http://api.example/v1"
BASIC = "Basic dXNlcjpwYXNz"
TOKEN = f"Token {REDACTED}"


@pytest.fixture
def sent() -> Iterator[tuple[HttpClient, list[httpx.Request]]]:
    """A client whose transport keeps every request it got and answers 400."""
    received: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(400, json={"error": {"message": "no", "type": "invalid_request_error"}})

    client = HttpClient(Target.build(BASE, api_key=KEY, env={}), transport=httpx.MockTransport(handler))
    yield client, received
    client.close()


# (how the probe asks for credentials, the kind recorded, the Authorization the evidence shows)
AUTH_CASES: list[tuple[str, dict[str, Any], AuthKind, str | None]] = [
    ("the key", {"auth": True}, AuthKind.VALID, f"Bearer {REDACTED}"),
    ("no key", {"auth": False}, AuthKind.NONE, None),
    ("the wrong key", {"auth": WRONG_KEY}, AuthKind.WRONG, f"Bearer {WRONG_KEY}"),
    ("basic auth", {"auth": False, "headers": {"Authorization": BASIC}}, AuthKind.OTHER, BASIC),
    ("the key, another scheme", {"auth": False, "headers": {"authorization": f"Token {KEY}"}}, AuthKind.OTHER, TOKEN),
    ("another key", {"auth": "sk-someone-else-0000"}, AuthKind.OTHER, "Bearer sk-someone-else-0000"),
]


@pytest.mark.parametrize(("how", "options", "kind", "shown"), AUTH_CASES, ids=[case[0] for case in AUTH_CASES])
def test_the_policy_records_the_auth_kind_never_the_key(
    sent: tuple[HttpClient, list[httpx.Request]], how: str, options: dict[str, Any], kind: AuthKind, shown: str | None
) -> None:
    client, _ = sent
    exchange = client.request("POST", "chat/completions", json_body={"model": "m"}, **options)
    evidence = exchange.evidence(client.redact)
    assert exchange.auth == evidence.auth == kind
    assert evidence.request_headers.get("authorization") == shown
    assert KEY not in json.dumps(evidence.to_dict())


HEADER_SETS = [
    ([], None, AuthKind.NONE),
    ([("Authorization", f"Bearer {KEY}")], KEY, AuthKind.VALID),
    ([("authorization", f"Bearer {WRONG_KEY}")], KEY, AuthKind.WRONG),
    ([("authorization", f"Bearer {KEY}")], None, AuthKind.OTHER),  # a target without a key sent one anyway
    ([("authorization", "Bearer none")], None, AuthKind.OTHER),  # openai-python without a key
    ([("authorization", f"Bearer {KEY}"), ("authorization", f"Bearer {KEY}")], KEY, AuthKind.OTHER),
    ([("authorization", f"bearer {KEY}")], KEY, AuthKind.OTHER),
]


@pytest.mark.parametrize(("headers", "key", "kind"), HEADER_SETS)
def test_auth_kind(headers: list[tuple[str, str]], key: str | None, kind: AuthKind) -> None:
    assert auth_kind(headers, key) is kind


def test_the_request_is_kept_whole(sent: tuple[HttpClient, list[httpx.Request]]) -> None:
    client, received = sent
    body = {"model": "m", "messages": [{"role": "user", "content": "é€ long " * 800}]}
    exchange = client.request("POST", "chat/completions", json_body=body, headers={"x-extra": "1"})
    evidence = exchange.evidence(client.redact)
    wire = received[0]
    assert evidence.request_body is not None
    assert len(evidence.request_body) > 5000
    assert evidence.request_body.encode() == wire.content
    assert evidence.request_body_bytes == len(wire.content)
    assert not evidence.request_body_redacted
    # Every header that went on the wire, not four of them.
    assert set(evidence.request_headers) == {name.lower() for name in wire.headers}
    assert evidence.request_headers["x-extra"] == "1"
    assert evidence.body_bytes == len(exchange.body)
    assert not evidence.body_truncated


def test_a_body_that_is_not_utf8_is_kept_in_base64(sent: tuple[HttpClient, list[httpx.Request]]) -> None:
    client, received = sent
    raw = b"\xff\x00{" + KEY.encode() + b"}\x80" * 1500
    evidence = client.request("POST", "files", content=raw).evidence(client.redact)
    assert evidence.request_body is None
    assert evidence.request_body_base64 is not None
    kept = base64.b64decode(evidence.request_body_base64)
    assert kept == raw.replace(KEY.encode(), REDACTED.encode())  # redacted as bytes, nothing else changed
    assert evidence.request_body_redacted
    assert evidence.request_body_bytes == len(received[0].content) == len(raw)


def test_a_secret_header_is_redacted_in_the_kept_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    target = Target.build(BASE, api_key=KEY, env={}, headers={"X-Tenant": "t-secret-42"}, secret_headers={"X-Tenant"})
    with HttpClient(target, transport=httpx.MockTransport(handler)) as client:
        evidence = client.request("GET", "models").evidence(client.redact)
    assert seen[0].headers["x-tenant"] == "t-secret-42"
    assert evidence.request_headers["x-tenant"] == REDACTED
    assert "t-secret-42" not in json.dumps(evidence.to_dict())


