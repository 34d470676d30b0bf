"""Evidence keeps the whole request: every header, the full body and the auth kind the policy saw it carry.

Driven through ``httpx.MockTransport`` (nothing leaves the process): what the transport received is
compared with what the evidence says was sent.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.report import bodies as bodies_module
from conformance.report.bodies import INLINE_BODY_BYTES, INLINE_BUDGET_BYTES, BodyUnavailable, evidence_items, read_body
from conformance.report.json_report import write_json
from conformance.report.view import load_report
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


# -- where a report keeps the bodies: inline, or whole beside it; never cut ----------------------------


def _report_with(bodies: list[bytes]) -> dict[str, Any]:
    golden = json.loads((Path(__file__).parent / "golden" / "report.json").read_text(encoding="utf-8"))
    items = []
    for body in bodies:
        item = {"method": "POST", "url": f"{BASE}/files", "status": 500, "auth": "valid", "request_body": None}
        try:
            item["request_body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            item["request_body_base64"] = base64.b64encode(body).decode()
        item["request_body_bytes"] = len(body)
        items.append(item)
    check = {"check": "c", "outcome": "FAIL", "duration_s": 0, "message": "m"}
    check["violation"] = {"title": "t", "expected": None, "actual": None, "pointer": None, "evidence": items}
    golden["results"] = [golden["results"][0]]  # a valid report whose only evidence is these bodies
    golden["results"][0]["checks"] = [check]
    golden["schema_version"] = "1.2"
    return golden


SMALL, LARGE = b'{"a": "' + b"x" * 3000 + b'"}', b"y" * (INLINE_BODY_BYTES + 1)
BINARY = b"\x00\xff" * (INLINE_BODY_BYTES // 2 + 1)
# (the bodies of one report, the inline budget, which of them are stored beside the report)
PLACEMENTS = [
    ([SMALL], INLINE_BUDGET_BYTES, [False]),
    ([SMALL, LARGE], INLINE_BUDGET_BYTES, [False, True]),
    ([BINARY], INLINE_BUDGET_BYTES, [True]),
    ([SMALL, SMALL, SMALL], 2 * len(SMALL), [False, False, True]),  # the report's budget is spent
    ([LARGE, LARGE], INLINE_BUDGET_BYTES, [True, True]),  # one file for the same bytes
]


@pytest.mark.parametrize(("bodies", "budget", "beside"), PLACEMENTS)
def test_bodies_stay_whole_inline_or_beside_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bodies: list[bytes], budget: int, beside: list[bool]
) -> None:
    monkeypatch.setattr(bodies_module, "INLINE_BUDGET_BYTES", budget)
    path = write_json(_report_with(bodies), tmp_path / "report.json")
    kept = [item for _, _, item in evidence_items(load_report(path))]
    assert [bool(item.get("request_body_file")) for item in kept] == beside
    assert [read_body(item, tmp_path) for item in kept] == bodies
    stored = {body for body, moved in zip(bodies, beside, strict=True) if moved}
    assert len(list(tmp_path.glob("evidence/*.bin"))) == len(stored)


@pytest.mark.parametrize(
    ("name", "change"),
    [("../outside.bin", None), ("evidence/gone.bin", None), ("evidence/x.bin", b"altered")],
)
def test_a_stored_body_is_read_back_only_as_it_was_sent(tmp_path: Path, name: str, change: bytes | None) -> None:
    if change is not None:
        (tmp_path / "evidence").mkdir()
        (tmp_path / name).write_bytes(change)
    item = {"request_body": None, "request_body_file": name, "request_body_sha256": "0" * 64}
    with pytest.raises(BodyUnavailable):
        read_body(item, tmp_path)
