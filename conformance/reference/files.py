"""Files: an in-memory store per app instance, bounded in count and size.

Uploads are multipart (``file`` and ``purpose``), as seed 002 documents. The store keeps at most
:data:`MAX_FILES` files (the oldest go first) of at most :data:`MAX_FILE_BYTES` each, so a long-lived
reference server cannot grow without bound. Content comes back byte for byte as
``application/octet-stream``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Final

from .errors import ApiError, invalid_request, missing_parameter
from .sse import new_id, now

__all__ = ["MAX_FILES", "MAX_FILE_BYTES", "FileStore", "StoredFile", "file_not_found"]

MAX_FILES: Final = 256
MAX_FILE_BYTES: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class StoredFile:
    id: str
    filename: str
    purpose: str
    created_at: int
    content: bytes

    def card(self) -> dict[str, Any]:
        """The file object; ``status`` is the later spec's (required there, deprecated, harmless here)."""
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.content),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
        }


def file_not_found(file_id: str) -> ApiError:
    # OpenAI's own wording for an unknown file id.
    return invalid_request(f"No such File object: {file_id}", param="id", status=404)


class FileStore:
    """Thread-safe: the reference server answers from one event loop, but tests call it directly too."""

    def __init__(self) -> None:
        self._files: OrderedDict[str, StoredFile] = OrderedDict()
        self._lock = threading.Lock()

    def validate_upload(self, purpose: Any, filename: Any, content: bytes | None) -> ApiError | None:
        if content is None:
            return missing_parameter("file")
        if purpose is None:
            return missing_parameter("purpose")
        # Seed 002 and the legacy schema make purpose a free string ("fine-tune" for fine-tuning); only
        # its presence is required, as the later API's enum of purposes is not part of this contract.
        if not isinstance(purpose, str) or not purpose:
            return invalid_request("Invalid 'purpose': expected a non-empty string.", "purpose", "invalid_value")
        if len(content) > MAX_FILE_BYTES:
            message = f"File too large: the reference provider keeps files up to {MAX_FILE_BYTES} bytes."
            return invalid_request(message, "file", "file_too_large", status=413)
        if not isinstance(filename, str) or not filename:
            return invalid_request("The uploaded file has no filename.", "file", None)
        return None

    def add(self, filename: str, purpose: str, content: bytes) -> StoredFile:
        stored = StoredFile(
            id=new_id("file"), filename=filename, purpose=purpose, created_at=now(), content=bytes(content)
        )
        with self._lock:
            self._files[stored.id] = stored
            while len(self._files) > MAX_FILES:
                self._files.popitem(last=False)
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        with self._lock:
            return self._files.get(file_id)

    def delete(self, file_id: str) -> StoredFile | None:
        with self._lock:
            return self._files.pop(file_id, None)

    def all(self) -> list[StoredFile]:
        with self._lock:
            return list(self._files.values())
