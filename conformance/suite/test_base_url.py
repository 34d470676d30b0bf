"""URL-*: the base URL as clients build it (seed 001: host, host/v1 or host/v1/chat/completions;
openai-python joins base_url + relative path, never adding /v1; compat-bugs section A)."""

from __future__ import annotations

from conformance import expect
from conformance.core.results import Violation
from conformance.plugin import requirement
from conformance.transport.client import HttpClient

REDIRECTS = (301, 302, 303, 307, 308)


@requirement("URL-001")
def test_doubled_v1_gets_a_json_404(client: HttpClient) -> None:
    # What a client that appends /v1 itself sends when it is given a base that already ends in /v1.
    exchange = client.request("GET", "v1/models")
    expect.answered(exchange)
    if exchange.status == 200 and "models" not in exchange.text:
        raise Violation(
            "A doubled /v1 path is answered 200 with something else",
            expected="a JSON 404 (or the list)",
            actual=f"200 {exchange.content_type}: {exchange.text[:120]!r}",
            evidence=exchange,
        )
    if exchange.status != 200:
        expect.status(exchange, 404, title="A doubled /v1 path is not a clean 404")
        expect.error_envelope(exchange)


@requirement("URL-002", needs="chat")
def test_post_is_never_redirected(client: HttpClient, chat_model: str) -> None:
    body = {"model": chat_model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}
    for path in ("chat/completions/", "chat/completions"):
        exchange = client.request("POST", path, json_body=body)
        expect.answered(exchange)
        if exchange.status in REDIRECTS:
            raise Violation(
                "A POST was answered with a redirect",
                pointer=f"POST {path}",
                expected="served, or a JSON 404 (clients drop the body or switch to GET on redirects)",
                actual=f"{exchange.status} Location: {exchange.headers.get('location', '(none)')}",
                evidence=exchange,
            )


@requirement("URL-003")
def test_double_slash_is_served_or_refused_cleanly(client: HttpClient) -> None:
    exchange = client.request("GET", client.url("models").replace("/models", "//models"))
    expect.answered(exchange)
    assert exchange.status is not None
    if exchange.status >= 500 or exchange.status in REDIRECTS:
        raise Violation(
            "A double slash in the path is not served or refused cleanly",
            pointer="GET {base}//models",
            expected="the model list, or a 4xx JSON error",
            actual=f"{exchange.status} {exchange.text[:120]!r}",
            evidence=exchange,
        )
    expect.json_value(exchange)
