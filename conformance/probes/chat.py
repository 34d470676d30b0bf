"""Probes of the chat checks: the plain chat request and the plain streamed one, each sent once, and the
variations of the plain request (a small max_tokens, n=2, max_completion_tokens)."""

from __future__ import annotations

from conformance import builders
from conformance.engine import probe
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange, StreamExchange

#: The bound of the max_completion_tokens probe: below any natural answer to the plain prompt.
MAX_COMPLETION_TOKENS = 2


@probe
def chat_response(client: HttpClient, chat_model: str) -> Exchange:
    return builders.chat(client, chat_model)


@probe
def chat_stream(client: HttpClient, chat_model: str) -> StreamExchange:
    return builders.chat_stream(client, chat_model)


@probe
def chat_max_tokens_2(client: HttpClient, chat_model: str) -> Exchange:
    return builders.chat(client, chat_model, max_tokens=2)


@probe
def chat_n_2(client: HttpClient, chat_model: str) -> Exchange:
    return builders.chat(client, chat_model, n=2, max_tokens=2)


@probe
def chat_max_completion_tokens(client: HttpClient, chat_model: str) -> Exchange:
    """max_completion_tokens in place of max_tokens, as newer clients send it: 2, below the natural answer
    (CHAT-013 reads whether it bounds the answer)."""
    body = builders.chat_body(chat_model, client.target, max_completion_tokens=MAX_COMPLETION_TOKENS)
    del body["max_tokens"]
    return client.request("POST", "chat/completions", json_body=body)
