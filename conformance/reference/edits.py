"""Legacy edits (``POST /v1/edits``, served by ``ref-edit``) and engines (``GET /v1/engines``).

The "edit" is deterministic: the first choice is the input as given (the toy model finds nothing to
fix), further choices are sentences from the reference generator; every text ends with a newline,
as OpenAI's edit models answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .catalog import EDITS, REFERENCE_MODELS, ReferenceModel
from .errors import ApiError, invalid_request, missing_parameter
from .model import count_tokens, generate_tokens
from .params import BodyReader, Reject, as_str, int_in, invalid_type, number_in
from .policy import Policy
from .sse import now
from .validation import check_model

__all__ = ["EditRequest", "edit_response", "engine_card", "engine_not_found", "validate_edit"]


@dataclass(frozen=True, slots=True)
class EditRequest:
    model: str
    instruction: str
    input: str
    n: int


def validate_edit(body: Any, policy: Policy) -> EditRequest | ApiError:
    try:
        if not isinstance(body, Mapping):
            raise invalid_type("body", "an object", body)
        model_id = check_model(body, EDITS, policy)
        if body.get("instruction") is None:
            raise Reject(missing_parameter("instruction"))
        instruction = as_str(body["instruction"], "instruction")
        reader = BodyReader(body, strict=policy.validate_params)
        text = reader.optional("input", as_str, "")
        n = reader.optional("n", int_in(1, 20), 1)
        reader.optional("temperature", number_in(0, 2), None)
        reader.optional("top_p", number_in(0, 1), None)
    except Reject as rejected:
        return rejected.error
    return EditRequest(model=model_id, instruction=instruction, input=text, n=n)


def _choice_text(request: EditRequest, index: int) -> str:
    if index == 0 and request.input:
        return request.input if request.input.endswith("\n") else request.input + "\n"
    return "".join(generate_tokens(f"{request.instruction}\x1f{request.input}", index)) + "\n"


def edit_response(request: EditRequest) -> dict[str, Any]:
    texts = [_choice_text(request, index) for index in range(request.n)]
    prompt_tokens = count_tokens(request.instruction) + count_tokens(request.input)
    completion_tokens = sum(count_tokens(text) for text in texts)
    return {
        "object": "edit",
        "created": now(),
        "choices": [{"text": text, "index": index, "finish_reason": "stop"} for index, text in enumerate(texts)],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


# -- engines ---------------------------------------------------------------------------------------


def engine_card(model: ReferenceModel) -> dict[str, Any]:
    """Seed 002's engine (id, object, owner, ready) plus the legacy schema's required ``created``."""
    return {"id": model.id, "object": "engine", "created": model.created, "owner": model.owned_by, "ready": True}


def engines() -> list[dict[str, Any]]:
    """The engines are the reference's own (non-fine-tuned) models."""
    return [engine_card(model) for model in REFERENCE_MODELS]


def engine_not_found(engine_id: str) -> ApiError:
    return invalid_request(f"No such engine: {engine_id}", param="engine_id", code="engine_not_found", status=404)
