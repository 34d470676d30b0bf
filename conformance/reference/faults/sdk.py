"""Faults that only the official clients see (SDK-PY-*, SDK-NODE-*).

The raw-HTTP checks send their own requests; these deviations hit what the SDKs send differently
(their User-Agent, their headers), so only the real-client oracle (conformance/checks/sdk.py) can
catch them: the provider passes every contract check, yet a user's code breaks.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from ._asgi import request_header
from ._registry import fault

# A trimmed Cloudflare "Sorry, you have been blocked" page, as forpublicai/platform.publicai.co#8 quotes it.
_BLOCK_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Attention Required! | Cloudflare</title></head>\n<body>"
    b'<h1 data-translate="block_headline">Sorry, you have been blocked</h1>\n'
    b"<h2>You are unable to access this API</h2></body></html>\n"
)


@fault(
    "sdk-client-blocked",
    site="asgi",
    summary="A WAF in front of the API answers the official SDKs (User-Agent OpenAI/Python, OpenAI/JS) with a 403 "
    "HTML block page; curl and other clients are served.",
    seen_in="forpublicai/platform.publicai.co#8 (Cloudflare blocked openai-python while curl and Open-WebUI worked)",
)
def _sdk_client_blocked(value: ASGIApp, **_: Any) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        agent = request_header(scope, b"user-agent") if scope["type"] == "http" else None
        if not (agent or "").startswith("OpenAI/"):
            await value(scope, receive, send)
            return
        headers = [(b"content-type", b"text/html; charset=UTF-8"), (b"content-length", str(len(_BLOCK_PAGE)).encode())]
        await send({"type": "http.response.start", "status": 403, "headers": headers})
        await send({"type": "http.response.body", "body": _BLOCK_PAGE})

    return middleware
