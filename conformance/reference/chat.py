"""Chat completions: plan the choices of a validated request, then render them as a response or chunks."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Final

from .model import (
    Generation,
    apply_limits,
    candidates,
    count_tokens,
    generate_tokens,
    synthesize_arguments,
    synthesize_value,
    tokenize,
)
from .reasoning import budget
from .request_types import ChatRequest, Tool
from .sse import DONE, interleave, new_id, now

__all__ = ["ChatChoice", "ToolCall", "chat_chunks", "chat_response", "plan_chat"]

SYSTEM_FINGERPRINT: Final = "fp_ref"
#: Streamed tool-call arguments are split into fragments of this many characters.
ARGUMENT_FRAGMENT: Final = 8


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # a JSON object, serialised

    def fragments(self) -> list[str]:
        return [self.arguments[i : i + ARGUMENT_FRAGMENT] for i in range(0, len(self.arguments), ARGUMENT_FRAGMENT)]

    def wire(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


@dataclass(frozen=True, slots=True)
class ChatChoice:
    index: int
    generation: Generation
    tool_call: ToolCall | None = None
    reasoning: tuple[str, ...] = ()  # the reasoning tokens (conformance/reference/reasoning.py)

    @property
    def content(self) -> str | None:
        return None if self.tool_call else self.generation.text

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_call else self.generation.finish_reason

    @property
    def completion_tokens(self) -> int:
        if self.tool_call:
            return count_tokens(self.tool_call.name) + count_tokens(self.tool_call.arguments)
        return len(self.reasoning) + len(self.generation.tokens)


def _called_tool(request: ChatRequest) -> Tool | None:
    """Which tool (if any) the reply calls: named, required, or "auto" with its name in the last turn, when a
    user sent it (a conversation that ends with a tool result is answered with text)."""
    if not request.tools or request.tool_choice == "none":
        return None
    if request.named_tool is not None:
        return next(tool for tool in request.tools if tool.name == request.named_tool)
    mentioned = next((t for t in request.tools if t.name.lower() in request.last_user_text.lower()), None)
    if request.tool_choice == "required":
        return mentioned or request.tools[0]
    return mentioned


def _content_tokens(request: ChatRequest, index: int) -> list[str]:
    tokens = generate_tokens(request.prompt_text, index)
    if request.response_format == "text":
        return tokens
    sentence = "".join(tokens)
    schema = request.json_schema if request.response_format == "json_schema" else None
    value = synthesize_value(schema, sentence) if schema and schema.get("properties") else None
    if not isinstance(value, dict):
        value = {"answer": sentence}
    return tokenize(json.dumps(value))


def plan_chat(request: ChatRequest) -> list[ChatChoice]:
    """Every choice's output; identical requests always plan identical choices."""
    tool = _called_tool(request)
    choices = []
    for index in range(request.n):
        if tool is not None:
            digest = hashlib.sha256(f"{tool.name}\x1f{index}\x1f{request.prompt_text}".encode()).hexdigest()
            arguments = json.dumps(synthesize_arguments(tool.parameters), separators=(",", ":"))
            call = ToolCall(id=f"call_{digest[:24]}", name=tool.name, arguments=arguments)
            choices.append(ChatChoice(index, Generation((), "stop"), call))
            continue
        reasoning, max_tokens = budget(request)
        generation = apply_limits(_content_tokens(request, index), max_tokens=max_tokens, stop=request.stop)
        choices.append(ChatChoice(index, generation, reasoning=reasoning))
    return choices


def _logprob_entry(token: str, position: int, top: int) -> dict[str, Any]:
    def entry(text: str, logprob: float) -> dict[str, Any]:
        return {"token": text, "logprob": logprob, "bytes": list(text.encode())}

    ranked = candidates(token, position, max(top, 1))
    return {**entry(*ranked[0]), "top_logprobs": [entry(*pair) for pair in ranked[:top]]}


def _logprobs(request: ChatRequest, choice: ChatChoice) -> dict[str, Any] | None:
    if not request.logprobs or choice.tool_call:
        return None
    content = [_logprob_entry(tok, pos, request.top_logprobs) for pos, tok in enumerate(choice.generation.tokens)]
    return {"content": content, "refusal": None}


def _usage(request: ChatRequest, choices: list[ChatChoice]) -> dict[str, Any]:
    completion = sum(choice.completion_tokens for choice in choices)
    prompt = request.prompt_tokens
    total = prompt + completion
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}
    if request.reasoning_effort is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": sum(len(choice.reasoning) for choice in choices)}
    return usage


def chat_response(request: ChatRequest, choices: list[ChatChoice]) -> dict[str, Any]:
    """The non-streamed ``chat.completion`` object."""
    rendered = []
    for choice in choices:
        message: dict[str, Any] = {"role": "assistant", "content": choice.content, "refusal": None}
        if choice.tool_call:
            message["tool_calls"] = [choice.tool_call.wire()]
        if choice.reasoning:
            message[request.reasoning_field] = "".join(choice.reasoning)
        rendered.append(
            {
                "index": choice.index,
                "message": message,
                "logprobs": _logprobs(request, choice),
                "finish_reason": choice.finish_reason,
            }
        )
    return {
        "id": new_id("chatcmpl"),
        "object": "chat.completion",
        "created": now(),
        "model": request.model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": rendered,
        "usage": _usage(request, choices),
    }


def _choice_deltas(request: ChatRequest, choice: ChatChoice) -> list[dict[str, Any]]:
    """One choice's stream as ``choices[]`` entries: opening delta, one per token, closing delta."""

    def item(delta: dict[str, Any], logprobs: Any = None, finish: str | None = None) -> dict[str, Any]:
        return {"index": choice.index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}

    call = choice.tool_call
    if call is not None:
        opening = {"index": 0, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        items = [item({"role": "assistant", "content": None, "tool_calls": [opening]})]
        items += [
            item({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]}) for fragment in call.fragments()
        ]
    else:
        items = [item({"role": "assistant", "content": ""})]
        items += [item({request.reasoning_field: token}) for token in choice.reasoning]
        for position, token in enumerate(choice.generation.tokens):
            logprobs = None
            if request.logprobs:
                logprobs = {"content": [_logprob_entry(token, position, request.top_logprobs)], "refusal": None}
            items.append(item({"content": token}, logprobs))
    items.append(item({}, finish=choice.finish_reason))
    return items


def chat_chunks(request: ChatRequest, choices: list[ChatChoice]) -> list[dict[str, Any] | str]:
    """Every stream item: ``chat.completion.chunk`` dicts (choices interleaved round-robin), then ``[DONE]``."""
    envelope = {
        "id": new_id("chatcmpl"),
        "object": "chat.completion.chunk",
        "created": now(),
        "model": request.model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    if request.include_usage:
        envelope["usage"] = None
    merged = interleave([_choice_deltas(request, choice) for choice in choices])
    items: list[dict[str, Any] | str] = [{**envelope, "choices": [entry]} for entry in merged]
    if request.include_usage:
        items.append({**envelope, "choices": [], "usage": _usage(request, choices)})
    items.append(DONE)
    return items
