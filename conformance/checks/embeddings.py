"""EMB-*: embeddings (seed 002 "Embeddings"; compat-bugs H.39 on base64)."""

from __future__ import annotations

import base64
import math
import struct

from conformance import expect
from conformance.core.results import NotApplicable, Violation
from conformance.engine import check
from conformance.probes.embeddings import (
    DIMENSIONS,
    INPUTS,
    TOKEN_ARRAYS,
    data_items,
    embedding_object,
    float_vector,
)
from conformance.transport.exchange import Exchange


@check("EMB-001", needs="embeddings")
def test_embedding_has_documented_shape(embedding_response: Exchange) -> None:
    exchange = embedding_response
    expect.status(exchange, 200)
    body = expect.json_object(exchange)
    if body.get("object") != "list":
        raise Violation(
            'Wrong "object"',
            pointer="/object",
            expected='"list"',
            actual=expect.short(body.get("object", "(missing)")),
            evidence=exchange,
        )
    expect.field(body, "model", str, "", exchange)
    items = expect.field(body, "data", list, "", exchange)
    if not items:
        raise Violation("No embeddings", pointer="/data", expected="one item per input", actual="[]", evidence=exchange)
    for index, item in enumerate(items):
        pointer = f"/data/{index}"
        if not isinstance(item, dict) or item.get("object") != "embedding":
            raise Violation(
                'An item lacks "object": "embedding"',
                pointer=f"{pointer}/object",
                expected='"embedding"',
                actual=expect.short(item.get("object", "(missing)") if isinstance(item, dict) else item),
                evidence=exchange,
            )
        expect.field(item, "index", int, pointer, exchange)
        expect.field(item, "embedding", (list, str), pointer, exchange)


@check("EMB-002", needs="embeddings")
def test_one_embedding_per_input_in_order(embedding_inputs_3: Exchange) -> None:
    exchange = embedding_inputs_3
    items = data_items(embedding_object(exchange), exchange)
    indexes = [item.get("index") for item in items]
    if sorted(i for i in indexes if isinstance(i, int)) != list(range(len(INPUTS))) or len(indexes) != len(INPUTS):
        raise Violation(
            "Not one embedding per input",
            pointer="/data",
            expected=f"indexes {list(range(len(INPUTS)))}",
            actual=f"indexes {indexes}",
            evidence=exchange,
        )


@check("EMB-003", needs="embeddings")
def test_base64_encoding_is_honoured(embedding_response: Exchange, embedding_base64: Exchange | None) -> None:
    floats = data_items(embedding_object(embedding_response), embedding_response)
    reference = float_vector(floats[0]) if floats else None
    if reference is None:
        raise NotApplicable("no float embedding to compare with (see EMB-001)")
    exchange = embedding_base64
    assert exchange is not None  # sent wherever there is a float embedding to compare with
    items = data_items(embedding_object(exchange), exchange)
    encoded = items[0].get("embedding") if items else None
    if not isinstance(encoded, str):
        raise Violation(
            "encoding_format base64 was ignored",
            pointer="/data/0/embedding",
            expected="a base64 string of float32 values",
            actual=expect.short(encoded, 80),
            evidence=exchange,
        )


