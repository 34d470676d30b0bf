"""``oai-conformance evidence``: a recorded request is sent again exactly as it was, with the same kind of
credentials, and the answer is judged against the recorded one.

Tables first (rebuilding a request, comparing answers: no network), then replays against the reference
provider on 127.0.0.1: each auth kind × reproduced / not reproduced, a body over 2,000 characters (and
one stored beside the report) received byte for byte, and whole runs whose wrong-key evidence -- the
suite's, the property run's and openai-python's -- is replayed with the wrong key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance.cli import main
from conformance.reference import ReferenceServer
from conformance.replay.command import Replayed, replay_report
from conformance.replay.compare import compare
from conformance.replay.plan import NotReplayable, rebuild, target_url
from conformance.report.json_report import write_json
from conformance.report.view import load_report
from conformance.runner import run
from conformance.target import Target
from conformance.transport.auth import WRONG_KEY
from conformance.transport.client import HttpClient
from conformance.transport.exchange import REDACTED
from tests.conftest import TEST_KEY
from tests.suite_runs import MODELS

GOLDEN = Path(__file__).parent / "golden" / "report.json"
JSON = {"content-type": "application/json"}
Faults = tuple[str, ...]
Patch = pytest.MonkeyPatch
OLD, NEW = "http://old.example:8000/v1", "http://127.0.0.1:9/v1"


def report_with(evidence: list[dict[str, Any]], base_url: str = OLD, requirement: str = "ERR-001") -> dict[str, Any]:
    """A valid 1.2 report whose only evidence is ``evidence`` (as the failure of ``requirement``)."""
    report = json.loads(GOLDEN.read_text(encoding="utf-8"))
    row = next(row for row in report["results"] if row["id"] == requirement)
    violation = {"title": "t", "expected": None, "actual": None, "pointer": None, "evidence": evidence}
    row.update(outcome="FAIL", checks=[{"check": "c", "outcome": "FAIL", "duration_s": 0, "message": "m"}])
    row["checks"][0]["violation"] = violation
    report.update(results=[row], schema_version="1.2")
    report["target"]["base_url"] = base_url
    return report


def item(auth: str | None, authorization: str | None = None, **extra: Any) -> dict[str, Any]:
    headers = {"host": "old.example:8000", "content-length": "2", "content-type": "application/json"}
    if authorization is not None:
        headers["authorization"] = authorization
    found = {"method": "POST", "url": f"{OLD}/chat/completions", "status": 401, "request_headers": headers}
    found.update({"request_body": "{}", "auth": auth, **extra})
    return found


def rebuilt(evidence: dict[str, Any], api_key: str | None = "sk-user", schema: str = "1.2", **headers: str) -> Any:
    return rebuild(
        evidence, recorded_base=OLD, base_url=NEW, api_key=api_key, headers=headers, report_dir=Path("."), schema=schema
    )


# -- rebuilding: the same request, with the same kind of credentials ---------------------------------------

# (the recorded item, the Authorization sent again; None: none is sent)
AUTHORIZATIONS = [
    (item("valid", f"Bearer {REDACTED}"), "Bearer sk-user"),
    (item("wrong", f"Bearer {WRONG_KEY}"), f"Bearer {WRONG_KEY}"),
    (item("none"), None),
    (item("other", "Bearer SCHEMATHESIS-INVALID-VALUE"), "Bearer SCHEMATHESIS-INVALID-VALUE"),
    (item("other", f"Token {REDACTED}"), "Token sk-user"),
    (item("other", "Bearer none"), "Bearer none"),
    # Reports before schema 1.2 record no kind: it is read from the Authorization they kept.
    (item(None, f"Bearer {WRONG_KEY}"), f"Bearer {WRONG_KEY}"),
    (item(None), None),
    (item(None, f"Bearer {REDACTED}"), "Bearer sk-user"),
]


@pytest.mark.parametrize(("recorded", "authorization"), AUTHORIZATIONS)
def test_the_same_kind_of_credentials_is_sent_again(recorded: dict[str, Any], authorization: str | None) -> None:
    again = rebuilt(recorded)
    assert again.headers.get("authorization") == authorization
    assert again.url == f"{NEW}/chat/completions"
    assert again.body == b"{}"
    assert "host" not in again.headers  # the old target's; httpx sets the new one
    assert again.headers["content-type"] == "application/json"


NOT_REPLAYABLE = [
    (item("valid", f"Bearer {REDACTED}"), {"api_key": None}, "give --api-key"),
    (item("other", f"Token {REDACTED}"), {"api_key": None}, "give --api-key"),
    (item("none", request_headers={"x-tenant": REDACTED}), {}, "--secret-header"),
    (item("none", request_body="x" * 2000), {"schema": "1.1"}, "cut at 2000 characters"),
    (item("none", request_body=None, request_body_file="evidence/none.bin"), {}, "cannot read"),
]


@pytest.mark.parametrize(("recorded", "settings", "why"), NOT_REPLAYABLE)
def test_a_request_that_cannot_be_sent_as_it_was_is_not_sent(
    recorded: dict[str, Any], settings: dict[str, Any], why: str
) -> None:
    with pytest.raises(NotReplayable, match=why):
        rebuilt(recorded, **settings)


def test_a_redacted_secret_header_is_taken_from_the_user() -> None:
    again = rebuilt(item("none", request_headers={"x-tenant": REDACTED}), **{"x-tenant": "t-42"})
    assert again.headers == {"x-tenant": "t-42"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{OLD}/chat/completions", f"{NEW}/chat/completions"),
        (f"{OLD}/models?limit=2", f"{NEW}/models?limit=2"),
        ("http://old.example:8000/v1/v1/models", f"{NEW}/v1/models"),
        ("http://old.example:8000/models", "http://127.0.0.1:9/models"),  # outside the base: its path, new origin
        ("https://elsewhere.example/x?y=1", "http://127.0.0.1:9/x?y=1"),  # never another host
    ],
)
def test_the_url_goes_to_the_users_target(url: str, expected: str) -> None:
    assert target_url(url, OLD, NEW) == expected


# -- comparing: status, media type, stream shape, key fields ------------------------------------------------


def answer(status: int | None, body: str | None = None, media: str = "application/json", **extra: Any) -> dict:
    found = {"status": status, "response_headers": {"content-type": media}, "body_excerpt": body}
    found.update({"body_bytes": None if body is None else len(body.encode()), "body_truncated": False, **extra})
    return found


ERROR = '{"error": {"message": "m", "type": "invalid_request_error", "code": "invalid_api_key"}}'
DONE = ['data: {"object": "chat.completion.chunk"}', "", "data: [DONE]", ""]


def silent(kind: str) -> dict:
    return answer(None, error=f"{kind}: no answer in time")


def stream(lines: list[str]) -> dict:
    return answer(200, None, "text/event-stream", sse_lines=lines)


COMPARISONS = [
    (answer(500), answer(500), "reproduced: 500"),
    (answer(500), answer(200), "not reproduced: recorded 500, now 200"),
    (answer(401, ERROR), answer(401, ERROR.replace("_api_key", "")), "error.code invalid_api_key, now invalid"),
    (answer(200, '{"object": "list"}'), answer(200, '{"object": "list", "data": []}'), "reproduced: 200"),
    (answer(200, '{"object": "list"}'), answer(200, "<html>", "text/html"), "recorded content-type application/json"),
    (answer(200, '{"object": "x' + "y" * 2000 + "…", body_bytes=5000), answer(200, "{}"), "reproduced: 200"),
    (stream(DONE), stream(DONE), "reproduced: 200"),
    (stream(DONE), stream(DONE[:2]), "recorded stream ends with [DONE], now no [DONE]"),
    (stream(DONE), answer(200, "{}"), "recorded content-type text/event-stream, now application/json"),
    (silent("timeout"), silent("timeout"), "reproduced: no answer (timeout)"),
    (silent("timeout"), silent("connect"), "recorded no answer (timeout), now no answer (connect)"),
    (answer(200, "{}", body_truncated=True), answer(200, "{}"), "recorded body cut at our size cap, now read whole"),
]


@pytest.mark.parametrize(("recorded", "now", "text"), COMPARISONS)
def test_an_answer_reproduces_or_says_what_differs(recorded: dict, now: dict, text: str) -> None:
    assert text in compare(recorded, now).text()


# -- against the reference provider: each auth kind × reproduced / not reproduced ---------------------------

AUTH_SENT = {"valid": {"auth": True}, "wrong": {"auth": WRONG_KEY}, "none": {"auth": False}}
AUTH_SENT["other"] = {"auth": False, "headers": {"authorization": "Bearer SCHEMATHESIS-INVALID-VALUE"}}
# (kind, the configuration it was recorded on, the one it is replayed on, the verdict)
KIND_OUTCOMES = [
    ("valid", (), (), "reproduced: 200"),
    ("valid", (), ("chat-wrong-object",), "not reproduced: recorded object chat.completion, now "),
    ("wrong", (), (), "reproduced: 401"),
    ("wrong", ("auth-ignored",), (), "not reproduced: recorded 200, now 401"),
    ("none", (), (), "reproduced: 401"),
    ("none", ("auth-ignored",), (), "not reproduced: recorded 200, now 401"),
    ("other", (), (), "reproduced: 401"),
    ("other", ("auth-ignored",), (), "not reproduced: recorded 200, now 401"),
]


def _target(base_url: str, api_key: str | None = TEST_KEY) -> Target:
    return Target.build(base_url, api_key=api_key or "", env={}, **MODELS)


@pytest.mark.parametrize(("kind", "recorded_on", "replayed_on", "verdict"), KIND_OUTCOMES)
def test_each_auth_kind_is_replayed_as_recorded(
    reference_server: ReferenceServer, kind: str, recorded_on: Faults, replayed_on: Faults, verdict: str
) -> None:
    base = reference_server.fault_base_url(*recorded_on)
    with HttpClient(_target(base)) as client:
        body = {"model": "ref-chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
        exchange = client.request("POST", "chat/completions", json_body=body, **AUTH_SENT[kind])
        evidence = exchange.evidence(client.redact).to_dict()
    assert evidence["auth"] == kind
    new = _target(reference_server.fault_base_url(*replayed_on))
    [result] = replay_report(report_with([evidence], base_url=base), Path("."), new)
    assert verdict in result.text(), result.text()
    assert result.sent_auth == kind
    assert TEST_KEY not in json.dumps(result.to_dict())


# -- a body over 2,000 characters: through report.json and back, byte for byte ---------------------------------


class CapturingServer(ReferenceServer):
    """The multiplexed reference provider, keeping every request body it receives."""

    def __init__(self) -> None:
        super().__init__(api_key=TEST_KEY, multiplex=True, stream_delay=0.001)
        self.bodies: list[bytes] = []

    def _app(self) -> ASGIApp:
        app, bodies = super()._app(), self.bodies

        async def capture(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            chunks: list[bytes] = []
            more = True
            while more:
                message = await receive()
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            bodies.append(b"".join(chunks))
            sent = False

            async def replay() -> Message:
                nonlocal sent
                if sent:
                    return await receive()
                sent = True
                return {"type": "http.request", "body": bodies[-1], "more_body": False}

            await app(scope, replay, send)

        return capture


@pytest.fixture(scope="module")
def capturing() -> Iterator[CapturingServer]:
    server = CapturingServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("size", [5_000, 100_000])  # in the report, and stored beside it (over 64 KiB)
def test_a_long_body_survives_the_report_and_is_replayed_byte_for_byte(
    capturing: CapturingServer, tmp_path: Path, size: int
) -> None:
    base = capturing.fault_base_url("messages-not-array-500")
    # Valid JSON only whole: cut anywhere, it is a 400 parse error instead of the fault's 500.
    body = json.dumps({"model": "ref-chat", "messages": "é" + "long text " * (size // 10)}).encode()
    with HttpClient(_target(base)) as client:
        exchange = client.request("POST", "chat/completions", content=body, headers=JSON)
        cut = client.request("POST", "chat/completions", content=body[:2000], headers=JSON)
        evidence = exchange.evidence(client.redact).to_dict()
    assert (exchange.status, cut.status) == (500, 400)
    path = write_json(report_with([evidence], base_url=base), tmp_path / "report.json")
    assert (tmp_path / "evidence").exists() == (size > 64 * 1024)
    capturing.bodies.clear()
    [result] = replay_report(load_report(path), tmp_path, _target(base))
    assert result.text().endswith("reproduced: 500")
    assert capturing.bodies == [body]


# -- whole runs: the wrong-key evidence of the suite, the property run and openai-python -----------------------


def _replayed(results: list[Replayed], requirement: str) -> list[Replayed]:
    return [result for result in results if requirement in result.requirements]


def test_a_wrong_key_exchange_is_replayed_with_the_wrong_key(reference_server: ReferenceServer, tmp_path: Path) -> None:
    base = reference_server.fault_base_url("auth-wrong-key-400")
    done = run(_target(base), out_dir=tmp_path, only=["AUTH-006", "PROP-006"])
    assert {row["id"]: row["outcome"] for row in done.report["results"]} == {"AUTH-006": "FAIL", "PROP-006": "FAIL"}
    report = load_report(tmp_path / "report.json")
    # On the same provider every request reproduces: the wrong key is refused with 400 again (the key: 200).
    again = replay_report(report, tmp_path, _target(base))
    assert again
    assert all(result.reproduced for result in again), [result.text() for result in again]
    [auth] = _replayed(again, "AUTH-006")
    assert (auth.auth, auth.sent_auth) == ("wrong", "wrong")
    assert {result.sent_auth for result in _replayed(again, "PROP-006")} <= {"wrong", "none", "other"}
    # On the clean provider the wrong key gets its 401: the replay says the finding does not reproduce there.
    clean = replay_report(report, tmp_path, _target(reference_server.base_url))
    assert "not reproduced: recorded 400, now 401" in _replayed(clean, "AUTH-006")[0].text()


def test_sdk_oracle_exchanges_are_replayed_with_their_credentials(
    reference_server: ReferenceServer, tmp_path: Path
) -> None:
    base = reference_server.fault_base_url("auth-ignored")
    done = run(_target(base), out_dir=tmp_path, only=["SDK-PY-009"])
    assert done.report["results"][0]["outcome"] == "FAIL"
    report = load_report(tmp_path / "report.json")
    [result] = replay_report(report, tmp_path, _target(reference_server.base_url))
    assert (result.auth, result.sent_auth) == ("wrong", "wrong")  # openai-python's request with the wrong key
    assert result.text().endswith("not reproduced: recorded 200, now 401")


# -- the command -------------------------------------------------------------------------------------------------


def test_the_command_never_shows_the_key_and_says_so_in_its_exit_code(
    reference_server: ReferenceServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Patch
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with HttpClient(_target(reference_server.base_url)) as client:
        exchanges = [client.request("GET", "models"), client.request("GET", "models", auth=False)]
        evidence = [exchange.evidence(client.redact).to_dict() for exchange in exchanges]
    path = write_json(report_with(evidence, base_url=reference_server.base_url), tmp_path / "report.json")
    args = ["evidence", str(path), "--base-url", reference_server.base_url]
    assert main([*args, "--api-key", TEST_KEY]) == 0
    assert main([*args, "--api-key", "sk-not-the-key-000"]) == 1  # the keyed request is now refused
    assert main([*args]) == 1  # no key: the keyed request is not sent at all
    assert main(["evidence", str(path)]) == 2  # no target: never the report's
    out = capsys.readouterr().out
    assert "2 reproduced, 0 not reproduced, 0 not replayed" in out
    assert "not reproduced: recorded 200, now 401" in out
    assert "not replayed: it carried the key: give --api-key" in out
    assert TEST_KEY not in out
