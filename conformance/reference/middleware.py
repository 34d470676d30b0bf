"""ASGI middleware that wraps every reference response."""

from __future__ import annotations

import asyncio
import secrets
from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .faults._registry import TRACE

__all__ = ["TRACE_HEADER", "RequestContextMiddleware", "TraceMiddleware", "new_request_id"]

#: A request carrying this header (any non-empty token) is traced: see :class:`TraceMiddleware`.
TRACE_HEADER: Final = b"x-oai-conformance-trace"

#: The sites every traced request passes through: ``policy`` was applied when the app was created,
#: ``asgi`` wraps the whole app.
ALWAYS_TRACED: Final = frozenset({"policy", "asgi"})


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


class TraceMiddleware:
    """Records which fault sites the requests carrying ``x-oai-conformance-trace: <token>`` pass through.

    ``traces[token]`` collects the sites of every :meth:`~conformance.reference.faults.FaultSet.apply`
    made while such a request is handled, streamed bodies included, plus ``policy`` and ``asgi``. It sits
    outermost, outside the ``asgi``-site faults. A request without the header is passed on untouched.
    """

    def __init__(self, app: ASGIApp, *, traces: dict[str, set[str]]) -> None:
        self.app = app
        self.traces = traces

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = None
        if scope["type"] == "http":
            token = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == TRACE_HEADER), None)
        if not token:
            await self.app(scope, receive, send)
            return
        sites = self.traces.setdefault(token, set())
        sites.update(ALWAYS_TRACED)
        reset = TRACE.set(sites)
        try:
            await self.app(scope, receive, send)
        finally:
            TRACE.reset(reset)
