"""Probes of the embedding checks."""

from __future__ import annotations

from conformance import builders
from conformance.engine import probe
from conformance.http import Exchange, HttpClient


@probe
def embedding_response(client: HttpClient, embedding_model: str) -> Exchange:
    return builders.embedding(client, embedding_model)
