"""URL-*: the base URL as clients build it (seed 001: host, host/v1 or host/v1/chat/completions;
openai-python joins base_url + relative path, never adding /v1; compat-bugs section A)."""

from __future__ import annotations

from conformance import expect
from conformance.core.results import Violation
from conformance.engine import check
from conformance.probes.base_url import REDIRECTS, Sent
from conformance.transport.exchange import Exchange


@check("URL-001")
def test_doubled_v1_gets_a_json_404(doubled_v1_models: Exchange) -> None:
    exchange = doubled_v1_models
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


@check("URL-002", needs="chat")
def test_post_is_never_redirected(chat_posts_by_path: tuple[Sent, ...]) -> None:
    # A same-origin 307/308 whose target serves the POST is legal: openai-python follows it with the
    # body (follow_redirects=True, src/openai/_base_client.py:979), and so does openai-node's fetch.
    for post in chat_posts_by_path:
        exchange = post.exchange
        expect.answered(exchange)
        if exchange.status in REDIRECTS and not post.legal_redirect:
            raise Violation(
                "A POST was answered with a redirect",
                pointer=f"POST {post.path}",
                expected="served, or a JSON 404; at most a 307/308 to the same origin, where it is served",
                actual=f"{exchange.status} Location: {exchange.headers.get('location', '(none)')}"
                + post.redirect_note(),
                evidence=[e for e in (exchange, post.followed) if e is not None],
            )


@check("URL-003")
def test_double_slash_is_served_or_refused_cleanly(double_slash_models: Exchange) -> None:
    exchange = double_slash_models
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
