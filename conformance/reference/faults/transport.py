"""Hostile faults: providers that hang, trickle, never stop, flood, garble, cut, mislabel, redirect or
rate-limit forever (the TRANSPORT-* requirements).

Each acts only on the one request of its TRANSPORT check, recognised by the ``x-oai-conformance-probe``
header that check sends, so that one fault breaks one rule and the rest of the run stays clean and
fast. Faults that keep a response open stop as soon as the client hangs up: the reference server must
not keep working for a client that has given up (nor delay its own shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._asgi import answer, drain, hung_up, request_header, rewriting, send_start
from ._registry import fault, variation

PROBE_HEADER = b"x-oai-conformance-probe"
NEVER_LONGER_S = 120.0  # a safety net: no fault keeps a response open longer than this
BYTE_PAUSE_S = 0.02  # trickle: one byte every 20 ms (50 bytes/s)
HUGE_BODY_BYTES = 512 * 1024 * 1024
EVENTS_PER_WRITE = 25

Handler = Callable[[Scope, Receive, Send], Awaitable[None]]


def _probe(scope: Scope) -> str | None:
    return request_header(scope, PROBE_HEADER) if scope["type"] == "http" else None


def _for_probe(app: ASGIApp, requirement: str, handler: Handler) -> ASGIApp:
    """Middleware: the request of ``requirement``'s check goes to ``handler``, every other to ``app``."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if _probe(scope) == requirement:
            await handler(scope, receive, send)
        else:
            await app(scope, receive, send)

    return middleware


