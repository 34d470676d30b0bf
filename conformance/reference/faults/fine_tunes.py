"""Faults of the legacy fine-tunes endpoints: jobs, cancel, events and their stream (FT-*).

Most faults act on one route only, so that one fault breaks one rule; the ``*-unsupported-*``
variation models a provider that honestly does not offer the endpoint (404/501 with the error
envelope), which the suite must report UNSUPPORTED and never FAIL.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import ApiError
from ._asgi import declined, on
from ._registry import fault, variation


@fault(
    "fine-tunes-object-job",
    site="fine_tunes.response",
    summary='Legacy fine-tune jobs say "object": "fine_tuning.job" (the newer API\'s object).',
    seen_in="gateways that serve /v1/fine-tunes from the /v1/fine_tuning/jobs back end",
)
def _fine_tunes_object_job(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    return {**value, "object": "fine_tuning.job"} if route in ("create", "retrieve", "cancel") else value


@fault(
    "fine-tunes-training-files-ids",
    site="fine_tunes.response",
    summary="training_files lists bare file ids instead of file objects.",
    seen_in="gateways that map the newer API's training_file string back to the legacy job",
)
def _fine_tunes_training_files_ids(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    if route != "create":
        return value
    return {**value, "training_files": [item.get("id") for item in value.get("training_files", [])]}


@fault(
    "fine-tunes-retrieve-wrong-id",
    site="fine_tunes.response",
    summary="GET /fine-tunes/{id} answers with the upstream job id, not the requested one.",
    seen_in="gateways that map their own job ids onto an upstream provider's",
)
def _fine_tunes_retrieve_wrong_id(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    return {**value, "id": f"ftjob-upstream-{value.get('id')}"} if route == "retrieve" else value


@fault(
    "fine-tunes-list-empty",
    site="fine_tunes.response",
    summary="GET /fine-tunes lists nothing although jobs exist.",
    seen_in="job lists filtered by a tenant the gateway never sets",
)
def _fine_tunes_list_empty(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    return {**value, "data": []} if route == "list" else value


@fault(
    "fine-tunes-cancel-still-running",
    site="fine_tunes.response",
    summary='The cancel answer still reports "status": "running".',
    seen_in="cancel routes that answer the job as it was before the cancellation",
)
def _fine_tunes_cancel_still_running(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    return {**value, "status": "running"} if route == "cancel" else value


@fault(
    "fine-tunes-cancel-ignored",
    site="fine_tunes.response",
    summary="A cancelled job keeps running: retrieving it after the cancellation reports running.",
    seen_in="cancel routes that acknowledge without stopping the worker",
)
def _fine_tunes_cancel_ignored(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    if route == "retrieve" and value.get("status") == "cancelled":
        return {**value, "status": "running"}
    return value


@fault(
    "fine-tunes-events-strings",
    site="fine_tunes.response",
    summary="The event list carries plain log lines instead of fine-tune-event objects.",
    seen_in="job servers that expose their log as the event list",
)
def _fine_tunes_events_strings(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    if route != "events":
        return value
    return {**value, "data": [event.get("message", "") for event in value.get("data", [])]}


@fault(
    "fine-tunes-stream-no-done",
    site="fine_tunes.stream",
    summary="The streamed event list ends without data: [DONE].",
    seen_in="hand-written SSE writers that close the body after the last event",
)
def _fine_tunes_stream_no_done(value: list[Any], **_: Any) -> list[Any]:
    return [item for item in value if item != "[DONE]"]


@fault(
    "fine-tunes-stream-ignored",
    site="asgi",
    summary="stream=true on the events route is dropped: a JSON list comes back, not an event stream.",
    seen_in="proxies that drop query strings",
)
def _fine_tunes_stream_ignored(value: ASGIApp, **_: Any) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and on(scope.get("path", ""), "/events"):
            scope = {**scope, "query_string": b""}
        await value(scope, receive, send)

    return middleware


@fault(
    "fine-tunes-unknown-500",
    site="error",
    summary="Retrieving an unknown fine-tune crashes the server (500) instead of answering 404.",
    seen_in="job stores indexed without a missing-key check (KeyError → 500)",
)
def _fine_tunes_unknown_500(value: tuple[int, Any], *, api_error: ApiError, **_: Any) -> Any:
    if api_error.code == "fine_tune_not_found":
        return 500, {"error": {"message": "Internal server error", "type": "server_error", "param": None, "code": None}}
    return value


@fault(
    "fine-tunes-created-millis",
    site="fine_tunes.response",
    summary="created_at and updated_at of fine-tune jobs are in milliseconds.",
    seen_in="job stores written in JavaScript (Date.now())",
)
def _fine_tunes_created_millis(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    if route not in ("create", "retrieve", "cancel"):
        return value
    return {**value, "created_at": value["created_at"] * 1000, "updated_at": value["updated_at"] * 1000}


@variation(
    "fine-tunes-unsupported-404",
    site="asgi",
    summary="The provider does not offer legacy fine-tunes: every /fine-tunes route is a 404 with the envelope.",
    seen_in="OpenAI itself since the legacy fine-tunes API was shut down (January 2024)",
)
def _fine_tunes_unsupported(value: ASGIApp, **_: Any) -> ASGIApp:
    return declined(value, prefix="fine-tunes", status=404)
