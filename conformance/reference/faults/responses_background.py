"""Faults of background responses and their cancel (RESP-BG-*), each modelled on a real server's or gateway's
bug. They act on the answers of ``GET /responses/{id}`` (route "retrieve") and
``POST /responses/{id}/cancel`` (route "cancel", whose value is the answer or the error refusing it)."""

from __future__ import annotations

from typing import Any

from ..errors import ApiError, invalid_request
from ._registry import fault


@fault(
    "responses-background-completed-empty",
    site="responses.response",
    summary="A polled background response says completed but carries no output and no usage.",
    seen_in="BerriAI/litellm#36275 (background: true with polling_via_cache: completed, output [], usage null)",
)
def _completed_empty(value: Any, *, route: str = "", **_: Any) -> Any:
    if route == "retrieve" and value.get("background") is True and value.get("status") == "completed":
        return {**value, "output": [], "usage": None}
    return value


@fault(
    "responses-cancel-again-refused",
    site="responses.response",
    summary="Cancelling a background response that has already finished or been cancelled is refused with a 400 "
    '"Cannot cancel a synchronous response." instead of answering the final response.',
    seen_in='vllm-project/vllm#57999 (a finished or already cancelled background response is "synchronous")',
)
def _cancel_again_refused(value: Any, *, route: str = "", terminal: bool = False, **_: Any) -> Any:
    if route == "cancel" and terminal and isinstance(value, dict):
        return invalid_request("Cannot cancel a synchronous response.")
    return value


@fault(
    "responses-cancel-foreground-accepted",
    site="responses.response",
    summary="A response created without background is 'cancelled': the cancel answers 200 with it unchanged.",
    seen_in="sgl-project/sglang#38002 (the cancel endpoint gates on status only, not on background)",
)
def _cancel_foreground_accepted(value: Any, *, route: str = "", stored: Any = None, **_: Any) -> Any:
    if route == "cancel" and isinstance(value, ApiError) and isinstance(stored, dict):
        return stored
    return value
