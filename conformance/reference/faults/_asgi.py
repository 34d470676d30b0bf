"""Helpers the faults share: ASGI middleware builders, request and response plumbing, small dict edits."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ApiError

__all__ = [
    "ENVELOPE_HEADERS",
    "Rewrite",
    "answer",
    "declined",
    "drain",
    "envelope",
    "intercept",
    "is_parse_error",
    "is_validation_error",
    "map_choices",
    "on",
    "request_header",
    "rewriting",
    "send_start",
    "without",
]

Rewrite = Callable[[Scope, int, dict[str, str], bytes], tuple[int, dict[str, str], bytes] | None]

ENVELOPE_HEADERS: Final = {"content-type": "application/json"}


def rewriting(app: ASGIApp, rewrite: Rewrite) -> ASGIApp:
    """ASGI middleware: buffer each non-streamed response and let ``rewrite`` replace status, headers
    or body (return None to leave it alone). Event streams pass through untouched. The request body
    is available to ``rewrite`` as ``scope["oai.request_body"]``."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []
        received: list[bytes] = []
        scope = {**scope, "oai.request_body": received}

        async def recording_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                received.append(message.get("body", b""))
            return message

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start.get("headers", [])}
            if headers.get("content-type", "").startswith("text/event-stream"):
                if start is not None:
                    await send(start)
                    start = None  # type: ignore[assignment]
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            status = start["status"]
            replaced = rewrite(scope, status, headers, body)
            if replaced is not None:
                status, headers, body = replaced
                headers = {k: v for k, v in headers.items() if k != "content-length"}
                headers["content-length"] = str(len(body))
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
                }
            )
            await send({"type": "http.response.body", "body": body})

        await app(scope, recording_receive, capture)

    return middleware


def request_header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def on(path: str, *routes: str) -> bool:
    return any(path.endswith(route) for route in routes)


async def send_start(send: Send, status: int, headers: dict[str, str]) -> None:
    encoded = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": encoded})


async def answer(send: Send, status: int, headers: dict[str, str], body: bytes) -> None:
    await send_start(send, status, {**headers, "content-length": str(len(body))})
    await send({"type": "http.response.body", "body": body})


async def drain(receive: Receive) -> None:
    """Read the request body to its end (a server that ignores it still has to take it off the wire)."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


def intercept(app: ASGIApp, decide: Any) -> ASGIApp:
    """Answer some requests before the app sees them: ``decide(scope)`` returns (status, headers, body) or None."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        decided = decide(scope) if scope["type"] == "http" else None
        if decided is None:
            await app(scope, receive, send)
        else:
            await answer(send, *decided)

    return middleware


def envelope(message: str, *, code: str | None = None, kind: str = "invalid_request_error") -> bytes:
    return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}}).encode()


def declined(value: ASGIApp, *, prefix: str, status: int) -> ASGIApp:
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
        body = envelope(message, code=None if status == 404 else "not_implemented")
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return middleware


def map_choices(value: dict[str, Any], change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    return {**value, "choices": [change(dict(choice)) for choice in value.get("choices", [])]}


def without(mapping: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k not in keys}


def is_parse_error(error: ApiError) -> bool:
    return error.message.startswith("We could not parse the JSON body")


def is_validation_error(error: ApiError) -> bool:
    return error.status == 400 and not is_parse_error(error)


def hung_up(receive: Receive) -> asyncio.Event:
    """An event set when the client disconnects (after the body has been drained)."""
    gone = asyncio.Event()

    async def watch() -> None:
        with contextlib.suppress(Exception):
            while (await receive())["type"] != "http.disconnect":
                pass
        gone.set()

    task = asyncio.ensure_future(watch())
    task.add_done_callback(lambda _: gone.set())
    return gone
