"""What the probes of the endpoint families share (images, moderations, files, fine-tunes, edits,
engines): the fixed inputs, multipart bodies, the decline rule for a created object, and a client per
family that honours ``--capabilities``."""

from __future__ import annotations

import hashlib
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from conformance import expect
from conformance.core.results import NotApplicable, Unsupported
from conformance.engine import probe
from conformance.imaging import encode_png
from conformance.probes.base import DECLARED_ABSENT
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange

if TYPE_CHECKING:
    from conformance.engine import RunState


@dataclass(frozen=True)
class Deletion:
    """Upload a throwaway object, delete it, and retrieve it again."""

    created: Exchange
    deleted: Exchange
    after: Exchange
    object_id: str  # what was deleted


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
    if expect.declined(exchange):
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
# Probes are sent before the checks' preconditions are judged, so each family's probes take their
# client from a gate that honours --capabilities: a family declared absent is never asked.


def offered(run_state: RunState, capability: str) -> HttpClient:
    declared = run_state.target.capabilities
    if declared is not None and capability not in declared:
        raise Unsupported(f"{capability}: {DECLARED_ABSENT}")
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
