"""Probes of the error and auth checks: the requests that should be refused.

Each is sent once per run. Generation requests that a faulty provider might serve anyway carry
``max_tokens`` 1 so a provider that ignores auth or validation costs next to nothing.
"""

from __future__ import annotations

from conformance import builders
from conformance.core.results import NotApplicable
from conformance.engine import probe
from conformance.target import Target
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange


def _chat_refusal_body(model: str, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {"model": model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}
    body.update(extra)
    return body


@probe
def no_key_chat(client: HttpClient, chat_model: str) -> Exchange:
    return client.request("POST", "chat/completions", json_body=_chat_refusal_body(chat_model), auth=False)


@probe
def wrong_key_chat(client: HttpClient, chat_model: str) -> Exchange:
    return client.request("POST", "chat/completions", json_body=_chat_refusal_body(chat_model), auth=builders.WRONG_KEY)


@probe
def unknown_model_chat(client: HttpClient, chat_model: str) -> Exchange:
    return client.request("POST", "chat/completions", json_body=_chat_refusal_body(builders.UNKNOWN_MODEL))


@probe
def bad_json_chat(client: HttpClient, chat_model: str) -> Exchange:
    broken = b'{"model": "' + chat_model.encode() + b'", "messages": [{"role": "user", "content": "Hi"}'
    return client.request("POST", "chat/completions", content=broken, headers={"content-type": "application/json"})


@probe
def missing_messages_chat(client: HttpClient, chat_model: str) -> Exchange:
    return client.request("POST", "chat/completions", json_body={"model": chat_model, "max_tokens": 1})


@probe
def bad_type_chat(client: HttpClient, chat_model: str) -> Exchange:
    return client.request("POST", "chat/completions", json_body=_chat_refusal_body(chat_model, temperature="hot"))


@probe
def messages_not_array_chat(client: HttpClient, chat_model: str) -> Exchange:
    return client.request(
        "POST", "chat/completions", json_body={"model": chat_model, "messages": "Hi", "max_tokens": 1}
    )


@probe
def unknown_model_retrieve(client: HttpClient) -> Exchange:
    return client.request("GET", f"models/{builders.UNKNOWN_MODEL}")


@probe
def api_errors(
    target: Target,
    no_key_chat: Exchange,
    wrong_key_chat: Exchange,
    unknown_model_chat: Exchange,
    bad_json_chat: Exchange,
    missing_messages_chat: Exchange,
    bad_type_chat: Exchange,
    messages_not_array_chat: Exchange,
    unknown_model_retrieve: Exchange,
) -> list[Exchange]:
    """Every probe the provider must refuse, as far as this configuration allows (without a key, a
    request without one or with a wrong one need not be refused)."""
    keyed = [no_key_chat, wrong_key_chat] if target.api_key else []
    return [
        *keyed,
        unknown_model_chat,
        bad_json_chat,
        missing_messages_chat,
        bad_type_chat,
        messages_not_array_chat,
        unknown_model_retrieve,
    ]


@probe
def keyed(target: Target) -> None:
    """Stops the auth checks where the provider is used without a key."""
    if not target.api_key:
        raise NotApplicable("no API key configured: the provider is used without authentication")


@probe(last=True)
def completion_model_on_chat(client: HttpClient, completion_model: str, chat_model: str) -> Exchange | None:
    """The completion model asked for on /chat/completions; None (not sent) where one model serves both.
    Sent last: LiteLLM's router counts the upstream's 404 as a failure of the model's deployment and
    answers every request for that model with 429 for 5 s, so any probe of the completion model sent
    after it would be judged on the cooldown."""
    if completion_model == chat_model:
        return None
    return client.request(
        "POST",
        "chat/completions",
        json_body={"model": completion_model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1},
    )


@probe
def unknown_route(client: HttpClient) -> Exchange:
    return client.request("POST", "oai-conformance-no-such-route", json_body={"model": builders.UNKNOWN_MODEL})


@probe
def wrong_method_chat(client: HttpClient, chat_model: str) -> Exchange:
    """PUT /chat/completions: sent only where there is a chat model (ERR-013 needs chat)."""
    return client.request("PUT", "chat/completions", json_body={})


# Out-of-range values the documented contract rejects (seed 002 ranges; OpenAPI minimum/maximum).
OUT_OF_RANGE = {
    "temperature 2.5": {"temperature": 2.5},
    "top_p 1.5": {"top_p": 1.5},
    "n 0": {"n": 0},
    "presence_penalty 3": {"presence_penalty": 3},
    "frequency_penalty -3": {"frequency_penalty": -3},
    "stop with 5 entries": {"stop": ["a", "b", "c", "d", "e"]},
    "unknown role": {"messages": [{"role": "wizard", "content": "Hi"}]},
}


@probe
def out_of_range_chat(client: HttpClient, chat_model: str) -> dict[str, Exchange]:
    """One chat request per out-of-range case (ERR-014), in the order its cases are judged."""
    sent: dict[str, Exchange] = {}
    for case in sorted(OUT_OF_RANGE):
        body = {
            "model": chat_model,
            "messages": [{"role": "user", "content": "Hi"}],
            "max_tokens": 1,
            **OUT_OF_RANGE[case],
        }
        sent[case] = client.request("POST", "chat/completions", json_body=body)
    return sent