@check("EMB-008", needs="embeddings")
def test_base64_decodes_as_the_sdks_decode_it(embedding_response: Exchange, embedding_base64: Exchange | None) -> None:
    """openai-python: ``array.array("f", base64.b64decode(s))`` (or ``np.frombuffer(..., "float32")``);
    openai-node: ``Buffer.from(s, "base64")`` read as a Float32Array -- standard base64, little-endian float32."""
    floats = data_items(embedding_object(embedding_response), embedding_response)
    reference = float_vector(floats[0]) if floats else None
    if reference is None:
        raise NotApplicable("no float embedding to compare with (see EMB-001)")
    exchange = embedding_base64
    assert exchange is not None  # sent wherever there is a float embedding to compare with
    items = data_items(embedding_object(exchange), exchange)
    encoded = items[0].get("embedding") if items else None
    if not isinstance(encoded, str):
        raise NotApplicable("no base64 string to decode (see EMB-003)", see="EMB-003")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise Violation(
            "embedding is not valid base64",
            pointer="/data/0/embedding",
            expected="base64",
            actual=expect.short(encoded, 80),
            evidence=exchange,
        ) from None
    if len(raw) != 4 * len(reference):
        raise Violation(
            "base64 embedding has the wrong length",
            pointer="/data/0/embedding",
            expected=f"{4 * len(reference)} bytes ({len(reference)} float32)",
            actual=f"{len(raw)} bytes",
            evidence=[exchange, embedding_response],
        )
    decoded = struct.unpack(f"<{len(reference)}f", raw)
    worst = max(abs(a - b) for a, b in zip(decoded, reference, strict=True))
    if worst > 1e-5:
        raise Violation(
            "base64 embedding differs from the float embedding",
            pointer="/data/0/embedding",
            expected="equal within 1e-5",
            actual=f"max difference {worst:.3g}",
            evidence=[exchange, embedding_response],
        )


@check("EMB-004", needs="embeddings")
def test_embedding_usage_counts_input(embedding_response: Exchange) -> None:
    body = embedding_object(embedding_response)
    counts = expect.field(body, "usage", dict, "", embedding_response)
    prompt = expect.field(counts, "prompt_tokens", int, "/usage", embedding_response)
    total = expect.field(counts, "total_tokens", int, "/usage", embedding_response)
    if total != prompt or prompt <= 0:
        raise Violation(
            "usage does not count the input",
            pointer="/usage",
            expected="prompt_tokens > 0 and total_tokens == prompt_tokens",
            actual=expect.short(counts),
            evidence=embedding_response,
        )


@check("EMB-005", needs="embeddings")
def test_vectors_are_finite_and_of_one_dimension(embedding_inputs_2: Exchange) -> None:
    exchange = embedding_inputs_2
    items = data_items(embedding_object(exchange), exchange)
    lengths = []
    for index, item in enumerate(items):
        vector = float_vector(item)
        if not vector or not all(math.isfinite(v) for v in vector):
            raise Violation(
                "An embedding is not a non-empty array of finite numbers",
                pointer=f"/data/{index}/embedding",
                expected="[number, ...]",
                actual=expect.short(item.get("embedding"), 80),
                evidence=exchange,
            )
        lengths.append(len(vector))
    if len(set(lengths)) > 1:
        raise Violation(
            "Embeddings of one response differ in dimension",
            pointer="/data",
            expected="one dimension",
            actual=f"lengths {lengths}",
            evidence=exchange,
        )


@check("EMB-006", needs="embeddings")
def test_dimensions_is_honoured_or_declined(embedding_dimensions: Exchange) -> None:
    exchange = embedding_dimensions
    body = expect.served(exchange, f"dimensions {DIMENSIONS}", feature="embeddings")
    for index, item in enumerate(data_items(body, exchange)):
        vector = float_vector(item)
        if vector is None:
            raise NotApplicable("no float embedding (see EMB-005)", see="EMB-005")
        if len(vector) != DIMENSIONS:
            raise Violation(
                "dimensions was accepted and ignored",
                pointer=f"/data/{index}/embedding",
                expected=f"{DIMENSIONS} numbers, or a 4xx declining dimensions",
                actual=f"{len(vector)} numbers",
                evidence=exchange,
            )


@check("EMB-007", needs="embeddings")
def test_token_array_input_is_embedded_or_declined(embedding_token_arrays: Exchange) -> None:
    exchange = embedding_token_arrays
    body = expect.served(exchange, "input as arrays of token ids", feature="embeddings")
    indexes = [item.get("index") for item in data_items(body, exchange)]
    if sorted(i for i in indexes if isinstance(i, int)) != list(range(len(TOKEN_ARRAYS))) or len(indexes) != len(
        TOKEN_ARRAYS
    ):
        raise Violation(
            "Not one embedding per token array",
            pointer="/data",
            expected=f"indexes {list(range(len(TOKEN_ARRAYS)))}: one vector per array of token ids",
            actual=f"indexes {indexes}",
            evidence=exchange,
        )
