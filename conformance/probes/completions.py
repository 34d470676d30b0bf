"""Probes of the completion checks: the plain completion, streamed and not, and its variations (an
array of prompts, echo, a small max_tokens)."""

from __future__ import annotations

from conformance import builders
from conformance.engine import probe
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange, StreamExchange

PROMPTS = ["Say one.", "Say two.", "Say three."]


@probe
def completion_response(client: HttpClient, completion_model: str) -> Exchange:
    return builders.completion(client, completion_model)


@probe
def completion_stream(client: HttpClient, completion_model: str) -> StreamExchange:
    return builders.completion_stream(client, completion_model)


@probe
def completion_prompt_array(client: HttpClient, completion_model: str) -> Exchange:
    return builders.completion(client, completion_model, prompt=PROMPTS, max_tokens=2)


@probe
def completion_echo(client: HttpClient, completion_model: str) -> Exchange:
    return builders.completion(client, completion_model, echo=True, max_tokens=2)


@probe
def completion_max_tokens_2(client: HttpClient, completion_model: str) -> Exchange:
    return builders.completion(client, completion_model, max_tokens=2)
