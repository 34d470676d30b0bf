"""Probes of the file checks: an upload (deleted at the end), list, retrieve, content, delete."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from conformance import expect
from conformance.core.results import NotApplicable
from conformance.engine import probe
from conformance.probes.endpoints import Deletion
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange

if TYPE_CHECKING:
    from conformance.engine import RunState

from conformance.probes.endpoints import (
    SCRATCH_FILENAME,
    TRAINING_DATA,
    TRAINING_FILENAME,
    body_object,
    created_id,
    quote,
    send_multipart,
)

# -- files --------------------------------------------------------------------------------------------


def upload(client: HttpClient, filename: str, content: bytes, purpose: str | None = "fine-tune") -> Exchange:
    fields = {"purpose": purpose} if purpose is not None else {}
    return send_multipart(client, "files", fields, {"file": (filename, content, "application/jsonl")})


def _delete_quietly(client: HttpClient, path: str) -> None:
    # Clean-up at the end of the run: nothing depends on it, so nothing may fail because of it.
    with contextlib.suppress(Exception):
        client.request("DELETE", path)


@probe
def file_upload(files_client: HttpClient) -> Iterator[Exchange]:
    """The training file: the files checks inspect it, the fine-tune checks train on it."""
    exchange = upload(files_client, TRAINING_FILENAME, TRAINING_DATA)
    yield exchange
    body = body_object(exchange)
    if body and isinstance(body.get("id"), str):
        _delete_quietly(files_client, f"files/{quote(body['id'])}")


@probe
def uploaded_file_id(file_upload: Exchange) -> str:
    return created_id(file_upload, "POST /files", "FILES-001")


@probe
def training_file_id(run_state: RunState) -> str:
    """For the fine-tune checks a missing upload is no verdict on fine-tunes: SKIP, not UNSUPPORTED."""
    declared = run_state.target.capabilities
    if declared is not None and "files" not in declared:
        raise NotApplicable("no training file: files are not among the declared capabilities (--capabilities)")
    # Read only now: asked for with the others, a files family declared absent would make this UNSUPPORTED.
    file_upload: Exchange = run_state.probes.get("file_upload")
    if expect.declined(file_upload):
        raise NotApplicable("no training file: the provider does not offer POST /files")
    return created_id(file_upload, "POST /files", "FILES-001")


@probe
def files_listing(files_client: HttpClient, file_upload: Exchange) -> Exchange:
    """Sent after the upload, which it must list."""
    return files_client.request("GET", "files")


@probe
def file_retrieve(files_client: HttpClient, uploaded_file_id: str) -> Exchange:
    return files_client.request("GET", f"files/{quote(uploaded_file_id)}")


@probe
def file_content(files_client: HttpClient, uploaded_file_id: str) -> Exchange:
    return files_client.request("GET", f"files/{quote(uploaded_file_id)}/content")


@probe
def file_deletion(files_client: HttpClient) -> Deletion:
    created = upload(files_client, SCRATCH_FILENAME, b'{"prompt": "delete me ->", "completion": " ok"}\n')
    file_id = created_id(created, "POST /files", "FILES-001")
    deleted = files_client.request("DELETE", f"files/{quote(file_id)}")
    after = files_client.request("GET", f"files/{quote(file_id)}")
    return Deletion(created, deleted, after, file_id)


@probe
def file_upload_without_purpose(files_client: HttpClient, uploaded_file_id: str) -> Iterator[Exchange]:
    exchange = upload(files_client, SCRATCH_FILENAME, b'{"prompt": "no purpose ->", "completion": " ok"}\n', None)
    yield exchange
    body = body_object(exchange)  # a provider that wrongly accepted it keeps no stray file
    if body and isinstance(body.get("id"), str):
        _delete_quietly(files_client, f"files/{quote(body['id'])}")
