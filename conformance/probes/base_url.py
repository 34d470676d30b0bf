"""Probes of the base-URL checks: paths as clients mis-build them (doubled /v1, trailing or double slash).

A same-origin 307/308 is followed once, as the official clients follow it: openai-python sends with
``follow_redirects=True`` (src/openai/_base_client.py:979 ``kwargs.setdefault("follow_redirects", True)``)
and httpx keeps the method and body on a 307/308; openai-node's fetch does the same (WHATWG fetch,
redirect "follow"). Whether the redirect's target serves the request is then the checks' question.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from conformance import expect
from conformance.engine import probe
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange
from conformance.transport.urls import origin

REDIRECTS = (301, 302, 303, 307, 308)
# The redirects that keep the method and the body (RFC 9110 §15.4.8, §15.4.9).
KEEPS_BODY = (307, 308)
CHAT_PATHS = ("chat/completions/", "chat/completions")  # with a trailing slash first


@dataclass(frozen=True)
class Sent:
    """One request as a client sends it, and where a same-origin 307/308 led (``followed``)."""

    path: str
    exchange: Exchange
    followed: Exchange | None = None

    @property
    def legal_redirect(self) -> bool:
        """A same-origin 307/308 whose target served the request: what both SDKs follow, with the body."""
        followed = self.followed
        return followed is not None and followed.status is not None and 200 <= followed.status < 300

    def redirect_note(self) -> str:
        """Why a redirect is not the legal kind, for a violation's ``actual``."""
        if self.followed is not None:
            return f"; its target answered {self.followed.status} {self.followed.reason}".rstrip()
        if self.exchange.status in KEEPS_BODY:
            return "; to another origin (or without a Location): not followed"
        return "; the SDKs follow a 301/302/303 by re-sending the request as a GET without its body"


def same_origin_target(exchange: Exchange) -> str | None:
    """Where a 307/308 to the target's own origin points (the key may go there); None for anything else."""
    location = exchange.headers.get("location")
    if exchange.status not in KEEPS_BODY or not location:
        return None
    where = str(httpx.URL(exchange.url).join(location))
    return where if origin(where) == origin(exchange.url) else None


def send_following(
    client: HttpClient, method: str, path: str, *, json_body: Any = None, headers: dict[str, str] | None = None
) -> Sent:
    exchange = client.request(method, path, json_body=json_body, headers=headers)
    where = same_origin_target(exchange)
    followed = client.request(method, where, json_body=json_body, headers=headers) if where else None
    return Sent(path, exchange, followed)


@probe
def doubled_v1_models(client: HttpClient) -> Exchange:
    # What a client that appends /v1 itself sends when it is given a base that already ends in /v1.
    return client.request("GET", "v1/models")


@probe
def chat_posts_by_path(client: HttpClient, chat_model: str) -> tuple[Sent, ...]:
    """POST /chat/completions/ and then /chat/completions; the second is sent only while the first was
    answered and not redirected, or redirected where it was served (URL-002 stops at the first finding)."""
    body = {"model": chat_model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}
    sent: list[Sent] = []
    for path in CHAT_PATHS:
        post = send_following(client, "POST", path, json_body=body)
        sent.append(post)
        try:
            expect.answered(post.exchange)
        except Exception:
            break
        if post.exchange.status in REDIRECTS and not post.legal_redirect:
            break
    return tuple(sent)


@probe
def double_slash_models(client: HttpClient) -> Exchange:
    return client.request("GET", client.url("models").replace("/models", "//models"))
