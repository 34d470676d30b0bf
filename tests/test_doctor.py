"""``oai-conformance doctor``: candidate bases, URL advice and near misses as tables; then the probing against the
reference provider (a module server of its own, plus the session's multiplexed one for fault configurations)."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator

import pytest
from rich.console import Console

from conformance.cli import main
from conformance.doctor import (
    EXIT_MODEL,
    EXIT_NO_BASE,
    EXIT_OK,
    Diagnosis,
    candidate_bases,
    classify_listing,
    clean_url,
    client_settings,
    conclude_model,
    dedupe_v1,
    diagnose,
    explain_url,
    mask_key,
    near_misses,
    render,
    strip_endpoint_suffix,
    to_json,
)
from conformance.reference import REFERENCE_MODELS, ReferenceServer
from conformance.target import TargetConfigError
from conformance.transport.exchange import Exchange, Redactor

from .conftest import TEST_KEY

# Long and distinctive, so that any leak into an output is unmistakable.
KEY = "sk-doctor-Zq9XvB7nM2kL5pR8tW1yE4uI6oA3sD0fH"
WRONG_KEY = "sk-doctor-wrong-Qw3Er5Ty7Ui9Op1As2Df4Gh6"
H = "http://127.0.0.1:8000"
REF_IDS = ("ref-chat", "ref-instruct", "ft:ref-instruct:acme::abc123", "ref-embed")
FT = "ft:ref-instruct:acme::abc123"


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceServer]:
    with ReferenceServer(api_key=KEY, multiplex=False, stream_delay=0.0) as running:
        yield running


@pytest.fixture(scope="module")
def host(server: ReferenceServer) -> str:
    """The bare host of the module server: what a user pastes when they forget /v1."""
    return server.base_url.removesuffix("/v1")


@pytest.fixture
def no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def dead_url() -> str:
    """A 127.0.0.1 port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def rendered(diagnosis: Diagnosis) -> str:
    out = io.StringIO()
    render(diagnosis, Console(file=out, width=100, color_system=None))
    return out.getvalue()


def exchange(status: int | None, body: bytes, content_type: str = "application/json", **extra: object) -> Exchange:
    ex = Exchange(method="GET", url=f"{H}/v1/models", request_headers={}, request_body=None, status=status)
    ex.body = body
    ex.headers = {"content-type": content_type, **{k: str(v) for k, v in extra.items()}}
    return ex


# -- pure: candidates and URL advice --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        (H, [H, f"{H}/v1"]),
        (f"{H}/", [H, f"{H}/v1"]),
        (f"{H}/v1", [f"{H}/v1", H]),
        (f"{H}/v1/", [f"{H}/v1", H]),
        (f"{H}/v1/chat/completions", [f"{H}/v1/chat/completions", f"{H}/v1", H]),
        (f"{H}/v1/chat/completions/", [f"{H}/v1/chat/completions", f"{H}/v1", H]),
        (f"{H}/v1/completions", [f"{H}/v1/completions", f"{H}/v1", H]),
        (f"{H}/v1/models", [f"{H}/v1/models", f"{H}/v1", H]),
        (f"{H}/chat/completions", [f"{H}/chat/completions", H, f"{H}/v1"]),
        (f"{H}/v1/v1", [f"{H}/v1/v1", f"{H}/v1", H]),
        (f"{H}/v1/v1/chat/completions", [f"{H}/v1/v1/chat/completions", f"{H}/v1/v1", f"{H}/v1", H]),
        (f"{H}/api/v1", [f"{H}/api/v1", f"{H}/api"]),
        (f"{H}/api/paas/v4", [f"{H}/api/paas/v4", f"{H}/api/paas/v4/v1"]),
        (
            "https://openrouter.ai/api/v1/embeddings",
            [f"https://openrouter.ai/api/v1{s}" for s in ("/embeddings", "")] + ["https://openrouter.ai/api"],
        ),
        (f"{H}/v1?api-version=1", [f"{H}/v1", H]),
        (f"  {H}/v1  ", [f"{H}/v1", H]),
    ],
)
def test_candidate_bases(pasted: str, expected: list[str]) -> None:
    assert candidate_bases(pasted) == expected
    assert len(expected) <= 6


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("", "empty"),
        ("127.0.0.1:8000/v1", "http://"),
        ("ftp://example.com/v1", "http://"),
        ("http://", "http://"),
        ("http://user:s3cret-pass@example.com/v1", "credentials"),
    ],
)
def test_clean_url_rejects(url: str, fragment: str) -> None:
    with pytest.raises(TargetConfigError, match=fragment) as info:
        clean_url(url)
    assert "s3cret-pass" not in str(info.value)


