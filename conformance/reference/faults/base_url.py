"""Faults in how paths, prefixes and redirects are handled (URL-*; seed 001: host, host/v1 or
host/v1/chat/completions; compat-bugs section A).
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Scope

from ._asgi import intercept
from ._registry import fault, variation

_SPA_PAGE = b"<!doctype html><html><head><title>Chat UI</title></head><body><div id=root></div></body></html>"


@fault(
    "doubled-prefix-html",
    site="asgi",
    summary="A doubled /v1/v1 path gets a web UI's HTML page with 200.",
    seen_in="web UIs with a single-page-app fallback (open-webui, NextChat deployments); compat-bugs A.1",
)
def _doubled_prefix_html(value: ASGIApp, **_: Any) -> ASGIApp:
    return intercept(
        value, lambda scope: (200, {"content-type": "text/html"}, _SPA_PAGE) if "/v1/v1/" in scope["path"] else None
    )


def _trailing_slash_redirect(value: ASGIApp, status: int) -> ASGIApp:
    def decide(scope: Scope) -> Any:
        path = scope["path"]
        if scope["method"] == "POST" and path.endswith("/") and len(path) > 1:
            # Relative to the request (../completions from .../chat/completions/), so that it stays on the
            # faulty app wherever it is mounted; Starlette sends the same target as an absolute URL.
            location = "../" + path.rstrip("/").rsplit("/", 1)[-1]
            return status, {"location": location, "content-type": "text/plain"}, b""
        return None

    return intercept(value, decide)


@variation(
    "post-trailing-slash-307",
    site="asgi",
    summary="POST to a path with a trailing slash is redirected (307) to the path without it, where it is served.",
    seen_in="Starlette/FastAPI redirect_slashes default; open-webui/open-webui#8317. Legal: openai-python "
    "(follow_redirects=True) and openai-node (fetch) re-send the POST with its body",
)
def _post_trailing_slash_307(value: ASGIApp, **_: Any) -> ASGIApp:
    return _trailing_slash_redirect(value, 307)


@fault(
    "post-trailing-slash-301",
    site="asgi",
    summary="POST to a path with a trailing slash is redirected with 301 Moved Permanently.",
    seen_in="the same slash redirect with a permanent status: Werkzeug/Flask strict_slashes before 2.0 (301), "
    "nginx `rewrite ^(.+)/$ $1 permanent`; open-webui/open-webui#8317; a followed 301 turns the POST into a GET",
)
def _post_trailing_slash_301(value: ASGIApp, **_: Any) -> ASGIApp:
    return _trailing_slash_redirect(value, 301)


@fault(
    "double-slash-500",
    site="asgi",
    summary="A path with a double slash crashes the router (500, plain text).",
    seen_in="BerriAI/litellm#8350 (…/v1//chat/completions)",
)
def _double_slash_500(value: ASGIApp, **_: Any) -> ASGIApp:
    return intercept(
        value,
        lambda scope: (
            (500, {"content-type": "text/plain"}, b"Internal Server Error") if "//" in scope["path"] else None
        ),
    )
