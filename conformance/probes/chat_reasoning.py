"""Probes of the reasoning checks (conformance/checks/chat_reasoning.py): the plain question with
``reasoning_effort`` "low", once answered whole and once streamed -- two small requests, neither sent where
``reasoning`` is declared absent.

The request is shaped as reasoning models take it: ``max_completion_tokens`` instead of ``max_tokens``
(OpenAI's reasoning models refuse ``max_tokens``) and no ``temperature`` (they refuse any but the default).
The bound is small: a reasoning model may spend it all on reasoning, which leaves an empty content and is
still an answer every check here can judge.
"""

from __future__ import annotations

from typing import Any, Final

from conformance import builders
from conformance.engine import probe
from conformance.probes.base import feature_declared
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange, StreamExchange

EFFORT: Final = "low"
REASONING_MAX_TOKENS: Final = 32


def reasoning_body(client: HttpClient, chat_model: str, **extra: Any) -> dict[str, Any]:
    body = builders.chat_body(chat_model, client.target, **extra)
    for name in ("max_tokens", "temperature"):
        body.pop(name, None)
    return {**body, "reasoning_effort": EFFORT, "max_completion_tokens": REASONING_MAX_TOKENS}


@probe
def chat_reasoning(client: HttpClient, chat_model: str) -> Exchange:
    feature_declared(client.target, "reasoning")
    return client.request("POST", "chat/completions", json_body=reasoning_body(client, chat_model))


@probe
def chat_reasoning_stream(client: HttpClient, chat_model: str) -> StreamExchange:
    feature_declared(client.target, "reasoning")
    return client.stream("POST", "chat/completions", json_body=reasoning_body(client, chat_model, stream=True))
