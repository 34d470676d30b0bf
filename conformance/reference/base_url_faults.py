"""Faults in how paths, prefixes and redirects are handled, and in error hygiene around keys and ids
(seed 001: host, host/v1 or host/v1/chat/completions; compat-bugs section A)."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .faults import _on, _request_header, _rewriting, fault

_SPA_PAGE = b"<!doctype html><html><head><title>Chat UI</title></head><body><div id=root></div></body></html>"


async def _answer(send: Send, status: int, headers: dict[str, str], body: bytes) -> None:
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in {**headers, "content-length": str(len(body))}.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _intercept(app: ASGIApp, decide: Any) -> ASGIApp:
    """Answer some requests before the app sees them: ``decide(scope)`` returns (status, headers, body) or None."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        answer = decide(scope) if scope["type"] == "http" else None
        if answer is None:
            await app(scope, receive, send)
        else:
            await _answer(send, *answer)

    return middleware


@fault(
    "doubled-prefix-html",
    site="asgi",
    summary="A doubled /v1/v1 path gets a web UI's HTML page with 200.",
    seen_in="web UIs with a single-page-app fallback (open-webui, NextChat deployments); compat-bugs A.1",
)
def _doubled_prefix_html(value: ASGIApp, **_: Any) -> ASGIApp:
    return _intercept(
        value, lambda scope: (200, {"content-type": "text/html"}, _SPA_PAGE) if "/v1/v1/" in scope["path"] else None
    )


@fault(
    "post-trailing-slash-redirect",
    site="asgi",
    summary="POST to a path with a trailing slash is redirected (307).",
    seen_in="Starlette/FastAPI redirect_slashes default; open-webui/open-webui#8317",
)
def _post_trailing_slash_redirect(value: ASGIApp, **_: Any) -> ASGIApp:
    def decide(scope: Scope) -> Any:
        path = scope["path"]
        if scope["method"] == "POST" and path.endswith("/") and len(path) > 1:
            return 307, {"location": path.rstrip("/"), "content-type": "text/plain"}, b""
        return None

    return _intercept(value, decide)


@fault(
    "double-slash-500",
    site="asgi",
    summary="A path with a double slash crashes the router (500, plain text).",
    seen_in="BerriAI/litellm#8350 (…/v1//chat/completions)",
)
def _double_slash_500(value: ASGIApp, **_: Any) -> ASGIApp:
    return _intercept(
        value,
        lambda scope: (
            (500, {"content-type": "text/plain"}, b"Internal Server Error") if "//" in scope["path"] else None
        ),
    )


@fault(
    "models-trailing-slash-500",
    site="asgi",
    summary="GET /models/ is read as a model with an empty id and crashes.",
    seen_in="qualcomm/GenieX#640 (model name is empty)",
)
def _models_trailing_slash_500(value: ASGIApp, **_: Any) -> ASGIApp:
    body = json.dumps({"error": "model name is empty"}).encode()
    return _intercept(
        value,
        lambda scope: (500, {"content-type": "application/json"}, body) if scope["path"].endswith("/models/") else None,
    )


@fault(
    "no-request-id",
    site="asgi",
    summary="Responses carry no request id header.",
    seen_in="llama.cpp llama-server (research llama-peer.md: no request id)",
)
def _no_request_id(value: ASGIApp, **_: Any) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        async def strip(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() not in (b"x-request-id", b"request-id")
                ]
                message = {**message, "headers": headers}
            await send(message)

        await value(scope, receive, strip)

    return middleware


@fault(
    "auth-error-echoes-key",
    site="asgi",
    summary="The 401 for a wrong key quotes the key in full.",
    seen_in="seed 001 (the SDK message quotes a masked key; servers that do not mask leak it into logs)",
)
def _auth_error_echoes_key(value: ASGIApp, **_: Any) -> ASGIApp:
    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes) -> Any:
        token = (_request_header(scope, b"authorization") or "").partition(" ")[2].strip()
        if status != 401 or not token:
            return None
        envelope = {
            "error": {
                "message": f"Incorrect API key provided: {token}.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        }
        return status, headers, json.dumps(envelope).encode()

    return _rewriting(value, rewrite)


_CLAMPS = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "presence_penalty": (-2.0, 2.0),
    "frequency_penalty": (-2.0, 2.0),
}
_ROLES = ("system", "developer", "user", "assistant", "tool", "function")


@fault(
    "range-unchecked",
    site="request",
    summary="Out-of-range values are silently clamped (temperature 2.5 → 2, n 0 → 1, 5 stop sequences → 4).",
    seen_in="Groq docs (temperature 0 becomes 1e-8); Prism and LiteLLM accept anything (peers.md)",
)
def _range_unchecked(value: Any, *, path: str = "", **_: Any) -> Any:
    if not _on(path, "/chat/completions") or not isinstance(value, dict):
        return value
    body = dict(value)
    for key, (low, high) in _CLAMPS.items():
        if isinstance(body.get(key), int | float) and not isinstance(body[key], bool):
            body[key] = min(max(body[key], low), high)
    for key in ("n", "max_tokens"):
        if isinstance(body.get(key), int) and not isinstance(body[key], bool) and body[key] < 1:
            body[key] = 1
    if isinstance(body.get("stop"), list):
        body["stop"] = body["stop"][:4]
    if isinstance(body.get("messages"), list):
        body["messages"] = [
            {**m, "role": "user"} if isinstance(m, dict) and m.get("role") not in _ROLES else m
            for m in body["messages"]
        ]
    return body
