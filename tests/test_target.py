"""The target: base-URL normalisation like openai-python, environment fallback, and no key in outputs."""

from __future__ import annotations

import json

import pytest

from conformance.target import Target, TargetConfigError, normalise_base_url

KEY = "sk-target-secret-0123456789"

# (given, base URL to join paths to) — no note expected
KEPT = [
    ("https://host/v1", "https://host/v1"),
    ("https://host/v1/", "https://host/v1"),
    ("https://host/v1//", "https://host/v1"),
    ("https://host", "https://host"),  # no /v1 is ever added
    ("https://host/", "https://host"),
    ("https://host/api/v1/", "https://host/api/v1"),
    ("https://host/openai/deployments/x", "https://host/openai/deployments/x"),
    ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
    ("  https://host/v1  ", "https://host/v1"),
    ("https://host/v1/chat", "https://host/v1/chat"),  # not an endpoint path: kept
]

# (full endpoint URL pasted as base, base it is cut back to, the endpoint path named in the note)
ENDPOINT_URLS = [
    ("https://host/v1/chat/completions", "https://host/v1", "/chat/completions"),
    ("https://host/v1/completions", "https://host/v1", "/completions"),
    ("https://host/v1/embeddings", "https://host/v1", "/embeddings"),
    ("https://host/v1/models", "https://host/v1", "/models"),
    ("https://host/v1/models/", "https://host/v1", "/models"),
    ("https://host/api/v1/chat/completions/", "https://host/api/v1", "/chat/completions"),
]

# (bad base URL, a fragment of the error message)
INVALID = [
    ("", "empty"),
    ("   ", "empty"),
    ("ftp://x", "http:// or https://"),
    ("host/v1", "http:// or https://"),
    ("http://", "http:// or https://"),
    ("https://user:pw@host/v1", "credentials"),
    ("https://sk-key@host/v1", "credentials"),
    ("https://host/v1?api-version=2024-06-01", "query string"),
    ("https://host/v1?", "query string"),
]


@pytest.mark.parametrize(("given", "expected"), KEPT)
def test_base_url_prefix_is_kept_verbatim(given: str, expected: str) -> None:
    assert normalise_base_url(given) == (expected, [])


@pytest.mark.parametrize(("given", "expected", "suffix"), ENDPOINT_URLS)
def test_endpoint_url_is_cut_back_to_its_base_with_a_note(given: str, expected: str, suffix: str) -> None:
    base, notes = normalise_base_url(given)
    assert base == expected
    assert len(notes) == 1
    assert repr(suffix) in notes[0]


@pytest.mark.parametrize(("given", "message"), INVALID)
def test_unusable_base_url_is_a_config_error(given: str, message: str) -> None:
    with pytest.raises(TargetConfigError, match=message.replace("?", r"\?")):
        normalise_base_url(given)


def test_build_falls_back_to_the_sdk_environment_variables() -> None:
    target = Target.build(env={"OPENAI_BASE_URL": "https://env.example/v1/", "OPENAI_API_KEY": KEY})
    assert (target.base_url, target.api_key) == ("https://env.example/v1", KEY)


def test_build_explicit_arguments_win_over_the_environment() -> None:
    env = {"OPENAI_BASE_URL": "https://env.example/v1", "OPENAI_API_KEY": "sk-from-env-0000"}
    target = Target.build("https://arg.example/v1", api_key=KEY, env=env)
    assert (target.base_url, target.api_key) == ("https://arg.example/v1", KEY)


def test_build_takes_the_key_from_the_environment_when_only_the_url_is_given() -> None:
    target = Target.build("https://arg.example/v1", env={"OPENAI_API_KEY": KEY})
    assert target.api_key == KEY


def test_build_without_any_url_is_a_config_error() -> None:
    with pytest.raises(TargetConfigError, match="--base-url"):
        Target.build(env={"OPENAI_API_KEY": KEY})


def test_build_with_an_explicit_env_ignores_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "https://process.example/v1")
    with pytest.raises(TargetConfigError):
        Target.build(env={})


def test_build_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "https://process.example/v1")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    target = Target.build()
    assert (target.base_url, target.api_key) == ("https://process.example/v1", KEY)


def test_build_records_only_the_models_given() -> None:
    target = Target.build("https://h/v1", chat_model="c", embedding_model="e", env={})
    assert target.models == {"chat": "c", "embeddings": "e"}


def test_build_keeps_the_normalisation_note() -> None:
    target = Target.build("https://h/v1/chat/completions", env={})
    assert target.base_url == "https://h/v1"
    assert target.notes
    assert "/chat/completions" in target.notes[0]


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"max_requests": 0}, "--max-requests"),
        ({"max_tokens": 0}, "--max-tokens"),
        ({"max_tokens": 4097}, "--max-tokens"),
        ({"timeout": 0}, "timeouts"),
        ({"no_such_limit": 1}, "no_such_limit"),
    ],
)
def test_build_rejects_bad_limits(limits: dict[str, object], message: str) -> None:
    with pytest.raises(TargetConfigError, match=message):
        Target.build("https://h/v1", env={}, **limits)


def test_public_dict_never_contains_the_key() -> None:
    target = Target.build("https://h/v1", api_key=KEY, organization="org-1", env={})
    public = target.public_dict()
    assert KEY not in json.dumps(public)
    assert public["api_key_set"] is True


def test_repr_never_contains_the_key() -> None:
    # A Target is a fixture argument of checks: pytest prints its repr in tracebacks (-l, -vv).
    assert KEY not in repr(Target.build("https://h/v1", api_key=KEY, env={}))
