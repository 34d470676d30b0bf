"""Probes of the chat checks: the plain chat request and the plain streamed one, each sent once."""

from __future__ import annotations

from conformance import builders
from conformance.engine import probe
from conformance.http import Exchange, HttpClient, StreamExchange


@probe
def chat_response(client: HttpClient, chat_model: str) -> Exchange:
    return builders.chat(client, chat_model)

@probe
def chat_stream(client: HttpClient, chat_model: str) -> StreamExchange:
    return builders.chat_stream(client, chat_model)
