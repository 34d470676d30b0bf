"""Probes shared by several check modules of the suite: the requests that should be refused.

Each is sent once per run. Generation requests that a faulty provider might serve anyway carry
``max_tokens`` 1 so a provider that ignores auth or validation costs next to nothing.
"""

from __future__ import annotations

import pytest

from conformance import probes
from conformance.probe_cache import probe
from conformance.target import Target
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange, StreamExchange


def _chat_refusal_body(model: str, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {"model": model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}
    body.update(extra)
    return body


@probe
def no_key_chat(client: HttpClient, chat_model: str) -> Exchange:
    return client.request("POST", "chat/completions", json_body=_chat_refusal_body(chat_model), auth=False)


@probe
def wrong_key_chat(client: HttpClient, chat_model: str) -> Exchange:
    return client.request("POST", "chat/completions", json_body=_chat_refusal_body(chat_model), auth=probes.WRONG_KEY)


@probe
def unknown_model_chat(client: HttpClient, chat_model: str) -> Exchange:
    return client.request("POST", "chat/completions", json_body=_chat_refusal_body(probes.UNKNOWN_MODEL))


@probe
def bad_json_chat(client: HttpClient, chat_model: str) -> Exchange:
    broken = b'{"model": "' + chat_model.encode() + b'", "messages": [{"role": "user", "content": "Hi"}'
    return client.request("POST", "chat/completions", content=broken, headers={"content-type": "application/json"})


@probe
def missing_messages_chat(client: HttpClient, chat_model: str) -> Exchange:
    return client.request("POST", "chat/completions", json_body={"model": chat_model, "max_tokens": 1})


@probe
def bad_type_chat(client: HttpClient, chat_model: str) -> Exchange:
    return client.request("POST", "chat/completions", json_body=_chat_refusal_body(chat_model, temperature="hot"))


@probe
def messages_not_array_chat(client: HttpClient, chat_model: str) -> Exchange:
    return client.request(
        "POST", "chat/completions", json_body={"model": chat_model, "messages": "Hi", "max_tokens": 1}
    )


@probe
def unknown_model_retrieve(client: HttpClient) -> Exchange:
    return client.request("GET", f"models/{probes.UNKNOWN_MODEL}")


@pytest.fixture(scope="session")
def api_errors(
    request: pytest.FixtureRequest,
    target: Target,
    chat_model: str,
) -> list[Exchange]:
    """Every probe the provider must refuse, as far as this configuration allows."""
    names = [
        "unknown_model_chat",
        "bad_json_chat",
        "missing_messages_chat",
        "bad_type_chat",
        "messages_not_array_chat",
        "unknown_model_retrieve",
    ]
    if target.api_key:
        names[:0] = ["no_key_chat", "wrong_key_chat"]
    return [request.getfixturevalue(name) for name in names]


# -- streams: one request each, shared by every stream check -------------------------------------------

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
# A tool call's arguments need a few more tokens than a greeting; still a tiny request.
TOOL_MAX_TOKENS = 48


@probe
def chat_stream_usage(client: HttpClient, chat_model: str) -> StreamExchange:
    return probes.chat_stream(client, chat_model, stream_options={"include_usage": True})


@probe
def chat_stream_n(client: HttpClient, chat_model: str) -> StreamExchange:
    return probes.chat_stream(client, chat_model, n=2, max_tokens=3)


@probe
def chat_stream_tools(client: HttpClient, chat_model: str) -> StreamExchange:
    return probes.chat_stream(
        client,
        chat_model,
        messages=[{"role": "user", "content": "What is the weather in Paris? Use the get_weather tool."}],
        tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        max_tokens=max(client.target.max_tokens, TOOL_MAX_TOKENS),
    )


@probe
def chat_stream_logprobs(client: HttpClient, chat_model: str) -> StreamExchange:
    return probes.chat_stream(client, chat_model, logprobs=True, top_logprobs=2, max_tokens=4)


@probe
def chat_stream_false(client: HttpClient, chat_model: str) -> Exchange:
    return probes.chat(client, chat_model, stream=False)


@probe
def chat_response_again(client: HttpClient, chat_model: str) -> Exchange:
    """The plain chat request sent a second time: tells whether the provider is deterministic."""
    return probes.chat(client, chat_model)


@probe
def stream_unknown_model(client: HttpClient) -> StreamExchange:
    return probes.chat_stream(client, probes.UNKNOWN_MODEL, max_tokens=1)
