"""The reference provider's models: each one serves exactly one endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from .errors import ApiError, invalid_request

__all__ = [
    "CHAT",
    "COMPLETIONS",
    "EDITS",
    "EMBEDDINGS",
    "MODERATIONS",
    "REFERENCE_MODELS",
    "ReferenceModel",
    "find_model",
    "wrong_endpoint",
]

# Endpoint names, spelled the way OpenAI's error messages spell them.
CHAT: Final = "v1/chat/completions"
COMPLETIONS: Final = "v1/completions"
EMBEDDINGS: Final = "v1/embeddings"
EDITS: Final = "v1/edits"
MODERATIONS: Final = "v1/moderations"


@dataclass(frozen=True, slots=True)
class ReferenceModel:
    id: str
    endpoint: str  # one of CHAT, COMPLETIONS, EMBEDDINGS, EDITS, MODERATIONS
    created: int
    owned_by: str = "oai-conformance"

    def card(self) -> dict[str, Any]:
        """The model object of ``GET /v1/models`` and ``GET /v1/models/{id}``."""
        return {"id": self.id, "object": "model", "created": self.created, "owned_by": self.owned_by}


REFERENCE_MODELS: Final[tuple[ReferenceModel, ...]] = (
    ReferenceModel("ref-chat", CHAT, 1_700_000_000),
    ReferenceModel("ref-instruct", COMPLETIONS, 1_700_000_001),
    # A fine-tuned completion model: the classic "model does not exist" report when used on chat.
    ReferenceModel("ft:ref-instruct:acme::abc123", COMPLETIONS, 1_700_000_002),
    ReferenceModel("ref-embed", EMBEDDINGS, 1_700_000_003),
    # Listed after the original four so model discovery and MODELS-007 see the same first models.
    ReferenceModel("ref-edit", EDITS, 1_700_000_004),
    ReferenceModel("ref-moderation", MODERATIONS, 1_700_000_005),
)

_BY_ID: Final = {model.id: model for model in REFERENCE_MODELS}

_KIND: Final = {
    CHAT: "a chat model",
    COMPLETIONS: "a completion model",
    EMBEDDINGS: "an embedding model",
    EDITS: "an edit model",
    MODERATIONS: "a moderation model",
}


def find_model(model_id: str) -> ReferenceModel | None:
    return _BY_ID.get(model_id)


def _wrong_endpoint_message(model: ReferenceModel, endpoint: str) -> str:
    hint = f"Did you mean to use {model.endpoint}?"
    if endpoint == CHAT:
        # OpenAI's own wording for a completion model on chat.
        return f"This is not a chat model and thus not supported in the {CHAT} endpoint. {hint}"
    if endpoint == COMPLETIONS and model.endpoint == CHAT:
        # OpenAI's own wording for a chat model on the legacy completions endpoint.
        return f"This is a chat model and not supported in the {COMPLETIONS} endpoint. {hint}"
    if endpoint == EMBEDDINGS:
        return (
            f"This is {_KIND[model.endpoint]} and not supported in the {EMBEDDINGS} endpoint. "
            f"This model does not support embeddings. {hint}"
        )
    return f"This is {_KIND[model.endpoint]} and not supported in the {endpoint} endpoint. {hint}"


def wrong_endpoint(model: ReferenceModel, endpoint: str) -> ApiError:
    """404 for a known model called on an endpoint it does not serve, naming the right one."""
    return invalid_request(_wrong_endpoint_message(model, endpoint), param="model", status=404)
