"""Probes of the completion checks: the plain completion, streamed and not."""

from __future__ import annotations

from conformance import builders
from conformance.engine import probe
from conformance.http import Exchange, HttpClient, StreamExchange


@probe
def completion_response(client: HttpClient, completion_model: str) -> Exchange:
    return builders.completion(client, completion_model)

@probe
def completion_stream(client: HttpClient, completion_model: str) -> StreamExchange:
    return builders.completion_stream(client, completion_model)
