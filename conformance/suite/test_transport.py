"""TRANSPORT-*: the provider answers in time, at a steady pace and in bounded size; its streams end and are
not cut; its bodies are UTF-8 and what their label says; it neither redirects POSTs nor rate-limits
forever. (An error that echoes the key is AUTH-004's.)

These are the behaviours that make clients hang, crash or leak rather than misread a field. Each check
sends its own small request, tagged with the ``x-oai-conformance-probe`` header (so provider logs can be
matched to the report), under its own short limits: a hostile provider costs each check seconds, not
the run's full timeouts. What the HTTP layer does about such a provider everywhere else (hard deadlines,
byte caps, the circuit breaker, bounded backoff) is in ``conformance/http.py``.
"""

from __future__ import annotations

import httpx

from conformance import expect, probes
from conformance.core.results import NotApplicable, ProviderTimeout, Violation
from conformance.plugin import requirement
from conformance.target import Target
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange, StreamExchange
from conformance.transport.limits import RETRY_STATUSES
from conformance.transport.urls import origin

PROBE_HEADER = "x-oai-conformance-probe"
# GET /models costs the provider nothing: 3 s (or --timeout when smaller) is generous for it, and keeps a
# provider that hangs or trickles from costing the run more than that.
QUICK_S = 3.0
# A stream of a few tokens: anything beyond these limits is not going to end.
STREAM_S = 10.0
STREAM_EVENTS = 1000
STREAM_MAX_TOKENS = 4


def _tag(requirement_id: str) -> dict[str, str]:
    return {PROBE_HEADER: requirement_id}


def _quick(target: Target) -> float:
    return min(QUICK_S, target.timeout)


def _short_stream(client: HttpClient, chat_model: str, requirement_id: str) -> StreamExchange:
    body = probes.chat_body(chat_model, client.target, stream=True, max_tokens=STREAM_MAX_TOKENS)
    return client.stream(
        "POST",
        "chat/completions",
        json_body=body,
        headers=_tag(requirement_id),
        max_seconds=STREAM_S,
        max_events=STREAM_EVENTS,
    )


def _received(exchange: Exchange) -> str:
    return f"{len(exchange.body)} bytes in {len(exchange.chunks)} reads over {exchange.elapsed_s:.1f} s"


@requirement("TRANSPORT-001")
def test_request_is_answered_in_time(client: HttpClient) -> None:
    limit = _quick(client.target)
    exchange = client.request("GET", "models", headers=_tag("TRANSPORT-001"), timeout=limit)
    if exchange.error == "timeout" and exchange.status is None:
        raise ProviderTimeout(
            "No answer within the time limit",
            expected=f"a status line and headers within {limit:g} s",
            actual=exchange.error_detail,
            evidence=exchange,
        )
    expect.answered(exchange)


@requirement("TRANSPORT-002")
def test_answer_arrives_at_a_steady_pace(client: HttpClient) -> None:
    limit = _quick(client.target)
    exchange = client.request("GET", "models", headers=_tag("TRANSPORT-002"), timeout=limit)
    if exchange.error == "timeout" and exchange.status is not None:
        raise ProviderTimeout(
            "The answer trickled in and did not complete in time",
            expected=f"the whole body within {limit:g} s",
            actual=f"{_received(exchange)}; reading stopped at the limit",
            detail="Per-read timeouts never fire on such a body: clients without a total deadline hang.",
            evidence=exchange,
        )
    expect.answered(exchange)


@requirement("TRANSPORT-003", needs="chat")
def test_stream_ends(client: HttpClient, chat_model: str) -> None:
    stream = _short_stream(client, chat_model, "TRANSPORT-003")
    if stream.cut_short is not None:
        raise Violation(
            "The stream did not end",
            expected=f"the end of the body within {STREAM_EVENTS} events and {STREAM_S:g} s "
            f"(max_tokens is {STREAM_MAX_TOKENS})",
            actual=f"still streaming when reading stopped ({stream.cut_short}): {len(stream.events)} events, "
            f"{_received(stream)}",
            evidence=stream,
        )
    if stream.error == "timeout" and stream.status is not None:
        raise ProviderTimeout(
            "The stream stalled and did not end",
            expected="the end of the body",
            actual=f"{stream.error_detail} after {len(stream.events)} events",
            evidence=stream,
        )
    if stream.status is None:
        expect.answered(stream)


