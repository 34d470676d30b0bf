"""Probes of the chat stream checks: one request each, shared by every stream check that reads it."""

from __future__ import annotations

from conformance import builders
from conformance.engine import probe
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange, StreamExchange

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
    return builders.chat_stream(client, chat_model, stream_options={"include_usage": True})


@probe
def chat_stream_n(client: HttpClient, chat_model: str) -> StreamExchange:
    return builders.chat_stream(client, chat_model, n=2, max_tokens=3)


@probe
def chat_stream_tools(client: HttpClient, chat_model: str) -> StreamExchange | None:
    """The streamed forced tool call; None, without a request, where tools are declared absent."""
    capabilities = client.target.capabilities
    if capabilities is not None and "tools" not in capabilities:
        return None
    return builders.chat_stream(
        client,
        chat_model,
        messages=[{"role": "user", "content": "What is the weather in Paris? Use the get_weather tool."}],
        tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        max_tokens=max(client.target.max_tokens, TOOL_MAX_TOKENS),
    )


@probe
def chat_stream_logprobs(client: HttpClient, chat_model: str) -> StreamExchange:
    return builders.chat_stream(client, chat_model, logprobs=True, top_logprobs=2, max_tokens=4)


@probe
def chat_stream_false(client: HttpClient, chat_model: str) -> Exchange:
    return builders.chat(client, chat_model, stream=False)


@probe
def chat_response_again(client: HttpClient, chat_model: str) -> Exchange:
    """The plain chat request sent a second time: tells whether the provider is deterministic."""
    return builders.chat(client, chat_model)


@probe
def stream_unknown_model(client: HttpClient) -> StreamExchange:
    return builders.chat_stream(client, builders.UNKNOWN_MODEL, max_tokens=1)
