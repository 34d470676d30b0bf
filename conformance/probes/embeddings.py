"""Probes of the embedding checks: the plain embedding, several inputs, and the base64 encoding."""

from __future__ import annotations

from typing import Any

from conformance import builders, expect
from conformance.core.results import NotApplicable
from conformance.engine import probe
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange

INPUTS = ["first document", "second document", "third document"]


def embedding_object(exchange: Exchange) -> dict[str, Any]:
    expect.success(exchange, "POST /embeddings")
    return expect.json_object(exchange)


def data_items(body: dict[str, Any], exchange: Exchange) -> list[dict[str, Any]]:
    items = body.get("data")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise NotApplicable("no data array of objects (see EMB-001)")
    return items


def float_vector(item: dict[str, Any]) -> list[float] | None:
    vector = item.get("embedding")
    if isinstance(vector, list) and all(expect.is_type(v, (int, float)) for v in vector):
        return [float(v) for v in vector]
    return None


@probe
def embedding_response(client: HttpClient, embedding_model: str) -> Exchange:
    return builders.embedding(client, embedding_model)


@probe
def embedding_inputs_3(client: HttpClient, embedding_model: str) -> Exchange:
    return builders.embedding(client, embedding_model, input=INPUTS)


@probe
def embedding_inputs_2(client: HttpClient, embedding_model: str) -> Exchange:
    return builders.embedding(client, embedding_model, input=INPUTS[:2])


@probe
def embedding_base64(client: HttpClient, embedding_model: str, embedding_response: Exchange) -> Exchange | None:
    """encoding_format base64, sent only where the plain answer has a float vector to compare it with
    (EMB-003 is not judged otherwise); None where it is not sent."""
    try:
        floats = data_items(embedding_object(embedding_response), embedding_response)
    except Exception:
        return None
    if (float_vector(floats[0]) if floats else None) is None:
        return None
    return builders.embedding(client, embedding_model, encoding_format="base64")


#: Below every model's native dimension; models with Matryoshka training truncate to it.
DIMENSIONS = 8
#: Two inputs as token arrays (LangChain's OpenAIEmbeddings sends tiktoken ids by default): small ids are
#: tokens of every vocabulary.
TOKEN_ARRAYS = [[1820, 3691, 374], [9712, 2246]]


@probe
def embedding_dimensions(client: HttpClient, embedding_model: str) -> Exchange:
    return builders.embedding(client, embedding_model, dimensions=DIMENSIONS)


@probe
def embedding_token_arrays(client: HttpClient, embedding_model: str) -> Exchange:
    return builders.embedding(client, embedding_model, input=TOKEN_ARRAYS)
