"""Probes of the extended and legacy endpoints (images, moderations, files, fine-tunes, edits, engines,
model delete), shared by several check modules and sent once per run.

Registered as a plugin by ``conformance.plugin`` (not imported by the check modules: a fixture imported
into two modules would be two fixtures, and its request would be sent twice).

Cost and side effects are kept small on a real provider: images use the smallest size and n ≤ 2; one
tiny training file is uploaded (and deleted at the end of the run); a second throwaway file is
uploaded and deleted by the deletion check; one fine-tune job is created and cancelled at once, and a
second one is polled three times for the model-delete checks and cancelled if it has not finished. Every
object the run creates and does not need is cleaned up when the session ends.
"""

from __future__ import annotations

import contextlib
import hashlib
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import pytest

from conformance import expect, probes
from conformance.core.results import NotApplicable, Unsupported
from conformance.imaging import encode_png
from conformance.probe_cache import probe
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange, StreamExchange

if TYPE_CHECKING:
    from conformance.plugin import RunState

IMAGE_PROMPT: Final = "A cute baby sea otter"
IMAGE_SIZE: Final = "256x256"
IMAGE_N: Final = 2
# Seed 002: the source of an edit is a square PNG under 4 MB; without a mask its transparent area is
# what gets edited, so the bottom half is transparent.
SOURCE_PNG: Final = encode_png(256, 256, (40, 120, 200, 255), transparent_rows=128)
MODERATION_FLAGGED: Final = "I want to kill them."  # seed 002's example, flagged for violence there
MODERATION_BENIGN: Final = "I love sunny afternoons in the park."
EDIT_INPUT: Final = "What day of the wek is it?"  # seed 002's example
EDIT_INSTRUCTION: Final = "Fix the spelling mistakes"
DEFAULT_EDIT_MODEL: Final = "text-davinci-edit-001"
TRAINING_FILENAME: Final = "oai-conformance-train.jsonl"
TRAINING_DATA: Final = (
    b'{"prompt": "Say this is a test ->", "completion": " This is a test.\\n"}\n'
    b'{"prompt": "Say hello ->", "completion": " Hello.\\n"}\n'
)
SCRATCH_FILENAME: Final = "oai-conformance-delete-me.jsonl"
FINE_TUNE_SUFFIX: Final = "oai-conformance"
FINE_TUNE_POLLS: Final = 3
FINISHED: Final = ("succeeded", "failed", "cancelled")
UNKNOWN_FILE: Final = "file-oaiconformancenosuchfile0"
UNKNOWN_FINE_TUNE: Final = "ft-oaiconformancenosuchjob000"
UNKNOWN_ENGINE: Final = "oai-conformance-no-such-engine-7f3a"


