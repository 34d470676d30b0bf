"""TRANSPORT-*: the provider answers in time, at a steady pace and in bounded size; its streams end and are
not cut; its bodies are UTF-8 and what their label says; it neither redirects POSTs nor rate-limits
forever. (An error that echoes the key is AUTH-004's.)

These are the behaviours that make clients hang, crash or leak rather than misread a field. Each check
reads its own small request (conformance/probes/transport.py), tagged with the ``x-oai-conformance-probe``
header (so provider logs can be matched to the report), under its own short limits: a hostile provider
costs each check seconds, not the run's full timeouts. What the HTTP layer does about such a provider
everywhere else (hard deadlines, byte caps, the circuit breaker, bounded backoff) is in
``conformance/http.py``.
"""

from __future__ import annotations

import httpx

from conformance import expect
from conformance.core.results import NotApplicable, ProviderTimeout, Violation
from conformance.engine import check
from conformance.probes.base_url import Sent
from conformance.probes.transport import STREAM_EVENTS, STREAM_MAX_TOKENS, STREAM_S, quick
from conformance.target import Target
from conformance.transport.delivery import TransportLog
from conformance.transport.exchange import Exchange, StreamExchange
from conformance.transport.limits import RETRY_STATUSES
from conformance.transport.urls import origin


def _received(exchange: Exchange) -> str:
    return f"{len(exchange.body)} bytes in {len(exchange.chunks)} reads over {exchange.elapsed_s:.1f} s"


@check("TRANSPORT-001")
def test_request_is_answered_in_time(target: Target, transport_models_in_time: Exchange) -> None:
    limit = quick(target)
    exchange = transport_models_in_time
    if exchange.error == "timeout" and exchange.status is None:
        raise ProviderTimeout(
            "No answer within the time limit",
            expected=f"a status line and headers within {limit:g} s",
            actual=exchange.error_detail,
            evidence=exchange,
        )
    expect.answered(exchange)


@check("TRANSPORT-002")
def test_answer_arrives_at_a_steady_pace(target: Target, transport_models_steady: Exchange) -> None:
    limit = quick(target)
    exchange = transport_models_steady
    if exchange.error == "timeout" and exchange.status is not None:
        raise ProviderTimeout(
            "The answer trickled in and did not complete in time",
            expected=f"the whole body within {limit:g} s",
            actual=f"{_received(exchange)}; reading stopped at the limit",
            detail="Per-read timeouts never fire on such a body: clients without a total deadline hang.",
            evidence=exchange,
        )
    expect.answered(exchange)


@check("TRANSPORT-003", needs="chat")
def test_stream_ends(transport_stream_ends: StreamExchange) -> None:
    stream = transport_stream_ends
    if stream.not_sent and "did not end" in stream.error_detail:
        raise Violation(
            "Streams do not end",
            expected=f"the end of the body within {STREAM_EVENTS} events and {STREAM_S:g} s "
            f"(max_tokens is {STREAM_MAX_TOKENS})",
            actual=f"this stream was not sent: the earlier ones of its kind never ended ({stream.error_detail})",
            evidence=stream,
        )
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


@check("TRANSPORT-004")
def test_body_is_bounded(target: Target, transport_models_bounded: Exchange) -> None:
    exchange = transport_models_bounded
    if exchange.error == "too-large":
        declared = exchange.headers.get("content-length", "not given")
        raise Violation(
            "The response body is too large",
            expected=f"at most {target.max_body_bytes} bytes (--max-body-bytes)",
            actual=f"more than that (Content-Length: {declared}); reading stopped at the cap",
            evidence=exchange,
        )
    expect.answered(exchange)


@check("TRANSPORT-005", needs="chat")
def test_body_is_utf8(transport_chat_utf8: Exchange) -> None:
    exchange = transport_chat_utf8
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


@check("TRANSPORT-006", needs="chat")
def test_stream_is_not_cut_off(transport_stream_whole: StreamExchange) -> None:
    stream = transport_stream_whole
    if stream.status is not None and stream.error in ("reset", "protocol"):
        raise Violation(
            "The connection broke in the middle of the stream",
            expected="the body to end cleanly (after data: [DONE])",
            actual=f"{stream.error}: {stream.error_detail} after {len(stream.events)} events",
            evidence=stream,
        )
    if stream.status is None:
        expect.answered(stream)


@check("TRANSPORT-007")
def test_json_label_means_json(transport_models_json: Exchange) -> None:
    exchange = transport_models_json
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


@check("TRANSPORT-008", needs="chat")
def test_post_is_not_redirected(transport_chat_post: Sent) -> None:
    exchange = transport_chat_post.exchange
    expect.answered(exchange)
    assert exchange.status is not None
    # Legal is legal: a same-origin 307/308 whose target serves the POST is what both SDKs follow with
    # the body (openai-python src/openai/_base_client.py:979 follow_redirects=True; fetch in node).
    if 300 <= exchange.status < 400 and not transport_chat_post.legal_redirect:
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


@check("TRANSPORT-009")
def test_rate_limit_lets_a_polite_client_through(target: Target, transport_models_polite: Exchange) -> None:
    exchange = transport_models_polite
    expect.answered(exchange)
    if exchange.status not in RETRY_STATUSES:
        return
    if not exchange.attempts:
        raise NotApplicable(f"{exchange.status} and retries are off (--max-retries 0): not judged")
    raise Violation(
        "Still refused after waiting as asked",
        expected=f"an answer once the client honoured Retry-After ({target.max_retries} retries)",
        actual=f"{exchange.status} {exchange.reason} on every attempt: {'; '.join(exchange.attempts)}",
        evidence=exchange,
    )


@check("TRANSPORT-010")
def test_the_official_clients_are_served(
    models_listing: Exchange, transport_models_as_sdks: tuple[tuple[str, Exchange], ...]
) -> None:
    if models_listing.status != 200:
        raise NotApplicable(f"GET /models is not served to any client ({models_listing.status}): see MODELS-001")
    for name, exchange in transport_models_as_sdks:
        expect.answered(exchange)
        if exchange.status != 200:
            raise Violation(
                f"GET /models is refused to {name}'s User-Agent but served to other clients",
                expected="200, as for the same request with another User-Agent",
                actual=f"{exchange.status} {exchange.reason}",
                evidence=(exchange, models_listing),
            )


@check("TRANSPORT-012", needs="chat")
def test_post_gets_an_answer(transport_chat_answered: Exchange) -> None:
    exchange = transport_chat_answered
    if exchange.error == "timeout" and exchange.status is None:
        raise ProviderTimeout(
            "A POST got no answer",
            expected="a status line and headers within the time limit",
            actual="; ".join([*exchange.attempts, exchange.error_detail]),
            detail="Checks whose requests went unanswered the same way report SKIP (see TRANSPORT-012).",
            evidence=exchange,
        )
    expect.answered(exchange)


@check("TRANSPORT-013")
def test_provider_does_not_stall(transport_log: TransportLog) -> None:
    stalls = transport_log.stalls()
    if not stalls:
        return
    first = stalls[0]
    raise Violation(
        "The provider stalled: requests it was free to answer got no answer in time",
        expected="an answer within the time limit, the first time",
        actual=f"{len(stalls)} request(s) got no answer in time while the provider answered nothing of the run "
        f"and served no runaway request of it, and were answered when sent again (the first "
        f"{first.after_s:.1f} s later): " + "; ".join(f"{s.missed.method} {s.missed.url}" for s in stalls[:3]),
        evidence=[stall.missed for stall in stalls[:3]],
    )
