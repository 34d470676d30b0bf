"""Providers that are slow, serial, stalled or hung as a whole: what the transport policy must survive
without blaming the requests that only waited (ARCHITECTURE.md, "No verdict depends on timing").

Unlike the faults of :mod:`.transport`, which act on the one request of their TRANSPORT check, these act
on the whole provider: one request at a time (a legal variation, and with one request that runs away),
a stall of the whole provider, every stream endless, every POST unanswered. Each still breaks exactly
one rule. Their delays are parameters (``"transport-stall;seconds=2"``): real-world figures by default,
short ones in the project's tests. What keeps a response open stops as soon as the client hangs up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._asgi import drain, hung_up, on, send_start
from ._registry import fault, variation

NEVER_LONGER_S = 120.0  # a safety net: nothing here keeps a response open longer than this


async def _until_hung_up(receive: Receive, seconds: float) -> None:
    """Wait until the client hangs up (after its body was read), or ``seconds`` pass."""

    async def gone() -> None:
        with contextlib.suppress(Exception):
            while (await receive())["type"] != "http.disconnect":
                pass

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(gone(), seconds)


def _serially(app: ASGIApp) -> ASGIApp:
    """Middleware: one request at a time, the others queue in arrival order (asyncio locks are fair),
    each holding the provider until its response is complete -- like a server with one slot."""
    lock = asyncio.Lock()

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        async with lock:
            await app(scope, receive, send)

    return middleware


@variation(
    "serial",
    site="asgi",
    summary="One request at a time: every other request waits, in arrival order, until it is done.",
    seen_in="llama.cpp llama-server with one slot (-np 1), Ollama with OLLAMA_NUM_PARALLEL=1, most single-GPU "
    "hobby deployments",
)
def _serial(value: ASGIApp, **_: Any) -> ASGIApp:
    return _serially(value)


def _runs_away(scope: Scope, body: bytes) -> bool:
    """A chat completion bounded by max_completion_tokens alone (the parameter the provider ignores)."""
    if scope["method"] != "POST" or not on(scope.get("path", ""), "/chat/completions"):
        return False
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return False
    return isinstance(request, dict) and "max_completion_tokens" in request and "max_tokens" not in request


@fault(
    "serial-runaway-max-completion-tokens",
    site="asgi",
    summary="One request at a time, and a chat completion bounded by max_completion_tokens ignores the bound: "
    "it generates (and holds the provider) for `seconds`, answering nothing.",
    seen_in="llama.cpp-based servers that read only max_tokens (ggml-org/llama.cpp#9220 era), serving one "
    "request at a time (issue 15: one runaway, twenty TIMEOUTs queued behind it)",
    params={"seconds": NEVER_LONGER_S},
)
def _serial_runaway(value: ASGIApp, *, params: dict[str, float], **_: Any) -> ASGIApp:
    async def runaway(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await value(scope, receive, send)
            return
        body = await _body(receive)
        if _runs_away(scope, body):
            await _until_hung_up(receive, params["seconds"])  # generating; a client that hung up stops it
            return
        await value(scope, _replay(body, receive), send)

    return _serially(runaway)


@fault(
    "transport-stall",
    site="asgi",
    summary="Every `after` requests the provider answers nothing for `seconds`: requests that arrive meanwhile "
    "wait (those whose client is still there are then served), then it works again.",
    seen_in="Ollama loading or swapping a model (requests wait until it is in memory); GC and swap pauses; "
    "a gateway re-resolving its upstream",
    params={"after": 100.0, "seconds": 45.0},
)
def _stall(value: ASGIApp, *, params: dict[str, float], **_: Any) -> ASGIApp:
    count = 0
    until = 0.0

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal count, until
        if scope["type"] != "http":
            await value(scope, receive, send)
            return
        count += 1
        if count % int(params["after"]) == 0:  # every run against the app stalls, however many came before
            until = time.monotonic() + params["seconds"]
        pause = until - time.monotonic()
        if pause <= 0:
            await value(scope, receive, send)
            return
        body = await _body(receive)
        await asyncio.sleep(pause)
        if not await _gone(receive):  # a client that gave up meanwhile is not served (nor its request done)
            await value(scope, _replay(body, receive), send)

    return middleware


async def _body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    more = True
    while more:
        message = await receive()
        parts.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(parts)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body read already, then the client's own messages."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _gone(receive: Receive) -> bool:
    """Whether the client has hung up (its body read already): a disconnect waiting to be received."""
    try:
        message = await asyncio.wait_for(receive(), 0.01)
    except TimeoutError:
        return False
    return message["type"] == "http.disconnect"


def _endless_chunk(path: str, created: int) -> bytes:
    if on(path, "/completions") and not on(path, "/chat/completions"):
        choice: dict[str, Any] = {"index": 0, "text": " and", "logprobs": None, "finish_reason": None}
        chunk = {"id": "cmpl-endless", "object": "text_completion", "created": created, "model": "ref-instruct"}
    else:
        choice = {"index": 0, "delta": {"content": " and"}, "logprobs": None, "finish_reason": None}
        chunk = {"id": "chatcmpl-endless", "object": "chat.completion.chunk", "created": created, "model": "ref-chat"}
    return b"data: " + json.dumps({**chunk, "choices": [choice]}, separators=(",", ":")).encode() + b"\n\n"


def _endless_response(created: int) -> tuple[bytes, bytes]:
    """A Responses API stream that opens a message and never closes it: (the opening events, one delta)."""
    item = {"id": "msg_endless", "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    response = {"id": "resp_endless", "object": "response", "created_at": created, "status": "in_progress",
                "model": "ref-chat", "output": []}  # fmt: skip
    where = {"item_id": item["id"], "output_index": 0, "content_index": 0}
    part = {"type": "output_text", "text": "", "annotations": []}
    opening = [
        {"type": "response.created", "response": response},
        {"type": "response.in_progress", "response": response},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.content_part.added", **where, "part": part},
    ]
    delta = {"type": "response.output_text.delta", **where, "delta": " and", "logprobs": []}

    def frame(event: dict[str, Any]) -> bytes:
        return f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n".encode()

    return b"".join(frame({**e, "sequence_number": n}) for n, e in enumerate(opening)), frame(delta)


def _asks_stream(body: bytes) -> bool:
    with contextlib.suppress(ValueError):
        request = json.loads(body or b"{}")
        return isinstance(request, dict) and request.get("stream") is True
    return False


@fault(
    "transport-every-stream-endless",
    site="asgi",
    summary="Every streamed completion is endless: content deltas every `interval` seconds, no finish_reason, "
    "no [DONE], whatever max_tokens says.",
    seen_in="ggml-org/llama.cpp#6638 (EOS-less generation loops until the context is full), on a build where it "
    "hits every request; sgl-project/sglang#414",
    params={"interval": 0.001},
)
def _every_stream_endless(value: ASGIApp, *, params: dict[str, float], **_: Any) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await value(scope, receive, send)
            return
        body = await _body(receive)
        if not _asks_stream(body):
            await value(scope, _replay(body, receive), send)
            return
        gone = hung_up(receive)
        await send_start(send, 200, {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"})
        path = scope.get("path", "")
        opening, frame = b"", _endless_chunk(path, int(time.time()))
        if on(path, "/responses"):
            opening, frame = _endless_response(int(time.time()))
        # Fast streams send 25 events a write (the suite's event cap stops them within moments).
        batch = 25 if params["interval"] < 0.01 else 1
        stop_at = time.monotonic() + NEVER_LONGER_S
        with contextlib.suppress(Exception):  # the client hung up
            if opening:
                await send({"type": "http.response.body", "body": opening, "more_body": True})
            while not gone.is_set() and time.monotonic() < stop_at:
                await send({"type": "http.response.body", "body": frame * batch, "more_body": True})
                await asyncio.sleep(params["interval"])

    return middleware


@fault(
    "transport-every-post-unanswered",
    site="asgi",
    summary="Every POST is taken in and never answered: no status line, nothing (GET is served).",
    seen_in="llama.cpp llama-server with every slot stuck (requests queue without a limit); proxies whose "
    "upstream for POST routes is down while GET /models is served from a cache",
)
def _every_post_unanswered(value: ASGIApp, **_: Any) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await value(scope, receive, send)
            return
        await drain(receive)
        await _until_hung_up(receive, NEVER_LONGER_S)

    return middleware