async def _captured(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, dict[str, str], bytes]:
    """Run ``app`` and return its whole (non-streamed) response instead of sending it."""
    status, headers, parts = 500, {}, []

    async def capture(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            parts.append(message.get("body", b""))

    await app(scope, receive, capture)
    return status, headers, b"".join(parts)


# time ---------------------------------------------------------------------------------------------


@fault(
    "transport-never-answers",
    site="asgi",
    summary="The request is accepted and never answered: no status line, no headers, nothing.",
    seen_in="llama.cpp server with every slot busy (requests queue without a limit); load balancers that "
    "accept and never forward",
)
def _never_answers(value: ASGIApp, **_: Any) -> ASGIApp:
    async def hang(scope: Scope, receive: Receive, send: Send) -> None:
        await drain(receive)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(hung_up(receive).wait(), NEVER_LONGER_S)

    return _for_probe(value, "TRANSPORT-001", hang)


@fault(
    "transport-byte-at-a-time",
    site="asgi",
    summary="The answer is sent one byte every 20 ms, so each read succeeds but the body never seems to end.",
    seen_in="encode/httpx#1450 (low-and-slow 'slowloris' servers defeat per-read timeouts); overloaded CPU "
    "servers and throttling proxies",
)
def _byte_at_a_time(value: ASGIApp, **_: Any) -> ASGIApp:
    async def trickle(scope: Scope, receive: Receive, send: Send) -> None:
        status, headers, body = await _captured(value, scope, receive)
        gone = hung_up(receive)
        await send_start(send, status, {**headers, "content-length": str(len(body))})
        for index in range(len(body)):
            if gone.is_set():
                return
            await send({"type": "http.response.body", "body": body[index : index + 1], "more_body": True})
            await asyncio.sleep(BYTE_PAUSE_S)
        await send({"type": "http.response.body", "body": b""})

    return _for_probe(value, "TRANSPORT-002", trickle)


@fault(
    "transport-endless-stream",
    site="asgi",
    summary="The stream never ends: content deltas forever, no finish_reason, no [DONE], whatever max_tokens says.",
    seen_in="ggml-org/llama.cpp#6638 (EOS-less generation loops until the context is full); "
    "sgl-project/sglang#414 (generation beyond max_tokens)",
)
def _endless_stream(value: ASGIApp, **_: Any) -> ASGIApp:
    async def endless(scope: Scope, receive: Receive, send: Send) -> None:
        await drain(receive)
        gone = hung_up(receive)
        await send_start(send, 200, {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"})
        created = int(time.time())
        chunk = {
            "id": "chatcmpl-endless",
            "object": "chat.completion.chunk",
            "created": created,
            "model": "ref-chat",
            "choices": [{"index": 0, "delta": {"content": " and"}, "logprobs": None, "finish_reason": None}],
        }
        frame = b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"
        stop_at = time.monotonic() + NEVER_LONGER_S
        while not gone.is_set() and time.monotonic() < stop_at:
            await send({"type": "http.response.body", "body": frame * EVENTS_PER_WRITE, "more_body": True})
            await asyncio.sleep(0.001)

    return _for_probe(value, "TRANSPORT-003", endless)


# size and bytes -----------------------------------------------------------------------------------


@fault(
    "transport-huge-body",
    site="asgi",
    summary="GET /models answers a 512 MiB body (Content-Length: 536870912).",
    seen_in="misconfigured gateways that serve a log or model file on an API route; model lists of aggregators "
    "that grow without paging",
)
def _huge_body(value: ASGIApp, **_: Any) -> ASGIApp:
    item = b'{"id":"ref-chat","object":"model","created":1700000000,"owned_by":"oai-conformance"},'
    megabyte = (item * (1024 * 1024 // len(item) + 1))[: 1024 * 1024]

    async def flood(scope: Scope, receive: Receive, send: Send) -> None:
        await drain(receive)
        gone = hung_up(receive)
        await send_start(send, 200, {"content-type": "application/json", "content-length": str(HUGE_BODY_BYTES)})
        await send({"type": "http.response.body", "body": b'{"object":"list","data":[', "more_body": True})
        sent = len(b'{"object":"list","data":[')
        while sent + len(megabyte) <= HUGE_BODY_BYTES and not gone.is_set():
            await send({"type": "http.response.body", "body": megabyte, "more_body": True})
            sent += len(megabyte)
        if not gone.is_set():
            await send({"type": "http.response.body", "body": b"]" * (HUGE_BODY_BYTES - sent)})

    return _for_probe(value, "TRANSPORT-004", flood)


@fault(
    "transport-invalid-utf8",
    site="asgi",
    summary="The chat completion's content starts with a multi-byte character cut in half (bytes E4 BD): "
    "the body is not UTF-8.",
    seen_in="ggml-org/whisper.cpp#3821 and llama.cpp's partial_utf8 handling (a token boundary splits a "
    "multi-byte character and the server writes the half)",
)
def _invalid_utf8(value: ASGIApp, **_: Any) -> ASGIApp:
    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes) -> Any:
        if _probe(scope) != "TRANSPORT-005" or b'"content":"' not in body:
            return None
        return status, headers, body.replace(b'"content":"', b'"content":"\xe4\xbd', 1)

    return rewriting(value, rewrite)


# connection ---------------------------------------------------------------------------------------


def _reset(send: Send) -> bool:
    """Abort the client's connection with a TCP RST (SO_LINGER 0), as a crashed upstream does; False when the
    server's transport cannot be reached (then the caller just drops the connection)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None:
        return False
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return True


@fault(
    "transport-reset-mid-stream",
    site="asgi",
    summary="The connection is reset after the first few events of a stream: no [DONE], no end of the body.",
    seen_in="npuichigo/openai_trtllm#31, konveyor/kai#622 ('peer closed connection without sending complete "
    "message body'); proxies that kill long streams",
)
def _reset_mid_stream(value: ASGIApp, **_: Any) -> ASGIApp:
    async def cut(scope: Scope, receive: Receive, send: Send) -> None:
        bodies = 0
        dropped = False

        async def cutting_send(message: Message) -> None:
            nonlocal bodies, dropped
            if dropped:
                return
            if message["type"] == "http.response.body":
                bodies += 1
                if bodies > 3:
                    dropped = True
                    if not _reset(send):
                        raise ConnectionResetError("transport-reset-mid-stream")  # uvicorn then drops it
                    return
            await send(message)

        await value(scope, receive, cutting_send)

    return _for_probe(value, "TRANSPORT-006", cut)


# labels and locations -----------------------------------------------------------------------------


_NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n"
    b"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


@fault(
    "transport-html-as-json",
    site="asgi",
    summary="An nginx 502 HTML page is sent with Content-Type: application/json.",
    seen_in="oobabooga/textgen#2516 and binary-husky/gpt_academic#715 (JSONDecodeError on a proxy's page); "
    "proxies whose error pages inherit the API's default_type",
)
def _html_as_json(value: ASGIApp, **_: Any) -> ASGIApp:
    async def page(scope: Scope, receive: Receive, send: Send) -> None:
        await drain(receive)
        await answer(send, 502, {"content-type": "application/json"}, _NGINX_502)

    return _for_probe(value, "TRANSPORT-007", page)


@fault(
    "transport-text-as-json",
    site="asgi",
    summary="A plain-text 'Internal Server Error' is sent with Content-Type: application/json.",
    seen_in="HKUDS/nanobot#2289 (plain-text gateway answers the SDK fails to parse); frameworks whose default "
    "500 page keeps the route's JSON media type",
)
def _text_as_json(value: ASGIApp, **_: Any) -> ASGIApp:
    async def text(scope: Scope, receive: Receive, send: Send) -> None:
        await drain(receive)
        await answer(send, 500, {"content-type": "application/json; charset=utf-8"}, b"Internal Server Error")

    return _for_probe(value, "TRANSPORT-007", text)


@fault(
    "transport-post-redirect",
    site="asgi",
    summary="A POST is answered 301 Moved Permanently to the same path on another host.",
    seen_in="NginxProxyManager/nginx-proxy-manager#3352 ('force https' 301s POSTs); psf/requests#4515 "
    "(a followed 301 turns the POST into a GET)",
)
def _post_redirect(value: ASGIApp, **_: Any) -> ASGIApp:
    async def moved(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            await value(scope, receive, send)
            return
        await drain(receive)
        location = "https://api.elsewhere.example" + scope["path"]
        body = b"<html><head><title>301 Moved Permanently</title></head><body>nginx</body></html>"
        await answer(send, 301, {"content-type": "text/html", "location": location}, body)

    return _for_probe(value, "TRANSPORT-008", moved)


# politeness ---------------------------------------------------------------------------------------


_RATE_LIMITED = {
    "error": {
        "message": "Rate limit reached for requests. Please try again in 100ms.",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
}


@fault(
    "transport-rate-limit-forever",
    site="asgi",
    summary="Every attempt is refused 429 with Retry-After, however long the client waits as asked.",
    seen_in="BigPizzaV3/CodexPlusPlus#1224 (upstreams that 429 every retry); tombii/better-ccflare#375 "
    "(429s that retrying never clears)",
)
def _rate_limit_forever(value: ASGIApp, **_: Any) -> ASGIApp:
    async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
        await drain(receive)
        headers = {"content-type": "application/json", "retry-after": "1", "retry-after-ms": "100"}
        await answer(send, 429, headers, json.dumps(_RATE_LIMITED).encode())

    return _for_probe(value, "TRANSPORT-009", refuse)


@variation(
    "transport-rate-limit-bursts",
    site="asgi",
    summary="Every seventh request is refused with 429 and retry-after-ms: 20, each at most once: the retry is served.",
    seen_in="OpenAI and Azure OpenAI rate limits (429 with retry-after-ms / Retry-After): a polite client "
    "waits and is served",
)
def _rate_limit_bursts(value: ASGIApp, **_: Any) -> ASGIApp:
    count = 0
    # A request is refused at most once: its retry is served whatever arrived meanwhile (with requests in
    # flight side by side, "every seventh" could otherwise land on the retry too, and a third refusal
    # would spend the client's retries -- a verdict that depended on timing).
    refused: set[tuple[str, str, bytes]] = set()

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal count
        # Only the suite's own client (which backs off as asked) is throttled: the SDK oracle runs the
        # official clients with retries off, and which of their requests drew a 429 would depend on
        # how many requests earlier checks happened to make.
        agent = next((v for k, v in scope.get("headers", []) if k == b"user-agent"), b"")
        if scope["type"] != "http" or not agent.startswith(b"oai-conformance/"):
            await value(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        request = (scope["method"], scope["path"] + "?" + scope.get("query_string", b"").decode("latin-1"), body)
        count += 1
        if count % 7 == 0 and request not in refused:
            refused.add(request)
            headers = {"content-type": "application/json", "retry-after": "1", "retry-after-ms": "20"}
            await answer(send, 429, headers, json.dumps(_RATE_LIMITED).encode())
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await value(scope, replay, send)

    return middleware
