"""Probes of the base-URL checks: paths as clients mis-build them (doubled /v1, trailing or double slash)."""

from __future__ import annotations

from conformance import expect
from conformance.engine import probe
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange

REDIRECTS = (301, 302, 303, 307, 308)
CHAT_PATHS = ("chat/completions/", "chat/completions")  # with a trailing slash first


@probe
def doubled_v1_models(client: HttpClient) -> Exchange:
    # What a client that appends /v1 itself sends when it is given a base that already ends in /v1.
    return client.request("GET", "v1/models")


@probe
def chat_posts_by_path(client: HttpClient, chat_model: str) -> tuple[tuple[str, Exchange], ...]:
    """POST /chat/completions/ and then /chat/completions, each path with its exchange; the second is
    sent only while the first was answered and not redirected (URL-002 stops at the first finding)."""
    body = {"model": chat_model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}
    sent: list[tuple[str, Exchange]] = []
    for path in CHAT_PATHS:
        exchange = client.request("POST", path, json_body=body)
        sent.append((path, exchange))
        try:
            expect.answered(exchange)
        except Exception:
            break
        if exchange.status in REDIRECTS:
            break
    return tuple(sent)


@probe
def double_slash_models(client: HttpClient) -> Exchange:
    return client.request("GET", client.url("models").replace("/models", "//models"))
