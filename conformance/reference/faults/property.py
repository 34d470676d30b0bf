"""Faults that only the property tests catch (the PROP-* requirements).

Each breaks one rule on a path the hand-written checks never take -- an operation they do not judge
in that respect, a parameter they never send, a value only the documented edge cases send -- so that
the property run is shown to catch what the hand-written checks cannot, and nothing else fires.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import ApiError
from ._asgi import rewriting
from ._registry import fault

_SERVER_ERROR = ApiError(500, "The server had an error while processing your request.", "server_error")
# Seed 002 requires a square PNG under 4 MB; nothing about a minimum size.
_MIN_SOURCE_PX = 256


def _path(scope: Scope) -> str:
    return str(scope.get("path", ""))


@fault(
    "prop-engine-retrieve-ready-string",
    site="engines.response",
    summary='GET /engines/{id} answers "ready": "true" (a string; the list is right).',
    seen_in="gateways that serialise booleans as strings on one route (compat-bugs: strict deserialisers)",
)
def _engine_ready_string(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    if route != "retrieve" or not isinstance(value, dict):
        return value
    return {**value, "ready": str(value.get("ready", True)).lower()}


@fault(
    "prop-moderations-422",
    site="error",
    summary="A moderation request that fails validation is answered 422 (the FastAPI default), not 400.",
    seen_in="compat-bugs 34: NVIDIA/garak#748, UKGovernmentBEIS/inspect_ai#1612",
)
def _moderations_422(value: tuple[int, Any], *, path: str = "", **_: Any) -> tuple[int, Any]:
    status, payload = value
    return (422, payload) if status == 400 and path.endswith("/moderations") else value


@fault(
    "prop-engine-retrieve-text-plain",
    site="asgi",
    summary="GET /engines/{id} labels its JSON answer Content-Type: text/plain.",
    seen_in="Go servers that write JSON without setting Content-Type (net/http sniffs text/plain)",
)
def _engine_text_plain(value: ASGIApp, **_: Any) -> ASGIApp:
    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes) -> Any:
        if not _path(scope).startswith("/v1/engines/") or status != 200:
            return None
        return status, {**headers, "content-type": "text/plain; charset=utf-8"}, body

    return rewriting(value, rewrite)


@fault(
    "prop-embeddings-user-500",
    site="request",
    summary="An embedding request carrying the documented `user` field crashes (500).",
    seen_in="servers that pass every body field to the model as a keyword argument (TypeError → 500)",
)
def _embeddings_user_500(value: Any, *, path: str = "", **_: Any) -> Any:
    if path.endswith("/embeddings") and isinstance(value, dict) and value.get("user") is not None:
        return _SERVER_ERROR
    return value


@fault(
    "prop-moderations-invalid-500",
    site="error",
    summary="A moderation request that fails validation crashes the server (500 server_error, not 400).",
    seen_in="compat-bugs 32: open-webui/open-webui#12546, defenseunicorns/leapfrogai#784",
)
def _moderations_invalid_500(value: tuple[int, Any], *, path: str = "", **_: Any) -> tuple[int, Any]:
    status, _payload = value
    if status == 400 and path.endswith("/moderations"):
        return _SERVER_ERROR.status, _SERVER_ERROR.envelope()
    return value


@fault(
    "prop-engines-ignore-auth",
    site="asgi",
    summary="The /engines routes serve requests without a key or with a wrong key.",
    seen_in="gateways that forgot the auth middleware on a legacy route (compat-bugs: ignored auth)",
)
def _engines_ignore_auth(value: ASGIApp, *, api_key: str | None = None, **_: Any) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _path(scope).startswith("/v1/engines") and api_key:
            headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"authorization"]
            headers.append((b"authorization", f"Bearer {api_key}".encode("latin-1")))
            scope = {**scope, "headers": headers}
        await value(scope, receive, send)

    return middleware


@fault(
    "prop-edits-flat-errors",
    site="error",
    summary='A rejected edit request is answered {"error": "<message>"}: the message as a bare string.',
    seen_in="ollama/ollama#6646, tensorzero/tensorzero#5445 (string errors)",
)
def _edits_flat_errors(value: tuple[int, Any], *, path: str = "", api_error: Any = None, **_: Any) -> tuple[int, Any]:
    status, _payload = value
    if status != 400 or not path.endswith("/edits"):
        return value
    message = getattr(api_error, "message", None) or "invalid request"
    return status, {"error": message}


def _png_width(body: bytes) -> int | None:
    """The width in the IHDR chunk of the first PNG in a (multipart) body, or None."""
    start = body.find(b"\x89PNG\r\n\x1a\n")
    if start < 0 or len(body) < start + 24 or body[start + 12 : start + 16] != b"IHDR":
        return None
    return int(struct.unpack(">I", body[start + 16 : start + 20])[0])


@fault(
    "prop-variations-reject-small-images",
    site="asgi",
    summary="Image variations refuse every source smaller than 256×256 px with a 400, a limit no document states.",
    seen_in="image back-ends with a minimum input size behind an OpenAI-compatible front (stable-diffusion bridges)",
)
def _variations_reject_small(value: ASGIApp, **_: Any) -> ASGIApp:
    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes) -> Any:
        if not _path(scope).endswith("/images/variations") or status != 200:
            return None
        width = _png_width(b"".join(scope["oai.request_body"]))
        if width is None or width >= _MIN_SOURCE_PX:
            return None
        message = f"Invalid input image - the image must be at least {_MIN_SOURCE_PX}x{_MIN_SOURCE_PX} pixels."
        error = ApiError(400, message, "invalid_request_error", "image", "invalid_image")
        return 400, {**headers, "content-type": "application/json"}, json.dumps(error.envelope()).encode()

    return rewriting(value, rewrite)


@fault(
    "prop-completions-max-tokens-minus-one-500",
    site="request",
    summary="A completion with max_tokens -1 (exactly) crashes the server (500) instead of a 400.",
    seen_in="llama.cpp reads max_tokens/n_predict -1 as 'unlimited' (shared/research/schemathesis.md §3.4, bug C′)",
)
def _completions_minus_one(value: Any, *, path: str = "", **_: Any) -> Any:
    if not path.endswith("/completions") or path.endswith("/chat/completions") or not isinstance(value, dict):
        return value
    tokens = value.get("max_tokens")
    if isinstance(tokens, int | float) and not isinstance(tokens, bool) and tokens == -1:
        return _SERVER_ERROR
    return value
