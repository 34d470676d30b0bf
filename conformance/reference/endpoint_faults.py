"""Faults of the images, moderations, files, fine-tunes, edits, engines and model-delete endpoints.

Sites these endpoints add (``value`` and context; see :mod:`.faults` for the common ones):

``images.request``
    The parameters dict (JSON body of a generation, text fields of an edit or variation) before
    validation; ctx ``route="generations"|"edits"|"variations"``.
``images.response`` / ``moderations.response`` / ``edits.response``
    The response dict (ctx ``route=`` and ``base_url=`` for images, ``request=`` the body otherwise).
``files.request``
    The text fields of an upload before validation (ctx ``route="upload"``).
``files.response`` / ``fine_tunes.response`` / ``engines.response``
    The response dict; ctx ``route=`` says which operation ("upload", "list", "retrieve" for files;
    "create", "list", "retrieve", "cancel", "events" for fine-tunes; "list", "retrieve" for engines).
``files.content``
    ``(bytes, media_type)`` of ``GET /files/{id}/content`` (ctx ``file=`` the stored file).
``files.delete`` / ``models.delete``
    ``(status, payload or None for an empty body, really_delete)`` of a DELETE that found its object
    (ctx ``file_id=`` / ``model_id=``).
``fine_tunes.stream``
    The items of a streamed event list: event dicts, then ``"[DONE]"`` (ctx ``request=``).

Most faults act on one route only, so that one fault breaks one rule; the ``*-unsupported-*``
variations model a provider that honestly does not offer an endpoint (404/501 with the error
envelope), which the suite must report UNSUPPORTED and never FAIL.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import ApiError
from .faults import _on, _rewriting, _without, fault, variation
from .images import SIZES

_ENVELOPE_HEADERS = {"content-type": "application/json"}


def _envelope(message: str, *, code: str | None = None, kind: str = "invalid_request_error") -> bytes:
    return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}}).encode()


def _declined(value: ASGIApp, *, prefix: str, status: int) -> ASGIApp:
    """Answer every request under ``/v1/<prefix>`` with ``status`` and the error envelope, as a provider does
    that does not offer the endpoint (the routes of the app are never reached)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(f"/v1/{prefix}"):
            await value(scope, receive, send)
            return
        while True:  # take the request body off the wire, as a real server's router does
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        where = f"{scope['method']} {path}"
        message = f"Invalid URL ({where})" if status == 404 else f"Not implemented: {where}"
        body = _envelope(message, code=None if status == 404 else "not_implemented")
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return middleware


# images ---------------------------------------------------------------------------------------------------


@fault(
    "images-sd-webui-shape",
    site="images.response",
    summary='Image generation answers {"images": [<base64>...], "parameters": {...}} instead of {created, data}.',
    seen_in="AUTOMATIC1111 stable-diffusion-webui /sdapi/v1/txt2img shape passed through by thin wrappers",
)
def _images_sd_webui_shape(value: dict[str, Any], *, route: str = "", **_: Any) -> Any:
    if route != "generations":
        return value
    images = [item.get("b64_json") or item.get("url") for item in value.get("data", [])]
    return {"images": images, "parameters": {"steps": 20}, "info": "{}"}