def test_clean_url_drops_query_without_echoing_it() -> None:
    cleaned, notes = clean_url(f"{H}/v1/?key=abcdef123456")
    assert cleaned == f"{H}/v1"
    assert any("query string" in note for note in notes)
    assert not any("abcdef123456" in note for note in notes)


@pytest.mark.parametrize(
    ("path", "stem", "suffix"),
    [
        ("/v1/chat/completions", "/v1", "/chat/completions"),
        ("/v1/completions", "/v1", "/completions"),
        ("/v1/embeddings/", "/v1", "/embeddings"),
        ("/api/v1/models", "/api/v1", "/models"),
        ("/v1", "/v1", None),
        ("", "", None),
    ],
)
def test_strip_endpoint_suffix(path: str, stem: str, suffix: str | None) -> None:
    assert strip_endpoint_suffix(path) == (stem, suffix)


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/v1/v1", "/v1"), ("/v1/v1/v1", "/v1"), ("/api/v1/v1/x", "/api/v1/x"), ("/v1", "/v1"), ("/v10/v1", "/v10/v1")],
)
def test_dedupe_v1(path: str, expected: str) -> None:
    assert dedupe_v1(path) == expected


@pytest.mark.parametrize(
    ("pasted", "base", "kinds", "says"),
    [
        (f"{H}/v1", f"{H}/v1", [], ""),
        (f"{H}/v1/", f"{H}/v1", [], ""),
        (H, f"{H}/v1", ["missing-v1"], f"{H}/chat/completions"),
        (
            f"{H}/v1/chat/completions",
            f"{H}/v1",
            ["endpoint-url"],
            f"{H}/v1/chat/completions/chat/completions",
        ),
        (f"{H}/v1/embeddings", f"{H}/v1", ["endpoint-url"], f"{H}/v1/embeddings/embeddings"),
        (f"{H}/chat/completions", f"{H}/v1", ["endpoint-url", "missing-v1"], "never add /v1"),
        (f"{H}/v1/v1", f"{H}/v1", ["doubled-v1"], f"{H}/v1/v1/chat/completions"),
        (f"{H}/v1/v1/chat/completions", f"{H}/v1", ["endpoint-url", "doubled-v1"], "repeats /v1"),
        (f"{H}/api/paas/v4/v1", f"{H}/api/paas/v4", ["extra-v1"], "without /v1"),
    ],
)
def test_explain_url(pasted: str, base: str, kinds: list[str], says: str) -> None:
    problems = explain_url(pasted, base)
    assert [problem.kind for problem in problems] == kinds
    assert says in " ".join(problem.message for problem in problems)


def test_client_settings_for_a_v1_base() -> None:
    settings = client_settings(f"{H}/v1")
    assert settings.python == f'OpenAI(base_url="{H}/v1")'
    assert settings.node == f'new OpenAI({{ baseURL: "{H}/v1" }})'
    assert settings.env == f"OPENAI_BASE_URL={H}/v1"
    assert settings.host_only == H
    assert "NextChat" in settings.host_only_note


def test_client_settings_for_a_base_without_v1() -> None:
    settings = client_settings(f"{H}/api/paas/v4")
    assert settings.host_only is None
    assert "cannot reach" in settings.host_only_note


