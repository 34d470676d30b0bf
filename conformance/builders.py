"""The requests the suite makes, built once and shared: one streamed chat serves every stream check.

These builders are plain functions of the client and the chosen model; the ``@probe`` functions
of ``conformance/probes/<area>.py`` call them, and the engine sends each probe at most once per
run and only if some selected check reads it. Every generation request carries a small
``max_tokens`` (the target's ``max_tokens``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.target import MODEL_CAPABILITIES, Target
from conformance.transport.auth import WRONG_KEY as WRONG_KEY  # re-exported: the probes send it
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange, StreamExchange

CHAT_PROMPT = "Say hello in five words."
COMPLETION_PROMPT = "Say this is a test."
EMBEDDING_INPUT = "The food was delicious and the waiter was kind."
UNKNOWN_MODEL = "oai-conformance-no-such-model-7f3a"

ENDPOINTS = {"chat": "chat/completions", "completions": "completions", "embeddings": "embeddings"}


# -- request bodies -------------------------------------------------------------------------------


def chat_body(model: str, target: Target, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": CHAT_PROMPT}],
        "max_tokens": target.max_tokens,
        "temperature": 0,
    }
    body.update(extra)
    return body


def completion_body(model: str, target: Target, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "prompt": COMPLETION_PROMPT,
        "max_tokens": target.max_tokens,
        "temperature": 0,
    }
    body.update(extra)
    return body


def embedding_body(model: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "input": EMBEDDING_INPUT, "encoding_format": "float"}
    body.update(extra)
    return body


def probe_body(capability: str, model: str) -> dict[str, Any]:
    """The cheapest request that shows whether ``model`` serves ``capability``."""
    if capability == "chat":
        return {"model": model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}
    if capability == "completions":
        return {"model": model, "prompt": "Hi", "max_tokens": 1}
    return {"model": model, "input": "hi"}


# -- model discovery --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelChoice:
    """Which model serves a capability, how we know, and whether the provider offers it at all.

    ``status`` is "available" (given by the user, or answered 2xx when probed), "unsupported" (every
    candidate was declined with a 4xx/501 answer) or "unknown" (nothing to try).
    """

    capability: str
    model: str | None
    how: str
    status: str
    detail: str = ""
    exchanges: tuple[Exchange, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "capability": self.capability,
            "model": self.model,
            "how": self.how,
            "status": self.status,
            "detail": self.detail,
        }


_HINTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # capability: (name fragments that make a model more likely, fragments that rule it out)
    "chat": (
        ("chat", "gpt", "turbo", "instruct-chat", "-it", "llama", "qwen", "mistral", "gemma"),
        ("embed", "rerank", "bge", "minilm"),  # embedding-only families would waste the three probes
    ),
    "completions": (
        ("instruct", "davinci", "babbage", "ft:", "text-", "base", "gpt"),
        ("embed", "rerank", "bge", "minilm"),
    ),
    "embeddings": (("embed", "minilm", "bge", "e5", "gte"), ()),
}
MAX_CANDIDATES = 3


def model_ids(listing: Exchange | None) -> list[str]:
    if listing is None or not listing.ok or listing.status != 200:
        return []
    try:
        data = listing.json().get("data")
    except (ValueError, AttributeError):
        return []
    if not isinstance(data, list):
        return []
    return [item["id"] for item in data if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]]


def rank_candidates(capability: str, ids: list[str]) -> list[str]:
    likely, excluded = _HINTS[capability]

    def score(model: str) -> int:
        lowered = model.lower()
        return -sum(fragment in lowered for fragment in likely)

    usable = [m for m in ids if not any(fragment in m.lower() for fragment in excluded)]
    return sorted(usable, key=score)[:MAX_CANDIDATES]


def choose_model(client: HttpClient, capability: str, listing: Exchange | None) -> ModelChoice:
    given = client.target.models.get(capability)
    if given:
        return ModelChoice(capability, given, "given", "available", "set by the user")
    candidates = rank_candidates(capability, model_ids(listing))
    if not candidates:
        return ModelChoice(
            capability, None, "none", "unknown", f"no model listed by GET /models to try; pass --{_flag(capability)}"
        )
    tried: list[Exchange] = []
    declined = 0
    for model in candidates:
        exchange = client.request("POST", ENDPOINTS[capability], json_body=probe_body(capability, model))
        tried.append(exchange)
        if exchange.ok and exchange.status is not None and 200 <= exchange.status < 300:
            return ModelChoice(
                capability, model, "probed", "available", f"answered POST /{ENDPOINTS[capability]}", tuple(tried)
            )
        if exchange.ok and exchange.status is not None and (400 <= exchange.status < 500 or exchange.status == 501):
            declined += 1
    status = "unsupported" if declined == len(candidates) else "unknown"
    return ModelChoice(
        capability,
        None,
        "probed",
        status,
        f"none of {', '.join(candidates)} answered POST /{ENDPOINTS[capability]}; "
        f"pass --{_flag(capability)} to choose one",
        tuple(tried),
    )


def _flag(capability: str) -> str:
    return {"chat": "chat-model", "completions": "completion-model", "embeddings": "embedding-model"}[capability]


def choose_models(client: HttpClient, listing: Exchange | None) -> dict[str, ModelChoice]:
    return {capability: choose_model(client, capability, listing) for capability in MODEL_CAPABILITIES}


# -- probes -------------------------------------------------------------------------------------------


def list_models(client: HttpClient) -> Exchange:
    return client.request("GET", "models")


def chat(client: HttpClient, model: str, **extra: Any) -> Exchange:
    return client.request("POST", "chat/completions", json_body=chat_body(model, client.target, **extra))


def chat_stream(client: HttpClient, model: str, **extra: Any) -> StreamExchange:
    return client.stream("POST", "chat/completions", json_body=chat_body(model, client.target, stream=True, **extra))


def completion(client: HttpClient, model: str, **extra: Any) -> Exchange:
    return client.request("POST", "completions", json_body=completion_body(model, client.target, **extra))


def completion_stream(client: HttpClient, model: str, **extra: Any) -> StreamExchange:
    return client.stream("POST", "completions", json_body=completion_body(model, client.target, stream=True, **extra))


def embedding(client: HttpClient, model: str, **extra: Any) -> Exchange:
    return client.request("POST", "embeddings", json_body=embedding_body(model, **extra))