@requirement("TRANSPORT-004")
def test_body_is_bounded(client: HttpClient) -> None:
    exchange = client.request("GET", "models", headers=_tag("TRANSPORT-004"))
    if exchange.error == "too-large":
        declared = exchange.headers.get("content-length", "not given")
        raise Violation(
            "The response body is too large",
            expected=f"at most {client.target.max_body_bytes} bytes (--max-body-bytes)",
            actual=f"more than that (Content-Length: {declared}); reading stopped at the cap",
            evidence=exchange,
        )
    expect.answered(exchange)


@requirement("TRANSPORT-005", needs="chat")
def test_body_is_utf8(client: HttpClient, chat_model: str) -> None:
    body = probes.chat_body(chat_model, client.target, max_tokens=STREAM_MAX_TOKENS)
    exchange = client.request("POST", "chat/completions", json_body=body, headers=_tag("TRANSPORT-005"))
    expect.answered(exchange)
    try:
        exchange.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        around = exchange.body[max(exc.start - 24, 0) : exc.end + 24]
        raise Violation(
            "The body is not valid UTF-8",
            pointer=f"byte {exc.start}",
            expected="UTF-8 text (RFC 8259 §8.1: JSON exchanged between systems MUST be UTF-8)",
            actual=f"{exc.reason}: {around!r}",
            evidence=exchange,
        ) from None


@requirement("TRANSPORT-006", needs="chat")
def test_stream_is_not_cut_off(client: HttpClient, chat_model: str) -> None:
    stream = _short_stream(client, chat_model, "TRANSPORT-006")
    if stream.status is not None and stream.error in ("reset", "protocol"):
        raise Violation(
            "The connection broke in the middle of the stream",
            expected="the body to end cleanly (after data: [DONE])",
            actual=f"{stream.error}: {stream.error_detail} after {len(stream.events)} events",
            evidence=stream,
        )
    if stream.status is None:
        expect.answered(stream)


@requirement("TRANSPORT-007")
def test_json_label_means_json(client: HttpClient) -> None:
    exchange = client.request("GET", "models", headers=_tag("TRANSPORT-007"))
    expect.answered(exchange)
    if exchange.media_type != "application/json" and not exchange.media_type.endswith("+json"):
        raise NotApplicable(f"the answer is labelled {exchange.content_type or '(no Content-Type)'}, not JSON")
    try:
        exchange.json()
    except (ValueError, UnicodeDecodeError):
        excerpt = exchange.text[:160] + ("…" if len(exchange.text) > 160 else "")
        raise Violation(
            "A body labelled JSON is not JSON",
            expected=f"a JSON document, as Content-Type: {exchange.content_type} promises",
            actual=f"{exchange.status} {exchange.reason}: {excerpt!r}",
            evidence=exchange,
        ) from None


@requirement("TRANSPORT-008", needs="chat")
def test_post_is_not_redirected(client: HttpClient, chat_model: str) -> None:
    body = probes.chat_body(chat_model, client.target, max_tokens=1)
    exchange = client.request("POST", "chat/completions", json_body=body, headers=_tag("TRANSPORT-008"))
    expect.answered(exchange)
    assert exchange.status is not None
    if 300 <= exchange.status < 400:
        location = exchange.headers.get("location", "")
        where = str(httpx.URL(exchange.url).join(location)) if location else "(no Location)"
        elsewhere = bool(location) and origin(where) != origin(exchange.url)
        raise Violation(
            "The POST was redirected",
            expected="an answer from the endpoint itself",
            actual=f"{exchange.status} {exchange.reason} → {where}",
            detail="Not followed"
            + (": another origin, so the key was never sent there. " if elsewhere else ". ")
            + "Clients that follow a 301/302 re-send the POST as a GET without its body, and drop the key on "
            "another host.",
            evidence=exchange,
        )


@requirement("TRANSPORT-009")
def test_rate_limit_lets_a_polite_client_through(client: HttpClient) -> None:
    exchange = client.request("GET", "models", headers=_tag("TRANSPORT-009"))
    expect.answered(exchange)
    if exchange.status not in RETRY_STATUSES:
        return
    if not exchange.attempts:
        raise NotApplicable(f"{exchange.status} and retries are off (--max-retries 0): not judged")
    raise Violation(
        "Still refused after waiting as asked",
        expected=f"an answer once the client honoured Retry-After ({client.target.max_retries} retries)",
        actual=f"{exchange.status} {exchange.reason} on every attempt: {'; '.join(exchange.attempts)}",
        evidence=exchange,
    )