# -- pure: models ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "available", "expected"),
    [
        ("Ref-Chat", REF_IDS, ["ref-chat"]),
        ("REF-EMBED", REF_IDS, ["ref-embed"]),
        (" ref-chat ", REF_IDS, ["ref-chat"]),
        ("ref-chat-latest", REF_IDS, ["ref-chat"]),
        ("ref-chta", REF_IDS, ["ref-chat"]),
        ("instruct", REF_IDS, ["ref-instruct"]),
        ("ft:ref-instruct", REF_IDS, [FT, "ref-instruct"]),
        ("gpt-4o", ("openai/gpt-4o", "anthropic/claude-3"), ["openai/gpt-4o"]),
        ("ref-chat", REF_IDS, []),
        ("zzz-unknown", REF_IDS, []),
        ("ref-chat", (), []),
        ("", REF_IDS, []),
    ],
)
def test_near_misses(model: str, available: tuple[str, ...], expected: list[str]) -> None:
    assert near_misses(model, available) == expected


@pytest.mark.parametrize(
    ("model", "listed", "answers_on", "expected"),
    [
        (
            FT,
            REF_IDS,
            ["completions"],
            f"{FT} is a completion model: call POST /v1/completions with `prompt`, not /v1/chat/completions.",
        ),
        ("ref-chat", REF_IDS, ["chat"], "ref-chat is a chat model: call POST /v1/chat/completions with `messages`."),
        ("ref-embed", REF_IDS, ["embeddings"], "POST /v1/embeddings with `input`"),
        (
            "both",
            ("both",),
            ["chat", "completions"],
            "both answers on POST /v1/chat/completions and POST /v1/completions",
        ),
        ("Ref-Chat", REF_IDS, [], "Ref-Chat is not served here; did you mean ref-chat?"),
        ("ref-chat", (), ["chat"], "does not list it"),
        ("ref-chat", REF_IDS, [], "is listed by GET /v1/models but answered on no endpoint"),
        ("nope", (), [], "GET /v1/models is empty"),
        ("nope", REF_IDS, [], "nothing listed resembles it; GET /v1/models lists ref-chat"),
        ("nope", None, [], "could not be read"),
    ],
)
def test_conclude_model(model: str, listed: tuple[str, ...] | None, answers_on: list[str], expected: str) -> None:
    assert expected in conclude_model(model, f"{H}/v1", listed, answers_on)


@pytest.mark.parametrize(
    ("key", "masked"),
    [(None, "not set"), ("", "not set"), ("short-key", "***"), ("sk-abcdefghijklmnop", "sk-************mnop")],
)
def test_mask_key(key: str | None, masked: str) -> None:
    assert mask_key(key) == masked


@pytest.mark.parametrize(
    ("answer", "key_given", "outcome", "says"),
    [
        (exchange(200, b'{"object":"list","data":[{"id":"a"}]}'), True, "models", "1 model listed"),
        (exchange(200, b'{"object":"list","data":[]}'), True, "models", "empty list"),
        (exchange(200, b"<!DOCTYPE html><html></html>", "text/html"), True, "html", "HTML page"),
        (exchange(200, b'{"code":"105","msg":"token invalid.","success":false}'), True, "error-200", "token invalid."),
        (exchange(200, b'{"models":[]}'), True, "not-a-model-list", '{"models":[]}'),
        (exchange(401, b'{"error":{"message":"bad key"}}'), True, "key-rejected", "key rejected: bad key"),
        (exchange(401, b'{"error":{"message":"no key"}}'), False, "key-missing", "a key is required"),
        (exchange(401, b"<html>401</html>", "text/html"), True, "http-error", "401"),
        (exchange(308, b"", location="https://h/v1/models"), True, "redirect", "https://h/v1/models"),
        (exchange(404, b'{"detail":"Not Found"}'), True, "not-found", "404 · Not Found"),
        (exchange(502, b"<html>Bad gateway</html>", "text/html"), True, "http-error", "<html>Bad gateway</html>"),
    ],
)
def test_classify_listing(answer: Exchange, key_given: bool, outcome: str, says: str) -> None:
    attempt, _ids = classify_listing(f"{H}/v1", answer, Redactor([KEY]), key_given=key_given)
    assert attempt.outcome == outcome
    assert says in attempt.detail


