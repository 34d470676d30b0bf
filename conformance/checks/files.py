"""FILES-*: file upload, list, retrieve, content and delete (seed 002 "Files"; legacy OpenAIFile schema).

What a schema cannot say is checked here: the uploaded file is listed, retrieves by its id, gives back
exactly the bytes sent, and is gone once deleted.
"""

from __future__ import annotations

from typing import Any

from conformance import expect
from conformance.core.results import NotApplicable, Violation
from conformance.engine import check
from conformance.probes.endpoints import TRAINING_DATA, TRAINING_FILENAME, Deletion, succeeded
from conformance.transport.exchange import Exchange

UPLOAD = "POST /files"


def object_or_skip(exchange: Exchange, see: str) -> dict[str, Any]:
    try:
        body = exchange.json()
    except (ValueError, UnicodeDecodeError):
        raise NotApplicable(f"the answer is not JSON (see {see})") from None
    if not isinstance(body, dict):
        raise NotApplicable(f"the answer is not a JSON object (see {see})")
    return body


def expect_value(body: dict[str, Any], key: str, expected: Any, exchange: Exchange, title: str) -> None:
    if body.get(key) != expected:
        raise Violation(
            title,
            pointer=f"/{key}",
            expected=expect.short(expected),
            actual=expect.short(body.get(key, "(missing)")),
            evidence=exchange,
        )


@check("FILES-001", needs="files")
def test_upload_answers_a_file_object(file_upload: Exchange) -> None:
    expect.success(file_upload, UPLOAD)
    body = expect.json_object(file_upload)
    file_id = expect.field(body, "id", str, "", file_upload)
    if not file_id:
        raise Violation(
            "The file id is empty", pointer="/id", expected="a non-empty string", actual='""', evidence=file_upload
        )
    expect_value(body, "object", "file", file_upload, 'The uploaded file lacks "object": "file"')
    for key, kind in (("bytes", int), ("created_at", int), ("filename", str), ("purpose", str)):
        expect.field(body, key, kind, "", file_upload)


@check("FILES-002", needs="files")
def test_upload_echoes_size_name_and_purpose(file_upload: Exchange) -> None:
    expect.success(file_upload, UPLOAD)
    body = object_or_skip(file_upload, "FILES-001")
    sent = {"bytes": len(TRAINING_DATA), "filename": TRAINING_FILENAME, "purpose": "fine-tune"}
    for key, value in sent.items():
        if not expect.is_type(body.get(key), type(value)):
            raise NotApplicable(f"no {key} of the right type (see FILES-001)")
        expect_value(body, key, value, file_upload, f"The uploaded file's {key} is not what was uploaded")


@check("FILES-003", needs="files")
def test_file_list_is_a_list_object(files_listing: Exchange) -> None:
    expect.success(files_listing, "GET /files")
    body = expect.json_object(files_listing)
    expect_value(body, "object", "list", files_listing, 'The file list lacks "object": "list"')
    data = expect.field(body, "data", list, "", files_listing)
    for index, item in enumerate(data):
        if not isinstance(item, dict) or item.get("object") != "file":
            raise Violation(
                'A listed file is not an object with "object": "file"',
                pointer=f"/data/{index}",
                expected='{"object": "file", ...}',
                actual=expect.short(item, 120),
                evidence=files_listing,
            )


@check("FILES-004", needs="files")
def test_uploaded_file_is_listed(files_listing: Exchange, uploaded_file_id: str, file_upload: Exchange) -> None:
    expect.success(files_listing, "GET /files")
    data = object_or_skip(files_listing, "FILES-003").get("data")
    if not isinstance(data, list):
        raise NotApplicable("no data array (see FILES-003)")
    listed = [item.get("id") for item in data if isinstance(item, dict)]
    if uploaded_file_id not in listed:
        raise Violation(
            "The uploaded file is not listed",
            pointer="/data",
            expected=f"an entry with id {uploaded_file_id!r}",
            actual=f"{len(listed)} files: {expect.short(listed[:10])}",
            evidence=[files_listing, file_upload],
        )


@check("FILES-005", needs="files")
def test_file_retrieves_with_its_id(file_retrieve: Exchange, uploaded_file_id: str) -> None:
    expect.status(file_retrieve, 200, title="The uploaded file does not retrieve")
    body = expect.json_object(file_retrieve)
    expect_value(body, "id", uploaded_file_id, file_retrieve, "The retrieved file has a different id")
    expect_value(body, "object", "file", file_retrieve, 'The retrieved file lacks "object": "file"')


@check("FILES-006", needs="files")
def test_file_content_returns_the_uploaded_bytes(file_content: Exchange) -> None:
    expect.status(file_content, 200, title="The file content does not download")
    if file_content.body != TRAINING_DATA:
        raise Violation(
            "The file content is not the uploaded bytes",
            expected=f"the {len(TRAINING_DATA)} bytes uploaded: {TRAINING_DATA[:60]!r}…",
            actual=f"{len(file_content.body)} bytes ({file_content.content_type or 'no Content-Type'}): "
            f"{file_content.body[:60]!r}",
            evidence=file_content,
        )


@check("FILES-007", needs="files")
def test_delete_answers_the_deletion_object(file_deletion: Deletion) -> None:
    deleted = file_deletion.deleted
    expect.status(deleted, 200, title="Deleting a file did not answer 200")
    body = expect.json_object(deleted)
    expect_value(body, "id", file_deletion.object_id, deleted, "The deletion answer names another file")
    expect_value(body, "object", "file", deleted, 'The deletion answer lacks "object": "file"')
    expect_value(body, "deleted", True, deleted, 'The deletion answer lacks "deleted": true')


@check("FILES-008", needs="files")
def test_deleted_file_no_longer_retrieves(file_deletion: Deletion) -> None:
    if not succeeded(file_deletion.deleted):
        raise NotApplicable("the file was not deleted (see FILES-007)")
    expect.status(file_deletion.after, 404, title="A deleted file still retrieves")


@check("FILES-009", needs="files")
def test_upload_without_purpose_is_refused(file_upload_without_purpose: Exchange) -> None:
    expect.decline(file_upload_without_purpose, UPLOAD, refusable=True)
    expect.status(file_upload_without_purpose, *expect.REFUSALS, title="An upload without purpose was not refused")