@fault(
    "images-ignores-n",
    site="images.request",
    summary="Image generation returns one image whatever n asks for.",
    seen_in="gateways fronting DALL·E 3 (n=1 only) that drop n instead of refusing it",
)
def _images_ignores_n(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    return _without(value, "n") if route == "generations" else value


@fault(
    "images-b64-returns-url",
    site="images.request",
    summary="response_format b64_json is ignored: image generation answers URLs.",
    seen_in="proxies that only implement the default response_format (url)",
)
def _images_b64_returns_url(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    return _without(value, "response_format") if route == "generations" else value


@fault(
    "images-b64-data-uri",
    site="images.response",
    summary='b64_json carries a data URI ("data:image/png;base64,...") instead of bare base64.',
    seen_in="web-UI wrappers that hand their <img src> value to the API",
)
def _images_b64_data_uri(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    if route != "generations":
        return value

    def wrap(item: dict[str, Any]) -> dict[str, Any]:
        return {**item, "b64_json": "data:image/png;base64," + item["b64_json"]} if "b64_json" in item else item

    return {**value, "data": [wrap(item) for item in value.get("data", [])]}


@fault(
    "images-ignore-size",
    site="images.request",
    summary="Image generation ignores size: every image is 512x512 (the model's native resolution).",
    seen_in="Stable Diffusion back ends behind OpenAI-style image routes (fixed native resolution)",
)
def _images_ignore_size(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    # A valid size is replaced after validation would have accepted it; an invalid one is still refused.
    if route == "generations" and value.get("size") in SIZES:
        return {**value, "size": "512x512"}
    return value


@fault(
    "images-default-b64",
    site="images.request",
    summary="Without response_format, image generation answers b64_json (the documented default is url).",
    seen_in="local image servers that default to inline base64",
)
def _images_default_b64(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    if route == "generations" and value.get("response_format") is None:
        return {**value, "response_format": "b64_json"}
    return value


@fault(
    "images-relative-url",
    site="images.response",
    summary="Image URLs are relative paths (/v1/_images/...) instead of absolute URLs.",
    seen_in="self-hosted servers that return their static-file path",
)
def _images_relative_url(value: dict[str, Any], *, route: str = "", base_url: str = "", **_: Any) -> Any:
    if route != "generations":
        return value

    def relative(item: dict[str, Any]) -> dict[str, Any]:
        url = item.get("url")
        return (
            {**item, "url": "/" + url[len(base_url) :]} if isinstance(url, str) and url.startswith(base_url) else item
        )

    return {**value, "data": [relative(item) for item in value.get("data", [])]}


@fault(
    "images-url-not-served",
    site="images.response",
    summary="Image URLs point at a path the server does not serve (the file is never published): 404.",
    seen_in="LocalAI-style generated-images directories not exposed behind a reverse proxy",
)
def _images_url_not_served(value: dict[str, Any], *, route: str = "", **_: Any) -> Any:
    if route != "generations":
        return value

    def unpublished(item: dict[str, Any]) -> dict[str, Any]:
        url = item.get("url")
        return {**item, "url": url.replace("/v1/_images/", "/generated-images/")} if isinstance(url, str) else item

    return {**value, "data": [unpublished(item) for item in value.get("data", [])]}


@fault(
    "images-edits-rejects-multipart",
    site="asgi",
    summary="POST /images/edits only parses JSON: the documented multipart upload gets a 400.",
    seen_in="gateways that proxy every route as JSON (multipart image edits unsupported)",
)
def _images_edits_rejects_multipart(value: ASGIApp, **_: Any) -> ASGIApp:
    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes) -> Any:
        if _on(scope["path"], "/images/edits"):
            return 400, dict(_ENVELOPE_HEADERS), _envelope("Expecting value: line 1 column 1 (char 0)")
        return None

    return _rewriting(value, rewrite)


@fault(
    "images-variations-ignores-n",
    site="images.request",
    summary="Image variations return one image whatever n asks for.",
    seen_in="gateways that map variations onto a single-image upstream call",
)
def _images_variations_ignores_n(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    return _without(value, "n") if route == "variations" else value


@fault(
    "images-size-unchecked",
    site="images.request",
    summary="An unsupported size is not refused: a 1024x1024 image comes back instead.",
    seen_in="servers that fall back to a default resolution silently",
)
def _images_size_unchecked(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    if value.get("size") is not None and value.get("size") not in SIZES:
        return {**value, "size": "1024x1024"}
    return value


@variation(
    "images-unsupported-404",
    site="asgi",
    summary="The provider does not offer images: every /images route is a 404 with the error envelope.",
    seen_in="text-only OpenAI-compatible servers (vLLM, llama.cpp server)",
)
def _images_unsupported(value: ASGIApp, **_: Any) -> ASGIApp:
    return _declined(value, prefix="images/", status=404)


# moderations ----------------------------------------------------------------------------------------------


@fault(
    "moderation-results-object",
    site="moderations.response",
    summary="results is a single object instead of an array of results.",
    seen_in="hand-written moderation shims that classify one input",
)
def _moderation_results_object(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    results = value.get("results") or [{}]
    return {**value, "results": results[0]}


def _underscored(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key.replace("/", "_").replace("-", "_"): item for key, item in mapping.items()}


@fault(
    "moderation-categories-underscored",
    site="moderations.response",
    summary='Category keys use SDK attribute names ("self_harm", "hate_threatening"), not the wire names.',
    seen_in="servers that serialise openai-python's pydantic models without by_alias=True",
)
def _moderation_categories_underscored(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    def rename(result: dict[str, Any]) -> dict[str, Any]:
        return {
            **result,
            "categories": _underscored(result.get("categories", {})),
            "category_scores": _underscored(result.get("category_scores", {})),
        }

    return {**value, "results": [rename(result) for result in value.get("results", [])]}


@fault(
    "moderation-scores-percent",
    site="moderations.response",
    summary="category_scores are percentages (0-100), not probabilities (0-1).",
    seen_in="moderation adapters over classifiers that report percentages",
)
def _moderation_scores_percent(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    def scale(result: dict[str, Any]) -> dict[str, Any]:
        scores = {key: round(score * 100, 4) for key, score in result.get("category_scores", {}).items()}
        return {**result, "category_scores": scores}

    return {**value, "results": [scale(result) for result in value.get("results", [])]}


@fault(
    "moderation-flagged-false",
    site="moderations.response",
    summary="flagged is always false, even when a category is true.",
    seen_in="adapters that compute categories but hard-code flagged",
)
def _moderation_flagged_false(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "results": [{**result, "flagged": False} for result in value.get("results", [])]}


@fault(
    "moderation-first-input-only",
    site="moderations.response",
    summary="An array input is classified as its first string only: one result for several inputs.",
    seen_in="moderation shims that read input as a string",
)
def _moderation_first_input_only(value: dict[str, Any], *, request: Any = None, **_: Any) -> dict[str, Any]:
    if isinstance(request, dict) and isinstance(request.get("input"), list):
        return {**value, "results": value.get("results", [])[:1]}
    return value


@fault(
    "moderation-never-flags",
    site="moderations.response",
    summary="A stub classifier: every category false and every score 0, whatever the input.",
    seen_in="OpenAI-compatible servers that expose /moderations as a placeholder",
)
def _moderation_never_flags(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    def clear(result: dict[str, Any]) -> dict[str, Any]:
        return {
            "flagged": False,
            "categories": dict.fromkeys(result.get("categories", {}), False),
            "category_scores": dict.fromkeys(result.get("category_scores", {}), 0.0),
        }

    return {**value, "results": [clear(result) for result in value.get("results", [])]}


@variation(
    "moderations-unsupported-501",
    site="asgi",
    summary="The provider does not offer moderations: 501 with the error envelope.",
    seen_in="gateways that list the route but have no classifier behind it",
)
def _moderations_unsupported(value: ASGIApp, **_: Any) -> ASGIApp:
    return _declined(value, prefix="moderations", status=501)


# files ----------------------------------------------------------------------------------------------------


@fault(
    "files-upload-thin",
    site="files.response",
    summary="An upload answers only {id, object}: no bytes, created_at, filename or purpose.",
    seen_in="minimal file stores in OpenAI-compatible gateways",
)
def _files_upload_thin(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    return {"id": value.get("id"), "object": "file"} if route == "upload" else value


@fault(
    "files-bytes-zero",
    site="files.response",
    summary="An uploaded file reports bytes 0 (the size is filled in later, if ever).",
    seen_in="stores that stream uploads to object storage and answer before the size is known",
)
def _files_bytes_zero(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    return {**value, "bytes": 0} if route == "upload" else value


@fault(
    "files-list-bare-array",
    site="files.response",
    summary="GET /files answers a bare JSON array, not {object: list, data}.",
    seen_in="file routes built on a database query serialised as is",
)
def _files_list_bare_array(value: dict[str, Any], *, route: str = "", **_: Any) -> Any:
    return value.get("data", []) if route == "list" else value


@fault(
    "files-list-omits-new",
    site="files.response",
    summary="GET /files is served from a cache: files uploaded in the last minutes are missing.",
    seen_in="caching proxies in front of the file list",
)
def _files_list_omits_new(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    if route != "list":
        return value
    fresh = int(time.time()) - 300
    return {**value, "data": [item for item in value.get("data", []) if item.get("created_at", 0) < fresh]}


@fault(
    "files-retrieve-list",
    site="files.response",
    summary="GET /files/{id} answers a list (a prefix-matching router sends it to the list handler).",
    seen_in="routers that match /files as a prefix",
)
def _files_retrieve_list(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    return {"object": "list", "data": [value]} if route == "retrieve" else value


@fault(
    "files-content-json",
    site="files.content",
    summary="GET /files/{id}/content answers a JSON object describing the file, not its bytes.",
    seen_in="gateways that answer the content route with the file object",
)
def _files_content_json(value: tuple[bytes, str], *, file: Any = None, **_: Any) -> tuple[bytes, str]:
    content, _media_type = value
    payload = {"object": "file.content", "id": getattr(file, "id", None), "content": content.decode("utf-8", "replace")}
    return json.dumps(payload).encode(), "application/json"


@fault(
    "files-delete-no-content",
    site="files.delete",
    summary="DELETE /files/{id} answers 204 No Content instead of the deletion object.",
    seen_in="REST frameworks' default for DELETE",
)
def _files_delete_no_content(value: tuple[int, Any, bool], **_: Any) -> tuple[int, Any, bool]:
    return 204, None, value[2]


@fault(
    "files-delete-noop",
    site="files.delete",
    summary='DELETE /files/{id} answers "deleted": true but keeps the file.',
    seen_in="soft-delete stores whose reads ignore the deleted flag",
)
def _files_delete_noop(value: tuple[int, Any, bool], **_: Any) -> tuple[int, Any, bool]:
    return value[0], value[1], False


@fault(
    "files-purpose-optional",
    site="files.request",
    summary='An upload without purpose is accepted (as "fine-tune") instead of refused.',
    seen_in="file stores that default the documented required purpose",
)
def _files_purpose_optional(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    if route == "upload" and "purpose" not in value:
        return {**value, "purpose": "fine-tune"}
    return value


@variation(
    "files-unsupported-404",
    site="asgi",
    summary="The provider does not offer files: every /files route is a 404 with the error envelope.",
    seen_in="inference-only OpenAI-compatible servers",
)
def _files_unsupported(value: ASGIApp, **_: Any) -> ASGIApp:
    return _declined(value, prefix="files", status=404)


# fine-tunes -----------------------------------------------------------------------------------------------


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
        if scope["type"] == "http" and _on(scope.get("path", ""), "/events"):
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
    return _declined(value, prefix="fine-tunes", status=404)


# edits ----------------------------------------------------------------------------------------------------


@fault(
    "edits-object-text-completion",
    site="edits.response",
    summary='Edits say "object": "text_completion" (the endpoint is served by the completions code).',
    seen_in="servers that implement /v1/edits by rewriting to /v1/completions",
)
def _edits_object_text_completion(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "object": "text_completion"}


@fault(
    "edits-choices-message",
    site="edits.response",
    summary="Edit choices carry a chat message instead of text.",
    seen_in="servers that implement /v1/edits by rewriting to /v1/chat/completions",
)
def _edits_choices_message(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    def as_message(choice: dict[str, Any]) -> dict[str, Any]:
        message = {"role": "assistant", "content": choice.get("text", "")}
        return {**_without(choice, "text"), "message": message}

    return {**value, "choices": [as_message(choice) for choice in value.get("choices", [])]}


@fault(
    "edits-no-usage",
    site="edits.response",
    summary="Edits carry no usage.",
    seen_in="servers that do not count tokens on legacy routes",
)
def _edits_no_usage(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return _without(value, "usage")


@fault(
    "edits-ignores-n",
    site="edits.response",
    summary="Edits answer one choice whatever n is.",
    seen_in="edit routes served by single-choice back ends",
)
def _edits_ignores_n(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "choices": value.get("choices", [])[:1]}


@variation(
    "edits-unsupported-404",
    site="asgi",
    summary="The provider does not offer edits: POST /edits is a 404 with the error envelope.",
    seen_in="OpenAI itself since the edits endpoint was shut down (January 2024)",
)
def _edits_unsupported(value: ASGIApp, **_: Any) -> ASGIApp:
    return _declined(value, prefix="edits", status=404)


# engines --------------------------------------------------------------------------------------------------


@fault(
    "engines-bare-array",
    site="engines.response",
    summary="GET /engines answers a bare JSON array, not {object: list, data}.",
    seen_in="legacy routes kept alive by hand in gateways",
)
def _engines_bare_array(value: dict[str, Any], *, route: str = "", **_: Any) -> Any:
    return value.get("data", []) if route == "list" else value


@fault(
    "engines-object-model",
    site="engines.response",
    summary='Engines say "object": "model" (the engines routes serve the model list).',
    seen_in="gateways that alias /v1/engines to /v1/models",
)
def _engines_object_model(value: Any, *, route: str = "", **_: Any) -> Any:
    if route == "list":
        return {**value, "data": [{**engine, "object": "model"} for engine in value.get("data", [])]}
    return {**value, "object": "model"}


@fault(
    "engines-missing-ready",
    site="engines.response",
    summary="Engines in the list carry no ready flag.",
    seen_in="gateways that build engines from model cards (no readiness)",
)
def _engines_missing_ready(value: Any, *, route: str = "", **_: Any) -> Any:
    if route != "list":
        return value
    return {**value, "data": [_without(engine, "ready") for engine in value.get("data", [])]}


@fault(
    "engines-retrieve-404",
    site="asgi",
    summary="Listed engines cannot be retrieved: GET /engines/{id} is a 404.",
    seen_in="gateways that kept the engines list but not the retrieve route",
)
def _engines_retrieve_404(value: ASGIApp, **_: Any) -> ASGIApp:
    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes) -> Any:
        if status == 200 and "/engines/" in scope["path"]:
            engine = scope["path"].rsplit("/", 1)[-1]
            return 404, dict(_ENVELOPE_HEADERS), _envelope(f"No such engine: {engine}", code="engine_not_found")
        return None

    return _rewriting(value, rewrite)


@fault(
    "engines-retrieve-any",
    site="error",
    summary="GET /engines/{id} invents an engine for any unknown id instead of answering 404.",
    seen_in="gateways that answer every id with a default engine",
)
def _engines_retrieve_any(value: tuple[int, Any], *, api_error: ApiError, path: str = "", **_: Any) -> Any:
    if api_error.code == "engine_not_found":
        engine = path.rsplit("/", 1)[-1]
        return 200, {"id": engine, "object": "engine", "created": None, "owner": "system", "ready": True}
    return value


@variation(
    "engines-unsupported-404",
    site="asgi",
    summary="The provider does not offer the deprecated engines: /engines routes are 404 with the envelope.",
    seen_in="OpenAI itself and most current servers (the engines endpoints are deprecated)",
)
def _engines_unsupported(value: ASGIApp, **_: Any) -> ASGIApp:
    return _declined(value, prefix="engines", status=404)


# model delete ---------------------------------------------------------------------------------------------


@fault(
    "models-delete-unknown-200",
    site="asgi",
    summary='DELETE /models/{id} answers 200 "deleted": true for ids that do not exist.',
    seen_in="gateways whose delete is an idempotent no-op",
)
def _models_delete_unknown_200(value: ASGIApp, **_: Any) -> ASGIApp:
    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes) -> Any:
        if scope["method"] == "DELETE" and "/models/" in scope["path"] and status == 404:
            model = scope["path"].split("/models/", 1)[1]
            payload = json.dumps({"id": model, "object": "model", "deleted": True}).encode()
            return 200, dict(_ENVELOPE_HEADERS), payload
        return None

    return _rewriting(value, rewrite)


@fault(
    "models-delete-as-retrieve",
    site="models.delete",
    summary="DELETE /models/{id} is routed like GET: it answers the model and deletes nothing.",
    seen_in="routers that register /models/{id} for every method",
)
def _models_delete_as_retrieve(value: tuple[int, Any, bool], *, model_id: str = "", **_: Any) -> Any:
    return 200, {"id": model_id, "object": "model", "owned_by": "org-oai-conformance"}, False


@fault(
    "models-delete-noop",
    site="models.delete",
    summary='DELETE /models/{id} answers "deleted": true but the model still retrieves.',
    seen_in="soft-delete model registries whose reads ignore the deleted flag",
)
def _models_delete_noop(value: tuple[int, Any, bool], **_: Any) -> tuple[int, Any, bool]:
    return value[0], value[1], False
