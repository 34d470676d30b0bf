"""Model discovery: ranking GET /models and probing at most three candidates per capability."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from conformance import builders
from conformance.builders import MAX_CANDIDATES, choose_model, rank_candidates
from conformance.reference import REFERENCE_MODELS, ReferenceServer
from conformance.report.json_report import validate_report
from conformance.runner import run
from conformance.target import MODEL_CAPABILITIES, Target
from conformance.transport.client import HttpClient
from tests.conftest import TEST_KEY

# One requirement or more per capability (streams, auth and errors included): a whole-catalogue run is the
# meta-tests' job (tests/test_meta.py); here each run only needs to exercise the path being tested.
SAMPLE = "MODELS-001,CHAT-002,CHAT-STREAM-003,CMPL-001,EMB-001,AUTH-001,AUTH-002,ERR-001"
FLAGS = {"chat": "--chat-model", "completions": "--completion-model", "embeddings": "--embedding-model"}


@pytest.fixture
def discover(reference_server: ReferenceServer) -> Iterator[Callable[..., HttpClient]]:
    """An HttpClient for a configuration of the reference provider, without any model given."""
    clients: list[HttpClient] = []

    def make(*faults: str, **models: str) -> HttpClient:
        target = Target.build(reference_server.fault_base_url(*faults), api_key=TEST_KEY, env={}, **models)
        clients.append(HttpClient(target))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


@pytest.mark.parametrize(
    ("capability", "acceptable"),
    [
        ("chat", {"ref-chat"}),
        ("completions", {"ref-instruct", "ft:ref-instruct:acme::abc123"}),
        ("embeddings", {"ref-embed"}),
    ],
)
def test_probing_picks_a_model_that_serves_the_capability(
    discover: Callable[..., HttpClient], capability: str, acceptable: set[str]
) -> None:
    client = discover()
    choice = choose_model(client, capability, builders.list_models(client))
    assert choice.model in acceptable
    assert (choice.how, choice.status) == ("probed", "available")


def test_a_given_model_is_used_without_probing(discover: Callable[..., HttpClient]) -> None:
    client = discover(chat_model="my-chat")
    choice = choose_model(client, "chat", None)
    assert (choice.model, choice.how, choice.status) == ("my-chat", "given", "available")
    assert client.usage.requests == 0


@pytest.mark.parametrize("capability", MODEL_CAPABILITIES)
def test_an_empty_model_list_leaves_the_model_unknown_and_names_the_flag(
    discover: Callable[..., HttpClient], capability: str
) -> None:
    client = discover("models-empty-list")
    choice = choose_model(client, capability, builders.list_models(client))
    assert (choice.model, choice.status) == (None, "unknown")
    assert FLAGS[capability] in choice.detail
    assert client.usage.requests == 1  # only GET /models: nothing to probe


# -- probing outcomes, scripted ---------------------------------------------------------------------


def _scripted(ids: list[str], answer: Callable[[str], httpx.Response]) -> tuple[HttpClient, list[str]]:
    """A client whose provider lists ``ids`` and answers every probe with ``answer(model)``."""
    probed: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"object": "list", "data": [{"id": i, "object": "model"} for i in ids]})
        model = json.loads(request.content)["model"]
        probed.append(model)
        return answer(model)

    target = Target.build("http://scripted.example/v1", api_key="sk-scripted-0000", env={})
    return HttpClient(target, transport=httpx.MockTransport(handler)), probed


def _error(status: int) -> Callable[[str], httpx.Response]:
    return lambda model: httpx.Response(status, json={"error": {"message": "no", "type": "invalid_request_error"}})


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (_error(404), "unsupported"),  # honestly declined by every candidate
        (_error(400), "unsupported"),
        (_error(501), "unsupported"),
        (_error(500), "unknown"),  # a crash says nothing about support
        (_error(502), "unknown"),
    ],
)
def test_no_candidate_answering_sets_the_status(answer: Callable[[str], httpx.Response], status: str) -> None:
    client, probed = _scripted(["model-a", "model-b"], answer)
    with client:
        choice = choose_model(client, "chat", builders.list_models(client))
    assert (choice.model, choice.how, choice.status) == (None, "probed", status)
    assert probed == ["model-a", "model-b"]
    assert "--chat-model" in choice.detail


def test_probing_stops_at_the_first_model_that_answers() -> None:
    client, probed = _scripted(
        ["a-chat", "b-chat", "c-chat"],
        lambda model: httpx.Response(200, json={}) if model == "b-chat" else _error(404)(model),
    )
    with client:
        choice = choose_model(client, "chat", builders.list_models(client))
    assert (choice.model, probed) == ("b-chat", ["a-chat", "b-chat"])
    assert len(choice.exchanges) == 2


def test_at_most_three_candidates_are_probed() -> None:
    client, probed = _scripted([f"chat-{n}" for n in range(10)], _error(404))
    with client:
        choose_model(client, "chat", builders.list_models(client))
    assert len(probed) == MAX_CANDIDATES == 3


def test_probes_are_cheap() -> None:
    bodies: list[dict[str, Any]] = [builders.probe_body(capability, "m") for capability in ("chat", "completions")]
    assert all(body["max_tokens"] == 1 for body in bodies)


# -- ranking -------------------------------------------------------------------------------------------

REFERENCE_IDS = [model.id for model in REFERENCE_MODELS]
IDS = ["text-embedding-3-small", "gpt-4o-mini", "bge-m3", "davinci-002", "ft:davinci-002:acme::x1", "rerank-v1"]


@pytest.mark.parametrize(
    ("capability", "ids", "expected"),
    [
        ("embeddings", IDS, ["text-embedding-3-small", "bge-m3", "gpt-4o-mini"]),
        ("chat", IDS, ["gpt-4o-mini", "davinci-002", "ft:davinci-002:acme::x1"]),
        ("completions", IDS, ["ft:davinci-002:acme::x1", "gpt-4o-mini", "davinci-002"]),
        ("chat", ["nomic-embed-text", "llama3"], ["llama3"]),
        ("chat", ["mxbai-embed-large", "bge-reranker", "my-reranker"], []),
        # embedding-only families must not use up the three chat probes before the chat model
        ("chat", ["bge-m3", "bge-large-en", "all-minilm-l6-v2", "my-model"], ["my-model"]),
        ("completions", ["bge-m3", "bge-large-en", "all-MiniLM-L6-v2", "my-model"], ["my-model"]),
        ("embeddings", ["llama3", "nomic-embed-text"], ["nomic-embed-text", "llama3"]),
        ("chat", [], []),
        ("chat", REFERENCE_IDS, ["ref-chat", "ref-instruct", "ft:ref-instruct:acme::abc123"]),
        ("completions", REFERENCE_IDS, ["ft:ref-instruct:acme::abc123", "ref-instruct", "ref-chat"]),
        ("embeddings", REFERENCE_IDS, ["ref-embed", "ref-chat", "ref-instruct"]),
    ],
)
def test_rank_candidates(capability: str, ids: list[str], expected: list[str]) -> None:
    assert rank_candidates(capability, ids) == expected


@pytest.mark.parametrize("capability", ["chat", "completions"])
@pytest.mark.parametrize(
    "name",
    ["text-embedding-ada-002", "nomic-embed-text", "Embed-English-v3", "bge-m3", "all-MiniLM-L6-v2", "rerank-v1"],
)
def test_embedding_and_rerank_models_are_never_generation_candidates(capability: str, name: str) -> None:
    assert rank_candidates(capability, [name]) == []


# -- a whole run without models --------------------------------------------------------------------------


def test_run_without_models_discovers_them_and_passes(reference_server: ReferenceServer) -> None:
    target = Target.build(reference_server.base_url, api_key=TEST_KEY, env={})
    report = run(target, out_dir=None, only=SAMPLE.split(",")).report
    validate_report(report)
    assert {row["id"]: row["outcome"] for row in report["results"]} == dict.fromkeys(SAMPLE.split(","), "PASS")
    assert {cap: (m["how"], m["status"]) for cap, m in report["models"].items()} == {
        cap: ("probed", "available") for cap in MODEL_CAPABILITIES
    }
    assert report["models"]["chat"]["model"] == "ref-chat"
    assert report["models"]["embeddings"]["model"] == "ref-embed"
    assert report["target"]["models"] == {}
