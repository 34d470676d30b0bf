"""Legacy text completions: plan the choices of a validated request, render a response or chunks.

Choices are indexed ``prompt_index * n + j``.  With ``echo`` the choice text starts with the prompt
(streamed as one chunk before the generated tokens).  With ``best_of`` > n only ``n`` choices are
generated and returned -- the reference model ranks nothing, so the extra candidates would be discarded
anyway.  ``text_offset`` values are offsets into ``prompt + completion``, as OpenAI reports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from .model import Generation, apply_limits, candidates, generate_tokens, tokenize
from .request_types import CompletionRequest, Prompt
from .sse import DONE, interleave, new_id, now

__all__ = ["CompletionChoice", "completion_chunks", "completion_response", "plan_completion"]

SYSTEM_FINGERPRINT: Final = "fp_ref"


@dataclass(frozen=True, slots=True)
class CompletionChoice:
    index: int
    prompt: Prompt
    generation: Generation
    echo: bool

    @property
    def text(self) -> str:
        return (self.prompt.text if self.echo else "") + self.generation.text


def plan_completion(request: CompletionRequest) -> list[CompletionChoice]:
    choices = []
    for p, prompt in enumerate(request.prompts):
        for j in range(request.n):
            tokens = generate_tokens(prompt.text, j)
            generation = apply_limits(tokens, max_tokens=request.max_tokens, stop=request.stop)
            choices.append(CompletionChoice(p * request.n + j, prompt, generation, request.echo))
    return choices


def _logprob_rows(
    tokens: list[str], start_offset: int, top: int, *, first_is_prompt_start: bool = False
) -> dict[str, list[Any]]:
    """The four parallel ``logprobs`` arrays for ``tokens`` whose text starts at ``start_offset``."""
    rows: dict[str, list[Any]] = {"tokens": [], "token_logprobs": [], "top_logprobs": [], "text_offset": []}
    offset = start_offset
    for position, token in enumerate(tokens):
        rows["tokens"].append(token)
        rows["text_offset"].append(offset)
        offset += len(token)
        if first_is_prompt_start and position == 0:
            # Nothing precedes the first prompt token, so it has no logprob (OpenAI reports null).
            rows["token_logprobs"].append(None)
            rows["top_logprobs"].append(None)
            continue
        # OpenAI always includes the sampled token, so even logprobs=0 yields one entry.
        ranked = candidates(token, position, max(top, 1))
        rows["token_logprobs"].append(ranked[0][1])
        rows["top_logprobs"].append(dict(ranked))
    return rows


def _prompt_rows(choice: CompletionChoice, top: int) -> dict[str, list[Any]]:
    return _logprob_rows(tokenize(choice.prompt.text), 0, top, first_is_prompt_start=True)


def _completion_rows(choice: CompletionChoice, top: int) -> dict[str, list[Any]]:
    return _logprob_rows(list(choice.generation.tokens), len(choice.prompt.text), top)


def _logprobs(request: CompletionRequest, choice: CompletionChoice) -> dict[str, list[Any]] | None:
    if request.logprobs is None:
        return None
    rows = _completion_rows(choice, request.logprobs)
    if choice.echo:
        prompt_rows = _prompt_rows(choice, request.logprobs)
        rows = {key: prompt_rows[key] + rows[key] for key in rows}
    return rows


def _usage(request: CompletionRequest, choices: list[CompletionChoice]) -> dict[str, int]:
    prompt = sum(p.tokens for p in request.prompts)
    completion = sum(len(choice.generation.tokens) for choice in choices)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion_response(request: CompletionRequest, choices: list[CompletionChoice]) -> dict[str, Any]:
    """The non-streamed ``text_completion`` object."""
    return {
        "id": new_id("cmpl"),
        "object": "text_completion",
        "created": now(),
        "model": request.model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": [
            {
                "text": choice.text,
                "index": choice.index,
                "logprobs": _logprobs(request, choice),
                "finish_reason": choice.generation.finish_reason,
            }
            for choice in choices
        ],
        "usage": _usage(request, choices),
    }


def _choice_items(request: CompletionRequest, choice: CompletionChoice) -> list[dict[str, Any]]:
    def item(text: str, logprobs: Any = None, finish: str | None = None) -> dict[str, Any]:
        return {"text": text, "index": choice.index, "logprobs": logprobs, "finish_reason": finish}

    top = request.logprobs
    items = []
    if choice.echo and choice.prompt.text:
        items.append(item(choice.prompt.text, None if top is None else _prompt_rows(choice, top)))
    rows = None if top is None else _completion_rows(choice, top)
    for position, token in enumerate(choice.generation.tokens):
        logprobs = None if rows is None else {key: [values[position]] for key, values in rows.items()}
        items.append(item(token, logprobs))
    items.append(item("", finish=choice.generation.finish_reason))
    return items


def completion_chunks(request: CompletionRequest, choices: list[CompletionChoice]) -> list[dict[str, Any] | str]:
    """Every stream item: ``text_completion`` chunks (one token each, interleaved), then ``[DONE]``."""
    envelope: dict[str, Any] = {
        "id": new_id("cmpl"),
        "object": "text_completion",
        "created": now(),
        "model": request.model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    if request.include_usage:
        envelope["usage"] = None
    merged = interleave([_choice_items(request, choice) for choice in choices])
    items: list[dict[str, Any] | str] = [{**envelope, "choices": [entry]} for entry in merged]
    if request.include_usage:
        items.append({**envelope, "choices": [], "usage": _usage(request, choices)})
    items.append(DONE)
    return items
