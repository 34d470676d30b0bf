"""The deterministic "model": tokenizer, text generator, logprobs, tool arguments, embeddings.

Everything here is a pure function of its arguments; sampling parameters (temperature, top_p,
seed, penalties) deliberately have no effect, so identical inputs always give identical outputs.

Tokenizer: ``re.findall(r"\\s*\\S+|\\s+", text)`` -- a token is a run of non-space characters with
the whitespace before it; trailing whitespace is one final token.  Tokenizing is lossless
(``"".join(tokenize(t)) == t``).  Token ids (for integer prompts) map onto :data:`WORDS`.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "EMBEDDING_DIMENSIONS",
    "WORDS",
    "Generation",
    "apply_limits",
    "candidates",
    "count_tokens",
    "decode_token_ids",
    "embed",
    "embedding_to_base64",
    "generate_tokens",
    "synthesize_arguments",
    "synthesize_value",
    "token_logprob",
    "tokenize",
]

_TOKEN_RE: Final = re.compile(r"\s*\S+|\s+")

#: The generator's whole vocabulary (60 plain English words).
WORDS: Final[tuple[str, ...]] = (
    "the", "quick", "model", "answers", "every", "request", "with", "plain", "words", "and",
    "a", "calm", "steady", "voice", "while", "tests", "check", "each", "field", "in",
    "order", "so", "that", "clients", "can", "trust", "what", "they", "read", "from",
    "this", "small", "server", "today", "because", "simple", "rules", "make", "clear", "results",
    "for", "people", "who", "build", "tools", "on", "open", "standards", "like", "json",
    "streams", "of", "tokens", "arrive", "one", "at", "time", "until", "done", "here",
)  # fmt: skip

#: Native dimension of ``ref-embed`` vectors.
EMBEDDING_DIMENSIONS: Final = 32

_MIN_WORDS: Final = 8
_MAX_WORDS: Final = 14


def tokenize(text: str) -> list[str]:
    return _TOKEN_RE.findall(text)


def count_tokens(text: str) -> int:
    return len(_TOKEN_RE.findall(text))


def decode_token_ids(ids: Sequence[int]) -> str:
    """Text of an integer prompt: each id names a word of :data:`WORDS` (modulo its size)."""
    return " ".join(WORDS[token_id % len(WORDS)] for token_id in ids)


def _byte_stream(*parts: str) -> Iterator[int]:
    """An endless deterministic byte sequence seeded by ``parts`` (sha256 in counter mode)."""
    seed = "\x1f".join(parts).encode()
    counter = 0
    while True:
        yield from hashlib.sha256(counter.to_bytes(4, "big") + seed).digest()
        counter += 1


def generate_tokens(prompt: str, index: int) -> list[str]:
    """A natural-length sentence of 8-14 tokens for ``prompt`` and choice ``index``.

    The first token has no leading space, later ones are ``" word"``, the last ends with ``"."``.
    """
    stream = _byte_stream("generate", str(index), prompt)
    length = _MIN_WORDS + next(stream) % (_MAX_WORDS - _MIN_WORDS + 1)
    words = [WORDS[next(stream) % len(WORDS)] for _ in range(length)]
    tokens = [words[0].capitalize(), *(f" {word}" for word in words[1:])]
    tokens[-1] += "."
    return tokens


@dataclass(frozen=True, slots=True)
class Generation:
    """One choice's output tokens and why generation ended ("stop" or "length")."""

    tokens: tuple[str, ...]
    finish_reason: str

    @property
    def text(self) -> str:
        return "".join(self.tokens)


def apply_limits(tokens: Sequence[str], *, max_tokens: int | None, stop: Sequence[str]) -> Generation:
    """Truncate to ``max_tokens`` (finish "length"), then cut before the earliest stop sequence.

    The stop sequence itself is never part of the output.  A token that straddles the cut is kept
    partially, so streamed tokens always concatenate to the non-streamed text.
    """
    kept = list(tokens)
    finish = "stop"
    if max_tokens is not None and len(kept) > max_tokens:
        kept = kept[:max_tokens]
        finish = "length"
    text = "".join(kept)
    cut = min((text.find(s) for s in stop if s and s in text), default=-1)
    if cut >= 0:
        finish = "stop"
        cut_tokens: list[str] = []
        used = 0
        for token in kept:
            if used + len(token) <= cut:
                cut_tokens.append(token)
                used += len(token)
                continue
            if cut > used:
                cut_tokens.append(token[: cut - used])
            break
        kept = cut_tokens
    return Generation(tuple(kept), finish)


def _unit(*parts: str) -> float:
    """A deterministic number in [0, 1)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def token_logprob(token: str, position: int) -> float:
    """The chosen token's logprob: deterministic, in (-0.5, 0]."""
    # `+ 0.0` turns a -0.0 into 0.0 so the wire never shows "-0.0".
    return round(-0.5 * _unit("logprob", str(position), token), 6) + 0.0


def candidates(token: str, position: int, count: int) -> list[tuple[str, float]]:
    """``count`` (token, logprob) pairs, distinct tokens, sorted descending, the chosen token first."""
    if count <= 0:
        return []
    chosen = token_logprob(token, position)
    result = [(token, chosen)]
    prefix = token[: len(token) - len(token.lstrip())]
    start = int(_unit("alternatives", str(position), token) * len(WORDS))
    logprob = chosen
    for offset in range(len(WORDS)):
        if len(result) >= count:
            break
        alternative = prefix + WORDS[(start + offset) % len(WORDS)]
        if alternative == token:
            continue
        logprob = round(logprob - 0.75 - _unit("gap", str(position), alternative), 6)
        result.append((alternative, logprob))
    return result


def synthesize_value(schema: Any, string_value: str = "ref") -> Any:
    """A value that satisfies a (simple) JSON schema.

    string -> ``string_value``, integer -> 1, number -> 1.5, boolean -> true, array -> [],
    enum -> its first value, const -> the constant, object -> every property filled recursively
    (``{}`` when it declares none); anyOf/oneOf/allOf take their first branch.
    """
    if not isinstance(schema, dict):
        return string_value
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        branches = schema.get(combinator)
        if isinstance(branches, list) and branches:
            return synthesize_value(branches[0], string_value)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None and isinstance(schema.get("properties"), dict):
        kind = "object"
    if kind == "object":
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return {}
        return {str(name): synthesize_value(sub, string_value) for name, sub in properties.items()}
    simple: dict[str, Any] = {"integer": 1, "number": 1.5, "boolean": True, "array": [], "null": None}
    return simple.get(kind, string_value) if isinstance(kind, str) else string_value


def synthesize_arguments(parameters: Any, string_value: str = "ref") -> dict[str, Any]:
    """Tool-call arguments for a function's ``parameters`` schema (always a JSON object); strings are
    ``string_value`` (the call's subject)."""
    value = synthesize_value(parameters if isinstance(parameters, dict) else {"type": "object"}, string_value)
    return value if isinstance(value, dict) else {}


def _float32(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", value))[0]


def embed(text: str, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """A unit-length vector derived from sha256 of ``text``; truncated to ``dimensions`` then re-normalised.

    Components are exactly representable as float32, so the base64 form decodes to the same numbers.
    """
    stream = _byte_stream("embed", text)
    raw = [((next(stream) << 8 | next(stream)) / 65535.0) * 2.0 - 1.0 for _ in range(EMBEDDING_DIMENSIONS)]
    vector = raw[:dimensions]
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [_float32(x / norm) for x in vector]


def embedding_to_base64(vector: Sequence[float]) -> str:
    """Base64 of the little-endian float32 array, as OpenAI's ``encoding_format: "base64"``."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
