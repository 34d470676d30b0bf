"""Chat completions: plan the choices of a validated request, then render them as a response or chunks."""

from __future__ import annotations

import hashlib
import json
import re
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
#: A call's subject: each double-quoted phrase of the last user turn is one call (parallel tool calls).
_SUBJECT_RE: Final = re.compile(r'"([^"\n]{1,40})"')


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
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: tuple[str, ...] = ()  # the reasoning tokens (conformance/reference/reasoning.py)

    @property
    def content(self) -> str | None:
        return None if self.tool_calls else self.generation.text

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_calls else self.generation.finish_reason

    @property
    def completion_tokens(self) -> int:
        if self.tool_calls:
            return sum(count_tokens(call.name) + count_tokens(call.arguments) for call in self.tool_calls)
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


def _subjects(request: ChatRequest) -> list[str | None]:
    """What each call is about: the double-quoted phrases of the last user turn, one call each (only the
    first with ``parallel_tool_calls`` false); one call about nothing in particular when there are none."""
    found: list[str | None] = list(dict.fromkeys(_SUBJECT_RE.findall(request.last_user_text))) or [None]
    return found if request.parallel_tool_calls else found[:1]


def _tool_calls(request: ChatRequest, tool: Tool, index: int) -> tuple[ToolCall, ...]:
    calls = []
    for position, subject in enumerate(_subjects(request)):
        seed = f"{tool.name}\x1f{index}\x1f{request.prompt_text}" + (f"\x1f{position}" if position else "")
        digest = hashlib.sha256(seed.encode()).hexdigest()
        value = synthesize_arguments(tool.parameters, subject) if subject else synthesize_arguments(tool.parameters)
        calls.append(
            ToolCall(id=f"call_{digest[:24]}", name=tool.name, arguments=json.dumps(value, separators=(",", ":")))
        )
    return tuple(calls)


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
            choices.append(ChatChoice(index, Generation((), "stop"), _tool_calls(request, tool, index)))
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
    if not request.logprobs or choice.tool_calls:
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
        if choice.tool_calls:
            message["tool_calls"] = [call.wire() for call in choice.tool_calls]
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

    if choice.tool_calls:
        # Each call opens with its id, type and name at its own index, then streams its arguments: the deltas
        # openai-python (lib/streaming/_deltas.py) and openai-node (ChatCompletionStream) assemble by index.
        items = []
        for position, call in enumerate(choice.tool_calls):
            function = {"name": call.name, "arguments": ""}
            opening = {"index": position, "id": call.id, "type": "function", "function": function}
            items.append(
                item(
                    {"role": "assistant", "content": None, "tool_calls": [opening]}
                    if not position
                    else {"tool_calls": [opening]}
                )
            )
            items += [
                item({"tool_calls": [{"index": position, "function": {"arguments": fragment}}]})
                for fragment in call.fragments()
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
