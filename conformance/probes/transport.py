"""Probes of the transport checks: each TRANSPORT check's own small request, tagged with the
``x-oai-conformance-probe`` header (so provider logs can be matched to the report, and the reference
provider's transport faults act on that request only), under its own short limits: a hostile provider
costs each request seconds, not the run's full timeouts. ``transport_log`` sends nothing: it is the
record the transport keeps across the whole run (stalls the provider recovered from)."""

from __future__ import annotations

from conformance import builders
from conformance.engine import probe
from conformance.probes.base_url import Sent, send_following
from conformance.target import Target
from conformance.transport.client import HttpClient
from conformance.transport.delivery import TransportLog
from conformance.transport.exchange import Exchange, StreamExchange

PROBE_HEADER = "x-oai-conformance-probe"


# GET /models costs the provider nothing: 3 s (or --timeout when smaller) is generous for it, and keeps a
# provider that hangs or trickles from costing the run more than that.
QUICK_S = 3.0


# A stream of a few tokens: anything beyond these limits is not going to end.
STREAM_S = 10.0


STREAM_EVENTS = 1000


STREAM_MAX_TOKENS = 4


def tag(requirement_id: str) -> dict[str, str]:
    return {PROBE_HEADER: requirement_id}


def quick(target: Target) -> float:
    return min(QUICK_S, target.timeout)


def _quick_models(client: HttpClient, requirement_id: str) -> Exchange:
    return client.request("GET", "models", headers=tag(requirement_id), timeout=quick(client.target))


def _short_stream(client: HttpClient, chat_model: str, requirement_id: str) -> StreamExchange:
    body = builders.chat_body(chat_model, client.target, stream=True, max_tokens=STREAM_MAX_TOKENS)
    return client.stream(
        "POST",
        "chat/completions",
        json_body=body,
        headers=tag(requirement_id),
        max_seconds=STREAM_S,
        max_events=STREAM_EVENTS,
    )


@probe
def transport_models_in_time(client: HttpClient) -> Exchange:
    """TRANSPORT-001: GET /models under the quick limit."""
    return _quick_models(client, "TRANSPORT-001")


@probe
def transport_models_steady(client: HttpClient) -> Exchange:
    """TRANSPORT-002: GET /models under the quick limit."""
    return _quick_models(client, "TRANSPORT-002")


@probe
def transport_stream_ends(client: HttpClient, chat_model: str) -> StreamExchange:
    """TRANSPORT-003: a short chat stream under the stream limits."""
    return _short_stream(client, chat_model, "TRANSPORT-003")


@probe
def transport_models_bounded(client: HttpClient) -> Exchange:
    """TRANSPORT-004: GET /models (the body cap is the run's)."""
    return client.request("GET", "models", headers=tag("TRANSPORT-004"))


@probe
def transport_chat_utf8(client: HttpClient, chat_model: str) -> Exchange:
    """TRANSPORT-005: a short chat completion."""
    body = builders.chat_body(chat_model, client.target, max_tokens=STREAM_MAX_TOKENS)
    return client.request("POST", "chat/completions", json_body=body, headers=tag("TRANSPORT-005"))


@probe
def transport_stream_whole(client: HttpClient, chat_model: str) -> StreamExchange:
    """TRANSPORT-006: a short chat stream under the stream limits."""
    return _short_stream(client, chat_model, "TRANSPORT-006")


@probe
def transport_models_json(client: HttpClient) -> Exchange:
    """TRANSPORT-007: GET /models."""
    return client.request("GET", "models", headers=tag("TRANSPORT-007"))


@probe
def transport_chat_post(client: HttpClient, chat_model: str) -> Sent:
    """TRANSPORT-008: a one-token chat completion; a same-origin 307/308 is followed, as the SDKs do."""
    body = builders.chat_body(chat_model, client.target, max_tokens=1)
    return send_following(client, "POST", "chat/completions", json_body=body, headers=tag("TRANSPORT-008"))


@probe
def transport_models_polite(client: HttpClient) -> Exchange:
    """TRANSPORT-009: GET /models, retried after 429/503 as Retry-After asks."""
    return client.request("GET", "models", headers=tag("TRANSPORT-009"))


def sdk_agents() -> dict[str, dict[str, str]]:
    """The identifying headers the official clients send, by client: what a WAF or gateway rule keys on."""
    import openai

    from conformance.sdk.node import NODE_OPENAI_VERSION

    return {
        "openai-python": {
            "User-Agent": f"OpenAI/Python {openai.__version__}",
            "X-Stainless-Lang": "python",
            "X-Stainless-Package-Version": openai.__version__,
        },
        "openai-node": {
            "User-Agent": f"OpenAI/JS {NODE_OPENAI_VERSION}",
            "X-Stainless-Lang": "js",
            "X-Stainless-Package-Version": NODE_OPENAI_VERSION,
        },
    }


@probe
def transport_models_as_sdks(client: HttpClient) -> tuple[tuple[str, Exchange], ...]:
    """TRANSPORT-010: GET /models sent with each official client's User-Agent and X-Stainless headers."""
    return tuple(
        (
            name,
            client.request("GET", "models", headers={**tag("TRANSPORT-010"), **headers}, timeout=quick(client.target)),
        )
        for name, headers in sdk_agents().items()
    )


@probe
def transport_chat_answered(client: HttpClient, chat_model: str) -> Exchange:
    """TRANSPORT-012: a one-token chat completion under the run's time limit."""
    body = builders.chat_body(chat_model, client.target, max_tokens=1)
    return client.request("POST", "chat/completions", json_body=body, headers=tag("TRANSPORT-012"))


@probe
def transport_log(client: HttpClient) -> TransportLog:
    """TRANSPORT-013: what the transport saw across the run (sends nothing; checks read it after every
    request of the run was sent)."""
    return client.log