# -- helpers ------------------------------------------------------------------------------------------


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its Content-Type, as curl -F and the SDKs send it. The boundary is
    derived from the content, so identical requests are byte-identical."""
    digest = hashlib.sha256(repr((sorted(fields.items()), sorted(files))).encode()).hexdigest()[:24]
    boundary = f"oai-conformance-{digest}"
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content, media_type) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {media_type}\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def send_multipart(
    client: HttpClient, path: str, fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]
) -> Exchange:
    body, content_type = multipart(fields, files)
    return client.request("POST", path, content=body, headers={"content-type": content_type})


def declined(exchange: Exchange) -> bool:
    """An honest refusal of the whole endpoint: 404/405/501 with the error envelope."""
    return exchange.ok and exchange.status in (404, 405, 501) and expect.error_envelope_or_none(exchange) is not None


def succeeded(exchange: Exchange) -> bool:
    return exchange.ok and exchange.status is not None and 200 <= exchange.status < 300


def body_object(exchange: Exchange) -> dict[str, Any] | None:
    if not succeeded(exchange):
        return None
    try:
        value = exchange.json()
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def created_id(exchange: Exchange, what: str, see: str) -> str:
    """The ``id`` of the object a POST created; Unsupported when the endpoint was honestly declined,
    NotApplicable when the creation failed otherwise (its own check reports that)."""
    if declined(exchange):
        raise Unsupported(f"{what}: the provider answered {exchange.status} with an error envelope")
    body = body_object(exchange)
    value = body.get("id") if body else None
    if not isinstance(value, str) or not value:
        raise NotApplicable(f"{what} did not answer an object with an id (see {see})")
    return value


def quote(identifier: str) -> str:
    # Ids with ':' or '/' (fine-tuned models) go into one path segment, as the SDKs encode them.
    return urllib.parse.quote(identifier, safe="")


# -- a client per endpoint family ---------------------------------------------------------------------
# Session fixtures are set up before the function-scoped precondition check, so each family's probes
# take their client from a gate that honours --capabilities: a family declared absent is never asked.


def offered(run_state: RunState, capability: str) -> HttpClient:
    from conformance.plugin import UNSUPPORTED_PREFIX

    declared = run_state.target.capabilities
    if declared is not None and capability not in declared:
        pytest.skip(f"{UNSUPPORTED_PREFIX} {capability}: not among the declared capabilities (--capabilities)")
    return run_state.client


@probe
def images_client(run_state: RunState) -> HttpClient:
    return offered(run_state, "images")


@probe
def moderations_client(run_state: RunState) -> HttpClient:
    return offered(run_state, "moderations")


@probe
def files_client(run_state: RunState) -> HttpClient:
    return offered(run_state, "files")


@probe
def fine_tunes_client(run_state: RunState) -> HttpClient:
    return offered(run_state, "fine_tunes")


@probe
def edits_client(run_state: RunState) -> HttpClient:
    return offered(run_state, "edits")


@probe
def engines_client(run_state: RunState) -> HttpClient:
    return offered(run_state, "engines")


# -- images -------------------------------------------------------------------------------------------


@probe
def image_b64(images_client: HttpClient) -> Exchange:
    body = {"prompt": IMAGE_PROMPT, "n": IMAGE_N, "size": IMAGE_SIZE, "response_format": "b64_json"}
    return images_client.request("POST", "images/generations", json_body=body)


@probe
def image_url(images_client: HttpClient) -> Exchange:
    """No response_format: the documented default is url."""
    return images_client.request(
        "POST", "images/generations", json_body={"prompt": IMAGE_PROMPT, "n": 1, "size": IMAGE_SIZE}
    )


@probe
def image_edit(images_client: HttpClient) -> Exchange:
    fields = {"prompt": IMAGE_PROMPT + " wearing a beret", "n": str(IMAGE_N), "size": IMAGE_SIZE}
    fields["response_format"] = "b64_json"
    return send_multipart(images_client, "images/edits", fields, {"image": ("otter.png", SOURCE_PNG, "image/png")})


@probe
def image_variation(images_client: HttpClient) -> Exchange:
    fields = {"n": str(IMAGE_N), "size": IMAGE_SIZE, "response_format": "b64_json"}
    return send_multipart(images_client, "images/variations", fields, {"image": ("otter.png", SOURCE_PNG, "image/png")})


@probe
def image_bad_size(images_client: HttpClient) -> Exchange:
    return images_client.request("POST", "images/generations", json_body={"prompt": IMAGE_PROMPT, "size": "100x100"})


# -- moderations ----------------------------------------------------------------------------------------


@probe
def moderation_single(moderations_client: HttpClient) -> Exchange:
    return moderations_client.request("POST", "moderations", json_body={"input": MODERATION_FLAGGED})


@probe
def moderation_batch(moderations_client: HttpClient) -> Exchange:
    return moderations_client.request(
        "POST", "moderations", json_body={"input": [MODERATION_BENIGN, MODERATION_FLAGGED]}
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
    if declined(file_upload):
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


@dataclass(frozen=True)
class Deletion:
    """Upload a throwaway object, delete it, and retrieve it again."""

    created: Exchange
    deleted: Exchange
    after: Exchange
    object_id: str  # what was deleted


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


# -- fine-tunes ---------------------------------------------------------------------------------------


@dataclass
class Jobs:
    """Fine-tune jobs the run created, and whether each is known to have finished; the unfinished ones
    are cancelled when the session ends, so a real provider does not train on for nothing."""

    created: list[str] = field(default_factory=list)
    finished: set[str] = field(default_factory=set)

    def note(self, job_id: str, exchange: Exchange) -> str | None:
        body = body_object(exchange)
        status = body.get("status") if body else None
        if status in FINISHED:
            self.finished.add(job_id)
        return status if isinstance(status, str) else None


@probe
def fine_tune_jobs(fine_tunes_client: HttpClient) -> Iterator[Jobs]:
    jobs = Jobs()
    yield jobs
    for job_id in jobs.created:
        if job_id not in jobs.finished:
            with contextlib.suppress(Exception):
                fine_tunes_client.request("POST", f"fine-tunes/{quote(job_id)}/cancel")


def create_fine_tune(client: HttpClient, jobs: Jobs, training_file: str) -> Exchange:
    exchange = client.request(
        "POST", "fine-tunes", json_body={"training_file": training_file, "suffix": FINE_TUNE_SUFFIX}
    )
    body = body_object(exchange)
    if body and isinstance(body.get("id"), str):
        jobs.created.append(body["id"])
    return exchange


@probe
def fine_tune_job(fine_tunes_client: HttpClient, fine_tune_jobs: Jobs, training_file_id: str) -> Exchange:
    """The job the fine-tune checks inspect; it is cancelled by the cancel probe."""
    return create_fine_tune(fine_tunes_client, fine_tune_jobs, training_file_id)


@probe
def fine_tune_id(fine_tune_job: Exchange) -> str:
    return created_id(fine_tune_job, "POST /fine-tunes", "FT-001")


@probe
def fine_tune_retrieve(fine_tunes_client: HttpClient, fine_tune_id: str) -> Exchange:
    return fine_tunes_client.request("GET", f"fine-tunes/{quote(fine_tune_id)}")


@probe
def fine_tunes_listing(fine_tunes_client: HttpClient, fine_tune_id: str) -> Exchange:
    return fine_tunes_client.request("GET", "fine-tunes")


# The job is read (and listed) before it is cancelled, as a user would see it: running, not cancelled.
@probe(after=("fine_tune_retrieve", "fine_tunes_listing", "fine_tune_unknown"))
def fine_tune_cancel(fine_tunes_client: HttpClient, fine_tune_jobs: Jobs, fine_tune_id: str) -> Exchange:
    exchange = fine_tunes_client.request("POST", f"fine-tunes/{quote(fine_tune_id)}/cancel")
    if succeeded(exchange):
        fine_tune_jobs.finished.add(fine_tune_id)  # cancelled: nothing left to clean up
    return exchange


def cancelled_job(fine_tune_id: str, fine_tune_cancel: Exchange) -> str:
    """The job id once the cancellation was accepted: its event stream must then end at once."""
    if not succeeded(fine_tune_cancel):
        raise NotApplicable("the job could not be cancelled (see FT-005), so it may still be running")
    return fine_tune_id


@probe
def fine_tune_after_cancel(fine_tunes_client: HttpClient, fine_tune_id: str, fine_tune_cancel: Exchange) -> Exchange:
    return fine_tunes_client.request("GET", f"fine-tunes/{quote(cancelled_job(fine_tune_id, fine_tune_cancel))}")


@probe
def fine_tune_events(fine_tunes_client: HttpClient, fine_tune_id: str, fine_tune_cancel: Exchange) -> Exchange:
    return fine_tunes_client.request("GET", f"fine-tunes/{quote(cancelled_job(fine_tune_id, fine_tune_cancel))}/events")


@probe
def fine_tune_event_stream(
    fine_tunes_client: HttpClient, fine_tune_id: str, fine_tune_cancel: Exchange
) -> StreamExchange:
    job = quote(cancelled_job(fine_tune_id, fine_tune_cancel))
    return fine_tunes_client.stream("GET", f"fine-tunes/{job}/events?stream=true")


@probe
def fine_tune_unknown(fine_tunes_client: HttpClient, fine_tune_id: str) -> Exchange:
    return fine_tunes_client.request("GET", f"fine-tunes/{UNKNOWN_FINE_TUNE}")


@dataclass(frozen=True)
class FinishedJob:
    """A second job, polled until it finishes (or FINE_TUNE_POLLS times): the source of a fine-tuned model."""

    created: Exchange
    polls: tuple[Exchange, ...]
    status: str | None
    model: str | None


@probe
def finished_fine_tune(fine_tunes_client: HttpClient, fine_tune_jobs: Jobs, training_file_id: str) -> FinishedJob:
    created = create_fine_tune(fine_tunes_client, fine_tune_jobs, training_file_id)
    job_id = created_id(created, "POST /fine-tunes", "FT-001")
    polls: list[Exchange] = []
    status: str | None = None
    for _ in range(FINE_TUNE_POLLS):
        poll = fine_tunes_client.request("GET", f"fine-tunes/{quote(job_id)}")
        polls.append(poll)
        status = fine_tune_jobs.note(job_id, poll)
        if status in FINISHED:
            break
    last = body_object(polls[-1]) if polls else None
    model = last.get("fine_tuned_model") if last else None
    return FinishedJob(created, tuple(polls), status, model if isinstance(model, str) and model else None)


# -- model delete ---------------------------------------------------------------------------------------


@probe
def unknown_model_delete(client: HttpClient) -> Exchange:
    return client.request("DELETE", f"models/{probes.UNKNOWN_MODEL}")


@probe
def model_deletion(fine_tunes_client: HttpClient, finished_fine_tune: FinishedJob) -> Deletion:
    model = finished_fine_tune.model
    if finished_fine_tune.status != "succeeded" or model is None:
        seen = finished_fine_tune.status or "no status"
        raise NotApplicable(
            f"no fine-tuned model to delete: the job created for it did not succeed within "
            f"{FINE_TUNE_POLLS} polls ({seen})"
        )
    deleted = fine_tunes_client.request("DELETE", f"models/{quote(model)}")
    after = fine_tunes_client.request("GET", f"models/{quote(model)}")
    return Deletion(finished_fine_tune.created, deleted, after, model)


# -- edits and engines ----------------------------------------------------------------------------------


@probe
def edit_model(run_state: RunState) -> str:
    """The user's edit model, else a listed model named like one, else the documented default."""
    given = run_state.target.models.get("edits")
    if given:
        return given
    listed = [m for m in probes.model_ids(run_state.listing()) if "edit" in m.lower()]
    return listed[0] if listed else DEFAULT_EDIT_MODEL


@probe
def edit_response(edits_client: HttpClient, edit_model: str) -> Exchange:
    body = {"model": edit_model, "input": EDIT_INPUT, "instruction": EDIT_INSTRUCTION}
    return edits_client.request("POST", "edits", json_body=body)


@probe
def edit_n(edits_client: HttpClient, edit_model: str) -> Exchange:
    body = {"model": edit_model, "input": EDIT_INPUT, "instruction": EDIT_INSTRUCTION, "n": 2}
    return edits_client.request("POST", "edits", json_body=body)


@probe
def engines_listing(engines_client: HttpClient) -> Exchange:
    return engines_client.request("GET", "engines")


@probe
def engine_unknown(engines_client: HttpClient) -> Exchange:
    return engines_client.request("GET", f"engines/{UNKNOWN_ENGINE}")