# -- against the reference provider ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "kinds", "requests"),
    [
        ("", ["missing-v1"], 2),
        ("/v1", [], 1),
        ("/v1/", [], 1),
        ("/v1/chat/completions", ["endpoint-url"], 2),
        ("/v1/models", ["endpoint-url"], 2),
        ("/v1/v1", ["doubled-v1"], 2),
    ],
)
def test_finds_the_v1_base(host: str, suffix: str, kinds: list[str], requests: int) -> None:
    diagnosis = diagnose(host + suffix, api_key=KEY, timeout=5)
    assert diagnosis.base_url == f"{host}/v1"
    assert diagnosis.key_status == "accepted"
    assert [problem.kind for problem in diagnosis.url_problems] == kinds
    assert diagnosis.requests == requests
    assert diagnosis.listed_models == tuple(model.id for model in REFERENCE_MODELS)
    assert diagnosis.exit_code == EXIT_OK
    assert diagnosis.settings is not None
    assert diagnosis.settings.host_only == host
    text = rendered(diagnosis)
    assert f'OpenAI(base_url="{host}/v1")' in text
    assert f'new OpenAI({{ baseURL: "{host}/v1" }})' in text
    assert f"OPENAI_BASE_URL={host}/v1" in text
    assert f"add /v1 themselves: {host}\n" in text


def test_bare_host_advice_says_the_sdk_needs_v1(host: str) -> None:
    diagnosis = diagnose(host, api_key=KEY, timeout=5)
    assert [attempt.outcome for attempt in diagnosis.attempts] == ["not-found", "models"]
    text = rendered(diagnosis)
    assert "never add /v1" in text
    assert f"The SDK needs {host}/v1" in text
    # The pasted URL's own failing probe is what a ticket quotes when no model was given.
    assert diagnosis.ticket.request is not None
    assert diagnosis.ticket.request.url == f"{host}/models"
    assert diagnosis.ticket.request.status == 404


def test_full_endpoint_url_is_explained(host: str) -> None:
    diagnosis = diagnose(f"{host}/v1/chat/completions", api_key=KEY, timeout=5)
    text = rendered(diagnosis)
    assert "full endpoint URL" in text
    assert f"{host}/v1/chat/completions/chat/completions" in text


def test_given_base_has_no_problem(host: str) -> None:
    diagnosis = diagnose(f"{host}/v1", api_key=KEY, timeout=5)
    assert diagnosis.url_problems == ()
    assert diagnosis.ticket.request is None
    assert "nothing: it is the base URL" in rendered(diagnosis)


def test_wrong_key_is_rejected_but_the_base_is_found(host: str) -> None:
    diagnosis = diagnose(host, api_key=WRONG_KEY, model="ref-chat", timeout=5)
    assert diagnosis.base_url == f"{host}/v1"
    assert diagnosis.key_status == "rejected"
    assert diagnosis.attempts[-1].outcome == "key-rejected"
    assert diagnosis.model is not None
    assert diagnosis.model.endpoints == ()  # no point spending requests the key cannot pass
    assert diagnosis.requests == 2
    assert diagnosis.exit_code == EXIT_MODEL
    text = rendered(diagnosis)
    assert "key rejected" in text
    assert WRONG_KEY not in text
    assert WRONG_KEY not in to_json(diagnosis)
    assert mask_key(WRONG_KEY) in text


def test_missing_key(host: str, no_openai_env: None) -> None:
    diagnosis = diagnose(f"{host}/v1", timeout=5)
    assert diagnosis.key_status == "missing"
    assert diagnosis.exit_code == EXIT_MODEL
    assert "a key is required" in rendered(diagnosis)


