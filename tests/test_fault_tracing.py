"""Site tracing: which fault sites a request of the clean reference provider passes through."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from conformance.reference import DEFAULT_API_KEY, ReferenceServer, create_app

AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
CHAT = {"model": "ref-chat", "messages": [{"role": "user", "content": "Say something about conformance."}]}
ALWAYS = {"policy", "asgi"}


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceServer]:
    with ReferenceServer(multiplex=True) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: ReferenceServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        yield http


def traced(token: str) -> dict[str, str]:
    return {"x-oai-conformance-trace": token}


def new_token() -> str:
    return uuid.uuid4().hex


def test_traced_chat_records_request_and_response(server: ReferenceServer, client: httpx.Client) -> None:
    token = new_token()
    response = client.post("chat/completions", json=CHAT, headers={**AUTH, **traced(token)})
    assert response.status_code == 200
    assert server.traced_sites(token) == frozenset({*ALWAYS, "request", "chat.response"})


def test_traced_stream_records_chunks_frames_and_headers(server: ReferenceServer, client: httpx.Client) -> None:
    token = new_token()
    response = client.post("chat/completions", json={**CHAT, "stream": True}, headers={**AUTH, **traced(token)})
    assert response.text.endswith("data: [DONE]\n\n")
    assert server.traced_sites(token) == frozenset(
        {*ALWAYS, "request", "chat.chunks", "stream.frames", "stream.headers"}
    )


def test_traced_401_records_error(server: ReferenceServer, client: httpx.Client) -> None:
    token = new_token()
    response = client.post("chat/completions", json=CHAT, headers=traced(token))
    assert response.status_code == 401
    assert server.traced_sites(token) == frozenset({*ALWAYS, "error"})


def test_requests_with_one_token_accumulate_and_clear_traces_forgets(
    server: ReferenceServer, client: httpx.Client
) -> None:
    token = new_token()
    assert client.get("models", headers={**AUTH, **traced(token)}).status_code == 200
    assert client.get("models/ref-chat", headers={**AUTH, **traced(token)}).status_code == 200
    assert server.traced_sites(token) == frozenset({*ALWAYS, "models.list", "models.retrieve"})
    server.clear_traces()
    assert server.traced_sites(token) == frozenset()


def test_fault_apps_are_not_traced_as_the_clean_app(server: ReferenceServer, client: httpx.Client) -> None:
    token = new_token()
    url = server.fault_base_url("chat-wrong-object") + "/chat/completions"
    assert client.post(url, json=CHAT, headers={**AUTH, **traced(token)}).json()["object"] == "chat.completions"
    assert server.traced_sites(token) == frozenset()


def test_untraced_request_records_nothing() -> None:
    app = create_app()
    with TestClient(app) as local:
        assert local.post("/v1/chat/completions", json=CHAT, headers=AUTH).status_code == 200
        assert local.post("/v1/chat/completions", json={**CHAT, "stream": True}, headers=AUTH).status_code == 200
        assert local.get("/v1/models").status_code == 401
        assert app.traces == {}
        token = new_token()
        assert local.get("/v1/models", headers=traced(token)).status_code == 401
        assert app.traces == {token: {*ALWAYS, "error"}}


def test_traced_sites_before_start_is_empty() -> None:
    assert ReferenceServer().traced_sites("anything") == frozenset()
