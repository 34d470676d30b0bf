"""Probes of the request-parameter checks (conformance/checks/chat_params.py): a stop sequence the natural
answer contains (non-streamed and streamed), and the documented optional parameters clients send with every
request -- three small requests. (``max_completion_tokens`` is read from the chat probe ``chat_max_completion_tokens``.)

Which parameter is checked how, and why the others are not: spec/request-parameters.md.
"""

from __future__ import annotations

from typing import Any

from conformance import builders
from conformance.core.results import NotApplicable
from conformance.engine import probe
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange, StreamExchange

#: The documented optional parameters that change nothing a check can see, sent together with the plain
#: request: what LangChain, LiteLLM and agent frameworks add to every call. ``metadata`` is left out: the
#: OpenAI API refuses it unless ``store`` is true, and storing a completion is a side effect.
ACCEPTED_PARAMS: dict[str, Any] = {
    "user": "oai-conformance",
    "seed": 7,
    "store": False,
    "top_p": 1,
    "presence_penalty": 0,
    "frequency_penalty": 0,
    "logit_bias": {},  # LangChain sent an empty map by default (vllm-project/vllm#1045)
}


def stop_word(content: Any) -> str | None:
    """A word from the middle of ``content`` (3+ letters, punctuation stripped): a stop sequence the answer
    to the same request would contain. None when the answer is too short to have one."""
    if not isinstance(content, str):
        return None
    words = [word.strip(".,;:!?\"'()") for word in content.split()]
    middle = [word for word in words[1:] if len(word) >= 3]
    return middle[len(middle) // 2] if middle else None


def plain_content(exchange: Exchange) -> Any:
    try:
        return exchange.json()["choices"][0]["message"]["content"] if exchange.ok else None
    except (ValueError, KeyError, IndexError, TypeError):
        return None


@probe
def chat_stop(client: HttpClient, chat_model: str, chat_response: Exchange) -> Exchange:
    """The plain request again, with a stop sequence taken from its own answer (in the array form)."""
    word = stop_word(plain_content(chat_response))
    if word is None:
        raise NotApplicable("the plain chat answer has no word to stop at (see CHAT-005)", see="CHAT-005")
    return builders.chat(client, chat_model, stop=[word])


@probe
def chat_stream_stop(client: HttpClient, chat_model: str, chat_response: Exchange) -> StreamExchange:
    """The same stop sequence, streamed."""
    word = stop_word(plain_content(chat_response))
    if word is None:
        raise NotApplicable("the plain chat answer has no word to stop at (see CHAT-005)", see="CHAT-005")
    return builders.chat_stream(client, chat_model, stop=[word])


@probe
def chat_params_accepted(client: HttpClient, chat_model: str) -> Exchange:
    return builders.chat(client, chat_model, **ACCEPTED_PARAMS)
