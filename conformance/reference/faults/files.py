"""Faults of the files endpoints: upload, list, retrieve, content, delete (FILES-*).

Most faults act on one route only, so that one fault breaks one rule; the ``*-unsupported-*``
variation models a provider that honestly does not offer the endpoint (404/501 with the error
envelope), which the suite must report UNSUPPORTED and never FAIL.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.types import ASGIApp

from ._asgi import declined
from ._registry import fault, variation


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
    return declined(value, prefix="files", status=404)
