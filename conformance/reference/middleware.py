"""ASGI middleware that wraps every reference response."""

from __future__ import annotations

import asyncio
import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestContextMiddleware", "new_request_id"]


def new_request_id() -> str:
    return f"req_{secrets.token_hex(16)}"


class RequestContextMiddleware:
    """Sleeps ``latency`` seconds before each request and tags every response with ``x-request-id``.

    It sits outside Starlette's error handling so even a 500 carries the id.
    """

    def __init__(self, app: ASGIApp, *, latency: float = 0.0) -> None:
        self.app = app
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        request_id = new_request_id()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("x-request-id", request_id)
            await send(message)

        await self.app(scope, receive, send_with_id)