def test_nothing_listening() -> None:
    diagnosis = diagnose(dead_url().removesuffix("/v1"), api_key=KEY, timeout=2)
    assert diagnosis.base_url is None
    assert diagnosis.exit_code == EXIT_NO_BASE
    # Every candidate shares the origin: one refused connection ends the search.
    assert [attempt.outcome for attempt in diagnosis.attempts] == ["unreachable"]
    text = rendered(diagnosis)
    assert "No working base URL found" in text
    assert "nothing answered at this host and port" in text


@pytest.mark.parametrize(
    ("model", "listed", "answers_on", "near", "conclusion", "exit_code"),
    [
        (
            FT,
            True,
            ("completions",),
            (),
            f"{FT} is a completion model: call POST /v1/completions with `prompt`, not /v1/chat/completions.",
            EXIT_OK,
        ),
        ("Ref-Chat", False, (), ("ref-chat",), "Ref-Chat is not served here; did you mean ref-chat?", EXIT_MODEL),
        ("ref-chat-latest", False, (), ("ref-chat",), "did you mean ref-chat?", EXIT_MODEL),
        ("ref-embed", True, ("embeddings",), (), "ref-embed is an embedding model: call POST /v1/embeddings", EXIT_OK),
        ("ref-chat", True, ("chat",), (), "ref-chat is a chat model", EXIT_OK),
    ],
)
def test_model_findings(
    host: str,
    model: str,
    listed: bool,
    answers_on: tuple[str, ...],
    near: tuple[str, ...],
    conclusion: str,
    exit_code: int,
) -> None:
    diagnosis = diagnose(f"{host}/v1/chat/completions", api_key=KEY, model=model, timeout=5)
    findings = diagnosis.model
    assert findings is not None
    assert findings.listed is listed
    assert findings.answers_on == answers_on
    assert findings.near_misses == near
    assert conclusion in findings.conclusion
    assert [result.capability for result in findings.endpoints] == ["chat", "completions", "embeddings"]
    assert all(result.ok == (result.message == "") for result in findings.endpoints)
    assert diagnosis.exit_code == exit_code
    assert diagnosis.requests == 5  # two base probes, one minimal request per endpoint


def test_wrong_endpoint_error_is_shown_verbatim(host: str) -> None:
    diagnosis = diagnose(f"{host}/v1/chat/completions", api_key=KEY, model=FT, timeout=5)
    assert diagnosis.model is not None
    chat = diagnosis.model.endpoints[0]
    assert (chat.status, chat.ok) == (404, False)
    assert chat.message == (
        "This is not a chat model and thus not supported in the v1/chat/completions endpoint. "
        "Did you mean to use v1/completions?"
    )
    text = rendered(diagnosis)
    assert f"404 · {chat.message}" in text
    assert "call POST /v1/completions with `prompt`, not /v1/chat/completions" in text
    # The ticket quotes the failing chat call: what the user hit.
    ticket = diagnosis.ticket
    assert ticket.request is not None
    assert ticket.request.url == f"{host}/v1/chat/completions"
    assert "Did you mean to use v1/completions?" in ticket.request.error_body
    assert ticket.request.request_id
    assert (ticket.base_url, ticket.model, ticket.api_key) == (f"{host}/v1", FT, mask_key(KEY))
    for label in ("tool:", "openai SDK:", "python:", "time (UTC):", "API key:", "status:", "response:"):
        assert label in text


def test_empty_model_list_while_the_model_answers(reference_server: ReferenceServer) -> None:
    url = reference_server.fault_base_url("models-empty-list")
    diagnosis = diagnose(url, api_key=TEST_KEY, model="ref-chat", timeout=5)
    assert diagnosis.base_url == url
    assert diagnosis.listed_models == ()
    assert any("empty list" in note for note in diagnosis.notes)
    assert diagnosis.model is not None
    assert diagnosis.model.answers_on == ("chat",)
    assert "does not list it" in diagnosis.model.conclusion
    assert diagnosis.exit_code == EXIT_OK


