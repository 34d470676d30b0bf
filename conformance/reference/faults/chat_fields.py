"""Faults of the optional fields of a chat completion and of its chunks (CHAT-016, CHAT-STREAM-025)."""

from __future__ import annotations

from typing import Any

from ._registry import fault

#: Groq's tier: no value of the documented enum, so strict clients reject the whole response.
ON_DEMAND = "on_demand"


@fault(
    "chat-service-tier-undocumented",
    site="chat.response",
    summary='The chat completion carries "service_tier": "on_demand", no documented value.',
    seen_in="Groq (64bit/async-openai#457, lofcz/LLMTornado#61; divar-ir/ai-doc-gen#18: pydantic rejects it)",
)
def _service_tier_undocumented(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "service_tier": ON_DEMAND}


@fault(
    "stream-service-tier-undocumented",
    site="chat.chunks",
    summary='Every chunk carries "service_tier": "on_demand", no documented value.',
    seen_in="Groq streams (sashirestela/simple-openai#345; the same tier as its non-streamed answers)",
)
def _stream_service_tier_undocumented(value: list[Any], **_: Any) -> list[Any]:
    return [{**item, "service_tier": ON_DEMAND} if isinstance(item, dict) else item for item in value]
