"""Normalised requests: what validation hands to the response builders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ChatRequest", "CompletionRequest", "EmbeddingRequest", "Prompt", "Tool"]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    parameters: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Prompt:
    """One prompt (completions) or input (embeddings): its text and how many tokens it counts for."""

    text: str
    tokens: int


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    prompt_text: str  # every message's role and text; seeds the generator
    prompt_tokens: int
    last_user_text: str  # the last message's text when a user sent it; empty after a tool result
    n: int = 1
    stop: tuple[str, ...] = ()
    max_tokens: int | None = None  # min(max_tokens, max_completion_tokens) when both are given
    logprobs: bool = False
    top_logprobs: int = 0
    tools: tuple[Tool, ...] = ()
    tool_choice: str | None = None  # "none" | "auto" | "required" | None (=default)
    named_tool: str | None = None  # tool_choice {"type": "function", "function": {"name": ...}}
    parallel_tool_calls: bool = True  # False: at most one call
    response_format: str = "text"  # "text" | "json_object" | "json_schema"
    json_schema: dict[str, Any] | None = None
    reasoning_effort: str | None = None  # "none" | "minimal" | "low" | "medium" | "high" | "xhigh"
    reasoning_field: str = "reasoning_content"  # Policy.reasoning_field
    stream: bool = False
    include_usage: bool = False
    sampling: dict[str, Any] = field(default_factory=dict)  # validated, deliberately without effect


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    model: str
    prompts: tuple[Prompt, ...]
    n: int = 1
    best_of: int = 1
    stop: tuple[str, ...] = ()
    max_tokens: int | None = 16
    echo: bool = False
    logprobs: int | None = None
    stream: bool = False
    include_usage: bool = False
    sampling: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EmbeddingRequest:
    model: str
    inputs: tuple[Prompt, ...]
    encoding_format: str = "float"
    dimensions: int | None = None