def test_error_inside_a_200_is_named(reference_server: ReferenceServer) -> None:
    url = reference_server.fault_base_url("auth-error-200-flat")
    diagnosis = diagnose(url, api_key=WRONG_KEY, timeout=5)
    assert diagnosis.attempts[0].outcome == "error-200"
    assert "token invalid." in diagnosis.attempts[0].detail
    assert diagnosis.exit_code == EXIT_NO_BASE
    assert any("HTTP 200 carrying an error" in note for note in diagnosis.notes)


def test_the_key_never_appears(host: str) -> None:
    outputs = []
    for url, model in [(host, FT), (f"{host}/v1/chat/completions", "Ref-Chat"), (f"{host}/v1", None)]:
        diagnosis = diagnose(url, api_key=KEY, model=model, timeout=5)
        outputs += [rendered(diagnosis), to_json(diagnosis), repr(diagnosis)]
    for output in outputs:
        assert KEY not in output
        assert KEY[3:-4] not in output
    assert any(mask_key(KEY) in output for output in outputs)


def test_json_findings(host: str) -> None:
    data = json.loads(to_json(diagnose(f"{host}/v1/chat/completions", api_key=KEY, model=FT, timeout=5)))
    assert data["base_url"] == f"{host}/v1"
    assert data["url_problems"][0]["kind"] == "endpoint-url"
    assert data["settings"]["host_only"] == host
    assert data["model"]["answers_on"] == ["completions"]
    assert data["ticket"]["api_key"] == mask_key(KEY)
    assert data["exit_code"] == 0


def test_diagnose_rejects_bad_arguments() -> None:
    with pytest.raises(TargetConfigError):
        diagnose("not a url")
    with pytest.raises(TargetConfigError):
        diagnose(H, timeout=0)


# -- the CLI ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_openai_env")
@pytest.mark.parametrize(
    ("suffix", "extra", "code", "says"),
    [
        ("/v1/chat/completions", ["--model", FT], 0, "Did you mean to use v1/completions?"),
        ("", [], 0, "never add /v1"),
        ("/v1", ["--model", "Ref-Chat"], 1, "did you mean ref-chat?"),
        ("/v1", ["--model", "ref-embed"], 0, "ref-embed is an embedding model"),
    ],
)
def test_cli_exit_codes(
    host: str, capsys: pytest.CaptureFixture[str], suffix: str, extra: list[str], code: int, says: str
) -> None:
    assert main(["doctor", host + suffix, "--api-key", KEY, "--timeout", "5", *extra]) == code
    out = capsys.readouterr().out
    assert says in out
    assert KEY not in out


@pytest.mark.usefixtures("no_openai_env")
def test_cli_wrong_key(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", host, "--api-key", WRONG_KEY]) == 1
    out = capsys.readouterr().out
    assert "key rejected" in out
    assert WRONG_KEY not in out


@pytest.mark.usefixtures("no_openai_env")
def test_cli_json(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", f"{host}/v1/chat/completions", "--api-key", KEY, "--model", FT, "--json"]) == 0
    out = capsys.readouterr().out
    assert KEY not in out
    data = json.loads(out)
    assert data["model"]["endpoints"][0]["message"].endswith("Did you mean to use v1/completions?")
    assert data["exit_code"] == 0


def test_cli_reads_the_sdk_environment(
    host: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", f"{host}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert main(["doctor", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["base_url"], data["key_status"]) == (f"{host}/v1", "accepted")


@pytest.mark.usefixtures("no_openai_env")
def test_cli_nothing_listening(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", dead_url(), "--api-key", KEY, "--timeout", "2"]) == 3
    assert "No working base URL found" in capsys.readouterr().out


@pytest.mark.usefixtures("no_openai_env")
@pytest.mark.parametrize(
    "argv",
    [["doctor"], ["doctor", "example.com/v1"], ["doctor", "http://h/v1", "--timeout", "-1"], ["doctor", "", "--json"]],
)
def test_cli_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    out = capsys.readouterr().out
    if "--json" in argv:
        assert json.loads(out)["exit_code"] == 2
    else:
        assert "error:" in out


def test_cli_bad_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["doctor", H, "--timeout", "soon"])
    assert info.value.code == 2
