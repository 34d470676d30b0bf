"""The reference provider, exercised over real HTTP against one multiplexed server per module."""

from __future__ import annotations

import base64
import json
import math
import re
import struct
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from conformance.reference import (
    DEFAULT_API_KEY,
    FAULTS,
    REFERENCE_MODELS,
    FaultSet,
    Policy,
    ReferenceServer,
    create_app,
)
from conformance.reference.faults import fault
from conformance.reference.model import tokenize

AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
USER = [{"role": "user", "content": "Say something about conformance."}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "ratio": {"type": "number"},
                "metric": {"type": "boolean"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "extra": {"type": "object"},
            },
            "required": ["city"],
        },
    },
}
WEATHER_ARGS = {
    "city": "ref",
    "days": 1,
    "ratio": 1.5,
    "metric": True,
    "unit": "celsius",
    "tags": [],
    "extra": {},
}


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceServer]:
    with ReferenceServer(multiplex=True) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: ReferenceServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10) as http:
        yield http


@pytest.fixture(scope="module")
def anon() -> Iterator[httpx.Client]:
    """A client without credentials, for absolute URLs (one shared client: creating one costs ~40 ms)."""
    with httpx.Client(timeout=10) as http:
        yield http


def chat(client: httpx.Client, **params: Any) -> dict[str, Any]:
    response = client.post("/chat/completions", json={"model": "ref-chat", "messages": USER, **params})
    assert response.status_code == 200, response.text
    return response.json()


def assert_error(response: httpx.Response, status: int, param: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["type"], str)
    assert error["param"] == param
    return error


def stream_items(response: httpx.Response) -> list[Any]:
    """Check SSE framing and return the decoded items (JSON chunks, then "[DONE]" if present)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    body = response.text
    assert body.endswith("\n\n")
    items: list[Any] = []
    for event in body[:-2].split("\n\n"):
        assert event.startswith("data: ")
        assert "\n" not in event
        data = event[len("data: ") :]
        items.append(data if data == "[DONE]" else json.loads(data))
    return items


def streamed(client: httpx.Client, path: str, body: dict[str, Any]) -> list[Any]:
    return stream_items(client.post(path, json={**body, "stream": True}))


# --- models ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/models", "/models/"])
def test_models_list(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == [m.id for m in REFERENCE_MODELS]
    for card in body["data"]:
        assert set(card) == {"id", "object", "created", "owned_by"}
        assert card["object"] == "model"
        assert card["owned_by"] == "oai-conformance"
        assert isinstance(card["created"], int)
        assert card["created"] > 1_600_000_000


@pytest.mark.parametrize("model", [m.id for m in REFERENCE_MODELS])
def test_models_retrieve(client: httpx.Client, model: str) -> None:
    response = client.get(f"/models/{model}")
    assert response.status_code == 200
    assert response.json() == next(m.card() for m in REFERENCE_MODELS if m.id == model)


def test_models_retrieve_unknown(client: httpx.Client) -> None:
    error = assert_error(client.get("/models/gpt-nope"), 404, "model")
    assert error["code"] == "model_not_found"
    assert error["type"] == "invalid_request_error"
    assert error["message"] == "The model `gpt-nope` does not exist or you do not have access to it."


# --- chat ------------------------------------------------------------------------------------------


def test_chat_shape_and_usage(client: httpx.Client) -> None:
    body = chat(client)
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{24}", body["id"])
    assert body["object"] == "chat.completion"
    assert isinstance(body["created"], int)
    assert abs(body["created"] - time.time()) < 60
    assert body["model"] == "ref-chat"
    assert body["system_fingerprint"] == "fp_ref"
    (choice,) = body["choices"]
    assert choice["index"] == 0
    assert choice["message"] == {"role": "assistant", "content": choice["message"]["content"], "refusal": None}
    assert choice["logprobs"] is None
    assert choice["finish_reason"] == "stop"
    content = choice["message"]["content"]
    assert content.endswith(".")
    assert 8 <= len(tokenize(content)) <= 14
    usage = body["usage"]
    assert usage["completion_tokens"] == len(tokenize(content))
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens"] > 0


def test_chat_is_deterministic_whatever_the_sampling(client: httpx.Client) -> None:
    first = chat(client)["choices"][0]["message"]["content"]
    second = chat(client, temperature=2, top_p=0.1, seed=7, presence_penalty=1, user="u", logit_bias={"42": 5})
    assert second["choices"][0]["message"]["content"] == first


def test_chat_n(client: httpx.Client) -> None:
    body = chat(client, n=3)
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    contents = [c["message"]["content"] for c in body["choices"]]
    assert len(set(contents)) > 1
    assert body["usage"]["completion_tokens"] == sum(len(tokenize(c)) for c in contents)


@pytest.mark.parametrize("as_list", [False, True])
def test_chat_stop(client: httpx.Client, as_list: bool) -> None:
    full = chat(client)["choices"][0]["message"]["content"]
    word = tokenize(full)[4]  # e.g. " model": cut in the middle of the sentence
    stop = [word, "never-appears"] if as_list else word
    choice = chat(client, stop=stop)["choices"][0]
    assert choice["message"]["content"] == full[: full.index(word)]
    assert choice["finish_reason"] == "stop"


@pytest.mark.parametrize("param", ["max_tokens", "max_completion_tokens"])
def test_chat_max_tokens(client: httpx.Client, param: str) -> None:
    full = chat(client)["choices"][0]["message"]["content"]
    body = chat(client, **{param: 3})
    choice = body["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["content"] == "".join(tokenize(full)[:3])
    assert body["usage"]["completion_tokens"] == 3


def test_chat_reasoning_streamed_and_not(client: httpx.Client) -> None:
    plain = chat(client, reasoning_effort="low")
    message = plain["choices"][0]["message"]
    reasoning = message["reasoning_content"]
    assert reasoning
    assert message["content"] == chat(client)["choices"][0]["message"]["content"]
    assert plain["usage"]["completion_tokens_details"] == {"reasoning_tokens": len(tokenize(reasoning))}
    items = streamed(client, "/chat/completions", {"model": "ref-chat", "messages": USER, "reasoning_effort": "low"})
    deltas = [item["choices"][0]["delta"] for item in items[:-1]]
    assert "".join(delta.get("reasoning_content", "") for delta in deltas) == reasoning
    assert "".join(delta.get("content") or "" for delta in deltas) == message["content"]
    # The reasoning comes first and counts against the bound; "none" asks for none; an unknown effort is a 400.
    bounded = chat(client, reasoning_effort="low", max_completion_tokens=2)["choices"][0]
    assert (bounded["message"]["content"], bounded["finish_reason"]) == ("", "length")
    assert bounded["message"]["reasoning_content"] == "".join(tokenize(reasoning)[:2])
    assert "reasoning_content" not in chat(client, reasoning_effort="none")["choices"][0]["message"]
    body = {"model": "ref-chat", "messages": USER, "reasoning_effort": "extreme"}
    assert_error(client.post("/chat/completions", json=body), 400, "reasoning_effort")


def test_chat_logprobs(client: httpx.Client) -> None:
    choice = chat(client, logprobs=True, top_logprobs=3)["choices"][0]
    logprobs = choice["logprobs"]
    assert logprobs["refusal"] is None
    entries = logprobs["content"]
    assert "".join(e["token"] for e in entries) == choice["message"]["content"]
    for entry in entries:
        assert entry["logprob"] <= 0
        assert entry["bytes"] == list(entry["token"].encode())
        top = entry["top_logprobs"]
        assert len(top) == 3
        assert top[0]["token"] == entry["token"]
        assert [t["logprob"] for t in top] == sorted((t["logprob"] for t in top), reverse=True)
        assert len({t["token"] for t in top}) == 3


@pytest.mark.parametrize(
    ("tool_choice", "prompt", "calls"),
    [
        ({"type": "function", "function": {"name": "get_weather"}}, "Hello.", True),
        ("required", "Hello.", True),
        ("auto", "Please use get_weather for Paris.", True),
        ("auto", "Hello.", False),
        ("none", "Please use get_weather for Paris.", False),
    ],
)
def test_chat_tool_choice(client: httpx.Client, tool_choice: Any, prompt: str, calls: bool) -> None:
    messages = [{"role": "user", "content": prompt}]
    body = chat(client, messages=messages, tools=[WEATHER_TOOL], tool_choice=tool_choice)
    choice = body["choices"][0]
    if not calls:
        assert choice["finish_reason"] == "stop"
        assert isinstance(choice["message"]["content"], str)
        assert "tool_calls" not in choice["message"]
        return
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert re.fullmatch(r"call_[0-9a-f]+", call["id"])
    assert call["type"] == "function"
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == WEATHER_ARGS


TOOL_TURN = [
    {"role": "user", "content": "Please use get_weather for Paris."},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": '{"temperature_c": 21}'},
]  # fmt: skip


@pytest.mark.parametrize(("tool_choice", "calls"), [(None, False), ("auto", False), ("required", True)])
def test_a_tool_result_is_answered_with_text_unless_a_call_is_required(
    client: httpx.Client, tool_choice: str | None, calls: bool
) -> None:
    extra = {"tool_choice": tool_choice} if tool_choice else {}
    choice = chat(client, messages=TOOL_TURN, tools=[WEATHER_TOOL], **extra)["choices"][0]
    assert bool(choice["message"].get("tool_calls")) is calls
    assert choice["finish_reason"] == ("tool_calls" if calls else "stop")


def test_chat_tool_call_stream(client: httpx.Client) -> None:
    params = {"model": "ref-chat", "messages": USER, "tools": [WEATHER_TOOL], "tool_choice": "required"}
    plain = client.post("/chat/completions", json=params).json()["choices"][0]["message"]["tool_calls"][0]
    items = streamed(client, "/chat/completions", params)
    assert items[-1] == "[DONE]"
    chunks = items[:-1]
    first = chunks[0]["choices"][0]["delta"]
    assert first["role"] == "assistant"
    assert first["content"] is None
    (opening,) = first["tool_calls"]
    assert opening["index"] == 0
    assert opening["id"] == plain["id"]
    assert opening["type"] == "function"
    assert opening["function"] == {"name": "get_weather", "arguments": ""}
    fragments = [c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] for c in chunks[1:-1]]
    assert all(0 < len(f) <= 8 for f in fragments)
    assert "".join(fragments) == plain["function"]["arguments"]
    assert json.loads("".join(fragments)) == WEATHER_ARGS
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "tool_calls"}


@pytest.mark.parametrize(
    ("response_format", "keys"),
    [
        ({"type": "json_object"}, {"answer"}),
        ({"type": "json_schema", "json_schema": {"name": "reply"}}, {"answer"}),
        (
            {
                "type": "json_schema",
                "json_schema": {
                    "name": "reply",
                    "strict": True,
                    "schema": {"type": "object", "properties": {"title": {"type": "string"}, "n": {"type": "integer"}}},
                },
            },
            {"title", "n"},
        ),
    ],
)
def test_chat_json_modes(client: httpx.Client, response_format: dict[str, Any], keys: set[str]) -> None:
    content = chat(client, response_format=response_format)["choices"][0]["message"]["content"]
    value = json.loads(content)
    assert isinstance(value, dict)
    assert set(value) == keys


def test_chat_content_parts_and_roles(client: httpx.Client) -> None:
    messages = [
        {"role": "developer", "content": "Be brief."},
        {"role": "system", "content": [{"type": "text", "text": "Be kind."}]},
        {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "image_url", "image_url": {"url": "x"}}]},
        {"role": "assistant", "content": None, "tool_calls": []},
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
        {"role": "function", "name": "f", "content": "ok"},
    ]
    assert chat(client, messages=messages)["choices"][0]["finish_reason"] == "stop"


# --- streaming -------------------------------------------------------------------------------------


def test_chat_stream_framing(client: httpx.Client) -> None:
    body = {"model": "ref-chat", "messages": USER, "n": 2, "stream_options": {"include_usage": True}}
    items = streamed(client, "/chat/completions", body)
    assert items[-1] == "[DONE]"
    assert "[DONE]" not in items[:-1]
    chunks = items[:-1]
    assert len({c["id"] for c in chunks}) == 1
    assert len({c["created"] for c in chunks}) == 1
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{24}", chunks[0]["id"])
    for chunk in chunks:
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == "ref-chat"
        assert chunk["system_fingerprint"] == "fp_ref"
        assert "usage" in chunk
    *choice_chunks, usage_chunk = chunks
    assert usage_chunk["choices"] == []
    usage = usage_chunk["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    per_choice: dict[int, list[dict[str, Any]]] = {0: [], 1: []}
    for chunk in choice_chunks:
        assert chunk["usage"] is None
        (entry,) = chunk["choices"]
        per_choice[entry["index"]].append(entry)
    # Round-robin: the first two chunks open choice 0 then choice 1.
    assert [c["choices"][0]["index"] for c in choice_chunks[:4]] == [0, 1, 0, 1]
    tokens = 0
    for entries in per_choice.values():
        assert entries[0]["delta"] == {"role": "assistant", "content": ""}
        finishes = [e for e in entries if e["finish_reason"] is not None]
        assert finishes == [entries[-1]]
        assert entries[-1]["delta"] == {}
        assert entries[-1]["finish_reason"] == "stop"
        tokens += len(entries) - 2
    assert usage["completion_tokens"] == tokens


def test_chat_stream_without_usage_has_no_usage_key(client: httpx.Client) -> None:
    items = streamed(client, "/chat/completions", {"model": "ref-chat", "messages": USER})
    assert all("usage" not in c and len(c["choices"]) == 1 for c in items[:-1])


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"n": 2, "stop": [" the", " a"]},
        {"max_tokens": 4},
        {"response_format": {"type": "json_object"}},
        {"logprobs": True, "top_logprobs": 2},
    ],
)
def test_chat_stream_matches_non_stream(client: httpx.Client, params: dict[str, Any]) -> None:
    body = {"model": "ref-chat", "messages": USER, **params}
    plain = client.post("/chat/completions", json=body).json()
    items = streamed(client, "/chat/completions", body)
    contents: dict[int, str] = {}
    finishes: dict[int, str] = {}
    logprob_tokens: dict[int, list[str]] = {}
    for chunk in items[:-1]:
        (entry,) = chunk["choices"]
        index = entry["index"]
        contents[index] = contents.get(index, "") + entry["delta"].get("content", "")
        if entry["finish_reason"]:
            finishes[index] = entry["finish_reason"]
        if entry["logprobs"]:
            logprob_tokens.setdefault(index, []).extend(e["token"] for e in entry["logprobs"]["content"])
    for choice in plain["choices"]:
        assert contents[choice["index"]] == choice["message"]["content"]
        assert finishes[choice["index"]] == choice["finish_reason"]
        if choice["logprobs"]:
            assert logprob_tokens[choice["index"]] == [e["token"] for e in choice["logprobs"]["content"]]


def test_stream_is_delivered_incrementally(client: httpx.Client) -> None:
    body = {"model": "ref-chat", "messages": USER, "stream": True}
    with client.stream("POST", "/chat/completions", json=body) as response:
        pieces = list(response.iter_raw())
    assert len(pieces) > 3  # one body message per event, paced by stream_delay


# --- completions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "prompt_count"),
    [
        ("Once upon a time", 1),
        (["First prompt", "Second prompt"], 2),
        ([1, 2, 3], 1),
        ([[1, 2], [3, 4, 5]], 2),
    ],
)
def test_completions_prompt_forms(client: httpx.Client, prompt: Any, prompt_count: int) -> None:
    response = client.post("/completions", json={"model": "ref-instruct", "prompt": prompt, "n": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert re.fullmatch(r"cmpl-[0-9a-f]{24}", body["id"])
    assert body["object"] == "text_completion"
    assert body["model"] == "ref-instruct"
    assert body["system_fingerprint"] == "fp_ref"
    assert [c["index"] for c in body["choices"]] == list(range(prompt_count * 2))
    for choice in body["choices"]:
        assert set(choice) == {"text", "index", "logprobs", "finish_reason"}
        assert choice["logprobs"] is None
        assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["completion_tokens"] == sum(len(tokenize(c["text"])) for c in body["choices"])
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_completions_default_prompt_and_fine_tuned_model(client: httpx.Client) -> None:
    model = "ft:ref-instruct:acme::abc123"
    response = client.post("/completions", json={"model": model, "max_tokens": 5.0})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == model
    assert body["usage"]["prompt_tokens"] == 1
    assert body["choices"][0]["finish_reason"] == "length"


def test_completions_echo_and_logprobs(client: httpx.Client) -> None:
    prompt = "Hello there"
    plain = client.post("/completions", json={"model": "ref-instruct", "prompt": prompt}).json()
    body = {"model": "ref-instruct", "prompt": prompt, "echo": True, "logprobs": 2}
    choice = client.post("/completions", json=body).json()["choices"][0]
    assert choice["text"] == prompt + plain["choices"][0]["text"]
    logprobs = choice["logprobs"]
    assert set(logprobs) == {"tokens", "token_logprobs", "top_logprobs", "text_offset"}
    assert "".join(logprobs["tokens"]) == choice["text"]
    assert len({len(v) for v in logprobs.values()}) == 1
    assert logprobs["token_logprobs"][0] is None  # the first prompt token has nothing before it
    assert all(lp <= 0 for lp in logprobs["token_logprobs"][1:])
    for token, top in zip(logprobs["tokens"][1:], logprobs["top_logprobs"][1:], strict=True):
        assert len(top) == 2
        assert next(iter(top)) == token
    offsets = logprobs["text_offset"]
    assert offsets == [sum(len(t) for t in logprobs["tokens"][:i]) for i in range(len(offsets))]


@pytest.mark.parametrize(
    "params",
    [
        {"prompt": "Stream me"},
        {"prompt": ["a b", "c d"], "n": 2, "stop": " the"},
        {"prompt": "Stream me", "echo": True, "logprobs": 1, "max_tokens": 5},
    ],
)
def test_completions_stream_matches_non_stream(client: httpx.Client, params: dict[str, Any]) -> None:
    body = {"model": "ref-instruct", **params}
    plain = client.post("/completions", json=body).json()
    items = streamed(client, "/completions", {**body, "stream_options": {"include_usage": True}})
    assert items[-1] == "[DONE]"
    *chunks, usage_chunk = items[:-1]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == plain["usage"]
    texts: dict[int, str] = {}
    for chunk in chunks:
        assert chunk["object"] == "text_completion"
        assert chunk["id"] == chunks[0]["id"]
        assert chunk["usage"] is None
        (entry,) = chunk["choices"]
        texts[entry["index"]] = texts.get(entry["index"], "") + entry["text"]
        if entry["finish_reason"] is not None:
            assert entry["text"] == ""
    for choice in plain["choices"]:
        assert texts[choice["index"]] == choice["text"]
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"][0]["finish_reason"]]
    assert len(finishes) == len(plain["choices"])


# --- embeddings ------------------------------------------------------------------------------------


def embeddings(client: httpx.Client, **params: Any) -> dict[str, Any]:
    response = client.post("/embeddings", json={"model": "ref-embed", **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_embeddings_float(client: httpx.Client) -> None:
    body = embeddings(client, input="hello world")
    assert body["object"] == "list"
    assert body["model"] == "ref-embed"
    assert body["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
    (item,) = body["data"]
    assert item["object"] == "embedding"
    assert item["index"] == 0
    vector = item["embedding"]
    assert len(vector) == 32
    assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-5)
    assert embeddings(client, input="hello world")["data"][0]["embedding"] == vector


def test_embeddings_base64_matches_float(client: httpx.Client) -> None:
    floats = embeddings(client, input="hello world")["data"][0]["embedding"]
    encoded = embeddings(client, input="hello world", encoding_format="base64")["data"][0]["embedding"]
    raw = base64.b64decode(encoded)
    assert len(raw) == 32 * 4
    assert list(struct.unpack("<32f", raw)) == floats


def test_embeddings_dimensions(client: httpx.Client) -> None:
    vector = embeddings(client, input="hello world", dimensions=8)["data"][0]["embedding"]
    assert len(vector) == 8
    assert math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-5)


@pytest.mark.parametrize(("value", "count"), [(["a", "b", "c"], 3), ([1, 2, 3], 1), ([[1, 2], [3]], 2)])
def test_embeddings_list_inputs(client: httpx.Client, value: Any, count: int) -> None:
    data = embeddings(client, input=value)["data"]
    assert [d["index"] for d in data] == list(range(count))
    assert all(len(d["embedding"]) == 32 for d in data)


# --- errors ----------------------------------------------------------------------------------------

MSG = [{"role": "user", "content": "x"}]

ERROR_CASES: list[tuple[str, str, dict[str, Any], int, str | None]] = [
    # (case id, path, body, status, param)
    ("missing-model", "/chat/completions", {"messages": MSG}, 400, "model"),
    ("model-not-string", "/chat/completions", {"model": 5, "messages": MSG}, 400, "model"),
    ("unknown-model", "/chat/completions", {"model": "gpt-nope", "messages": MSG}, 404, "model"),
    ("missing-messages", "/chat/completions", {"model": "ref-chat"}, 400, "messages"),
    ("empty-messages", "/chat/completions", {"model": "ref-chat", "messages": []}, 400, "messages"),
    ("messages-not-array", "/chat/completions", {"model": "ref-chat", "messages": "hi"}, 400, "messages"),
    ("bad-role", "/chat/completions", {"model": "ref-chat", "messages": [{"role": "bot", "content": "x"}]}, 400,
     "messages[0].role"),
    ("missing-role", "/chat/completions", {"model": "ref-chat", "messages": [{"content": "x"}]}, 400,
     "messages[0].role"),
    ("user-content-null", "/chat/completions", {"model": "ref-chat", "messages": [{"role": "user"}]}, 400,
     "messages[0].content"),
    ("tool-without-id", "/chat/completions",
     {"model": "ref-chat", "messages": [{"role": "tool", "content": "x"}]}, 400, "messages[0].tool_call_id"),
    ("temperature-high", "/chat/completions", {"model": "ref-chat", "messages": MSG, "temperature": 2.5}, 400,
     "temperature"),
    ("temperature-string", "/chat/completions", {"model": "ref-chat", "messages": MSG, "temperature": "hot"}, 400,
     "temperature"),
    ("top-p-high", "/chat/completions", {"model": "ref-chat", "messages": MSG, "top_p": 1.5}, 400, "top_p"),
    ("n-zero", "/chat/completions", {"model": "ref-chat", "messages": MSG, "n": 0}, 400, "n"),
    ("n-fraction", "/chat/completions", {"model": "ref-chat", "messages": MSG, "n": 1.5}, 400, "n"),
    ("n-bool", "/chat/completions", {"model": "ref-chat", "messages": MSG, "n": True}, 400, "n"),
    ("n-too-many", "/chat/completions", {"model": "ref-chat", "messages": MSG, "n": 129}, 400, "n"),
    ("max-tokens-zero", "/chat/completions", {"model": "ref-chat", "messages": MSG, "max_tokens": 0}, 400,
     "max_tokens"),
    ("max-completion-tokens-string", "/chat/completions",
     {"model": "ref-chat", "messages": MSG, "max_completion_tokens": "9"}, 400, "max_completion_tokens"),
    ("presence-penalty", "/chat/completions", {"model": "ref-chat", "messages": MSG, "presence_penalty": -3}, 400,
     "presence_penalty"),
    ("frequency-penalty", "/chat/completions", {"model": "ref-chat", "messages": MSG, "frequency_penalty": 2.1},
     400, "frequency_penalty"),
    ("stop-too-many", "/chat/completions", {"model": "ref-chat", "messages": MSG, "stop": ["a", "b", "c", "d", "e"]},
     400, "stop"),
    ("stop-number", "/chat/completions", {"model": "ref-chat", "messages": MSG, "stop": 5}, 400, "stop"),
    ("seed-string", "/chat/completions", {"model": "ref-chat", "messages": MSG, "seed": "x"}, 400, "seed"),
    ("logit-bias-array", "/chat/completions", {"model": "ref-chat", "messages": MSG, "logit_bias": []}, 400,
     "logit_bias"),
    ("top-logprobs-without-logprobs", "/chat/completions",
     {"model": "ref-chat", "messages": MSG, "top_logprobs": 2}, 400, "top_logprobs"),
    ("top-logprobs-high", "/chat/completions",
     {"model": "ref-chat", "messages": MSG, "logprobs": True, "top_logprobs": 21}, 400, "top_logprobs"),
    ("stream-options-without-stream", "/chat/completions",
     {"model": "ref-chat", "messages": MSG, "stream_options": {"include_usage": True}}, 400, "stream_options"),
    ("stream-not-bool", "/chat/completions", {"model": "ref-chat", "messages": MSG, "stream": "yes"}, 400, "stream"),
    ("tool-choice-without-tools", "/chat/completions",
     {"model": "ref-chat", "messages": MSG, "tool_choice": "auto"}, 400, "tool_choice"),
    ("tool-choice-unknown-name", "/chat/completions",
     {"model": "ref-chat", "messages": MSG, "tools": [WEATHER_TOOL],
      "tool_choice": {"type": "function", "function": {"name": "other"}}}, 400, "tool_choice"),
    ("tools-bad-type", "/chat/completions",
     {"model": "ref-chat", "messages": MSG, "tools": [{"type": "magic"}]}, 400, "tools[0].type"),
    ("response-format-bad", "/chat/completions",
     {"model": "ref-chat", "messages": MSG, "response_format": {"type": "yaml"}}, 400, "response_format.type"),
    ("json-schema-invalid", "/chat/completions",
     {"model": "ref-chat", "messages": MSG, "response_format": {"type": "json_schema", "json_schema": {
         "name": "reply", "schema": {"type": "object", "properties": {"a": {"type": "no-such-type"}}}}}},
     400, "response_format.json_schema.schema"),
    ("completion-max-tokens", "/completions", {"model": "ref-instruct", "max_tokens": 0}, 400, "max_tokens"),
    ("completion-best-of", "/completions", {"model": "ref-instruct", "n": 3, "best_of": 2}, 400, "best_of"),
    ("completion-logprobs-high", "/completions", {"model": "ref-instruct", "logprobs": 6}, 400, "logprobs"),
    ("completion-prompt-type", "/completions", {"model": "ref-instruct", "prompt": {"a": 1}}, 400, "prompt"),
    ("completion-prompt-mixed", "/completions", {"model": "ref-instruct", "prompt": ["a", 1]}, 400, "prompt"),
    ("completion-echo-type", "/completions", {"model": "ref-instruct", "echo": 1}, 400, "echo"),
    ("embedding-missing-input", "/embeddings", {"model": "ref-embed"}, 400, "input"),
    ("embedding-empty-string", "/embeddings", {"model": "ref-embed", "input": ""}, 400, "input"),
    ("embedding-empty-array", "/embeddings", {"model": "ref-embed", "input": []}, 400, "input"),
    ("embedding-empty-item", "/embeddings", {"model": "ref-embed", "input": ["a", ""]}, 400, "input"),
    ("embedding-format", "/embeddings", {"model": "ref-embed", "input": "a", "encoding_format": "hex"}, 400,
     "encoding_format"),
    ("embedding-dimensions-high", "/embeddings", {"model": "ref-embed", "input": "a", "dimensions": 33}, 400,
     "dimensions"),
    ("embedding-dimensions-zero", "/embeddings", {"model": "ref-embed", "input": "a", "dimensions": 0}, 400,
     "dimensions"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "body", "status", "param"), [case[1:] for case in ERROR_CASES], ids=[case[0] for case in ERROR_CASES]
)
def test_error_cases(client: httpx.Client, path: str, body: dict[str, Any], status: int, param: str | None) -> None:
    error = assert_error(client.post(path, json=body), status, param)
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"model": "ref-chat", ', "We could not parse the JSON body of your request."),
        (b"", "We could not parse the JSON body of your request."),
        (b'{"model": "ref-chat", "messages": [], "temperature": NaN}', "We could not parse the JSON body"),
        (b"[1, 2]", "expected a JSON object"),
        (b'"text"', "expected a JSON object"),
    ],
)
def test_body_not_a_json_object(client: httpx.Client, content: bytes, message: str) -> None:
    response = client.post("/chat/completions", content=content, headers={"content-type": "application/json"})
    assert message in assert_error(response, 400)["message"]


def test_whole_floats_are_integers(client: httpx.Client) -> None:
    body = chat(client, n=2.0, max_tokens=3.0, seed=1.0, logprobs=True, top_logprobs=1.0)
    assert len(body["choices"]) == 2
    assert body["usage"]["completion_tokens"] == 6


def test_unknown_parameters_are_ignored(client: httpx.Client) -> None:
    assert chat(client, some_future_param={"x": 1}, store=False)["choices"]


@pytest.mark.parametrize(
    ("model", "path", "hint"),
    [
        ("ref-chat", "/completions", "This is a chat model and not supported in the v1/completions endpoint. "
         "Did you mean to use v1/chat/completions?"),
        ("ref-chat", "/embeddings", "Did you mean to use v1/chat/completions?"),
        ("ref-instruct", "/chat/completions", "This is not a chat model and thus not supported in the "
         "v1/chat/completions endpoint. Did you mean to use v1/completions?"),
        ("ft:ref-instruct:acme::abc123", "/chat/completions", "Did you mean to use v1/completions?"),
        ("ref-instruct", "/embeddings", "This model does not support embeddings. Did you mean to use v1/completions?"),
        ("ref-embed", "/chat/completions", "Did you mean to use v1/embeddings?"),
        ("ref-embed", "/completions", "Did you mean to use v1/embeddings?"),
    ],
)  # fmt: skip
def test_wrong_endpoint_hints(client: httpx.Client, model: str, path: str, hint: str) -> None:
    body = {"model": model, "messages": MSG, "prompt": "x", "input": "x"}
    error = assert_error(client.post(path, json=body), 404, "model")
    assert error["type"] == "invalid_request_error"
    assert error["code"] is None
    assert hint in error["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/foo"), ("GET", "/v1/foo"), ("GET", "/"), ("POST", "/v1/chat/completions/"), ("GET", "/v2/models")],
)
def test_unknown_route(server: ReferenceServer, anon: httpx.Client, method: str, path: str) -> None:
    # Routing comes before authentication: no credentials needed to learn a URL is wrong.
    response = anon.request(method, f"http://{server.host}:{server.port}{path}")
    error = assert_error(response, 404)
    assert error == {"message": f"Invalid URL ({method} {path})", "type": "invalid_request_error", "param": None,
                     "code": None}  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/chat/completions", "POST"),
        ("DELETE", "/embeddings", "POST"),
        ("PUT", "/completions", "POST"),
        ("POST", "/models", "GET"),
        ("PUT", "/models/ref-chat", "GET"),  # DELETE is routed: seed 002's model delete
    ],
)
def test_wrong_method(client: httpx.Client, method: str, path: str, allow: str) -> None:
    response = client.request(method, path)
    assert_error(response, 405)
    assert allow in [m.strip() for m in response.headers["allow"].split(",")]


# --- auth and headers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/models"), ("GET", "/models/ref-chat"), ("POST", "/chat/completions"), ("POST", "/completions"),
     ("POST", "/embeddings")],
)  # fmt: skip
def test_missing_key(server: ReferenceServer, anon: httpx.Client, method: str, path: str) -> None:
    response = anon.request(method, server.base_url + path, json={"model": "ref-chat", "messages": MSG})
    error = assert_error(response, 401)
    assert error["type"] == "invalid_request_error"
    assert error["code"] is None
    assert "You didn't provide an API key" in error["message"]


@pytest.mark.parametrize(
    ("key", "masked"),
    [("sk-wrong-key-0123456789", "sk-****************6789"), ("short-key", "***"), ("sk-123456789", "sk-*****6789")],
)
def test_wrong_key_is_masked(server: ReferenceServer, anon: httpx.Client, key: str, masked: str) -> None:
    response = anon.get(server.base_url + "/models", headers={"Authorization": f"Bearer {key}"})
    error = assert_error(response, 401)
    assert error["code"] == "invalid_api_key"
    assert error["message"] == f"Incorrect API key provided: {masked}."
    everything = response.text + json.dumps(dict(response.headers))
    assert key not in everything
    assert DEFAULT_API_KEY not in everything


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Token sk-ref-conformance-key"])
def test_malformed_authorization_counts_as_missing(server: ReferenceServer, anon: httpx.Client, header: str) -> None:
    response = anon.get(server.base_url + "/models", headers={"Authorization": header})
    assert assert_error(response, 401)["code"] is None


def test_organization_header_ignored_and_request_ids(client: httpx.Client) -> None:
    ok = client.get("/models", headers={"OpenAI-Organization": "org-123"})
    assert ok.status_code == 200
    failed = client.get("/models/nope")
    stream = client.post("/chat/completions", json={"model": "ref-chat", "messages": MSG, "stream": True})
    ids = [r.headers["x-request-id"] for r in (ok, failed, stream)]
    assert all(re.fullmatch(r"req_[0-9a-f]+", i) for i in ids)
    assert len(set(ids)) == 3


def test_errors_before_streaming_are_plain_json(client: httpx.Client) -> None:
    response = client.post("/chat/completions", json={"model": "ref-chat", "messages": MSG, "stream": True, "n": 0})
    assert_error(response, 400, "n")


# --- faults ----------------------------------------------------------------------------------------


def test_fault_stream_no_done(server: ReferenceServer, client: httpx.Client) -> None:
    base = server.fault_base_url("stream-no-done")
    chat_items = streamed(client, f"{base}/chat/completions", {"model": "ref-chat", "messages": MSG})
    completion_items = streamed(client, f"{base}/completions", {"model": "ref-instruct"})
    assert "[DONE]" not in chat_items
    assert chat_items[-1]["choices"][0]["finish_reason"] == "stop"
    assert completion_items[-1] == "[DONE]"  # the fault lives at the chat.chunks site only


def test_fault_models_missing_created(server: ReferenceServer, anon: httpx.Client) -> None:
    response = anon.get(server.fault_base_url("models-missing-created") + "/models", headers=AUTH)
    assert response.status_code == 200
    assert all("created" not in card for card in response.json()["data"])
    retrieved = anon.get(server.fault_base_url("models-missing-created") + "/models/ref-chat", headers=AUTH)
    assert "created" in retrieved.json()  # models.retrieve is a different site


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/models", {}, 401),
        ("GET", "/models/nope", AUTH, 404),
        ("POST", "/nowhere", AUTH, 404),
        ("GET", "/embeddings", AUTH, 405),
    ],
)
def test_fault_error_flat_body(
    server: ReferenceServer, anon: httpx.Client, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    response = anon.request(method, server.fault_base_url("error-flat-body") + path, headers=headers)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"code", "msg", "success"}
    assert body["success"] is False
    assert "error" not in body


def test_fault_auth_error_200_flat(server: ReferenceServer, anon: httpx.Client) -> None:
    response = anon.get(server.fault_base_url("auth-error-200-flat") + "/models")
    assert response.status_code == 200
    assert response.json() == {"code": "105", "msg": "token invalid.", "success": False}


def test_faults_combine_and_clean_app_stays_clean(
    server: ReferenceServer, client: httpx.Client, anon: httpx.Client
) -> None:
    base = server.fault_base_url("models-missing-created", "error-flat-body")
    assert "/_fault/models-missing-created+error-flat-body/v1" in base
    assert anon.get(base + "/models").json()["success"] is False
    assert all("created" not in m for m in anon.get(base + "/models", headers=AUTH).json()["data"])
    assert all("created" in m for m in client.get("/models").json()["data"])


def test_mux_unknown_fault_is_json_404(server: ReferenceServer, anon: httpx.Client) -> None:
    response = anon.get(f"http://{server.host}:{server.port}/_fault/no-such-fault/v1/models", headers=AUTH)
    error = assert_error(response, 404)
    assert "no-such-fault" in error["message"]
    assert all(name in error["message"] for name in FAULTS)


def test_fault_set_validation() -> None:
    with pytest.raises(ValueError, match="no-such-fault") as excinfo:
        FaultSet(["stream-no-done", "no-such-fault"])
    assert "--list-faults" in str(excinfo.value)  # where the valid names are, not all of them
    assert len(str(excinfo.value)) < 200
    with pytest.raises(ValueError, match=r"stream-no-dne \(did you mean stream-no-done"):
        FaultSet(["stream-no-dne"])
    faults = FaultSet(["stream-no-done"])
    assert "stream-no-done" in faults
    assert "error-flat-body" not in faults
    assert faults.names == frozenset({"stream-no-done"})
    assert FaultSet("stream-no-done").names == faults.names
    with pytest.raises(ValueError, match="site"):
        faults.apply("nowhere", 1)
    with pytest.raises(ValueError, match="no-such-fault"):
        ReferenceServer(multiplex=True).fault_base_url("no-such-fault")
    with pytest.raises(RuntimeError):
        ReferenceServer().fault_base_url("stream-no-done")


@pytest.mark.parametrize(
    ("spec", "params"),
    [
        ("transport-stall", {"after": 100.0, "seconds": 45.0}),
        ("transport-stall;seconds=2", {"after": 100.0, "seconds": 2.0}),
        ("transport-stall;seconds=0.5;after=3", {"after": 3.0, "seconds": 0.5}),
    ],
)
def test_a_fault_gets_its_parameters_over_its_defaults(spec: str, params: dict[str, float]) -> None:
    faults = FaultSet([spec])
    assert faults.names == frozenset({"transport-stall"})
    assert faults.params["transport-stall"] == params


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("transport-stall;minutes=2", "no parameter minutes"),
        ("transport-stall;seconds=soon", "key=number"),
        ("transport-stall;seconds", "key=number"),
        ("stream-no-done;seconds=2", "no parameter seconds"),
    ],
)
def test_a_parameter_a_fault_does_not_have_is_refused(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultSet([spec])


def test_mux_refuses_a_parameter_the_fault_does_not_have(server: ReferenceServer, anon: httpx.Client) -> None:
    url = f"http://{server.host}:{server.port}/_fault/transport-stall;minutes=2/v1/models"
    error = assert_error(anon.get(url, headers=AUTH), 404)
    assert "no parameter minutes" in error["message"]


def test_fault_registration_rules() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        fault("stream-no-done", site="chat.chunks", summary="x", seen_in="x")
    with pytest.raises(ValueError, match="site"):
        fault("test-bad-site", site="nowhere", summary="x", seen_in="x")
    with pytest.raises(ValueError, match="kebab"):
        fault("Not_Kebab", site="error", summary="x", seen_in="x")


@pytest.fixture
def temporary_faults() -> Iterator[list[str]]:
    """Faults registered for one test at the policy, models.retrieve and asgi sites, then removed."""
    names = ["test-zz-second", "test-aa-first", "test-no-auth", "test-asgi-header"]

    @fault("test-zz-second", site="models.retrieve", summary="x", seen_in="tests")
    def _second(value: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {**value, "order": [*value.get("order", []), "zz"]}

    @fault("test-aa-first", site="models.retrieve", summary="x", seen_in="tests")
    def _first(value: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {**value, "order": [*value.get("order", []), "aa"]}

    @fault("test-no-auth", site="policy", summary="x", seen_in="tests")
    def _no_auth(value: Policy, **_: Any) -> Policy:
        from dataclasses import replace

        return replace(value, require_auth=False)

    @fault("test-asgi-header", site="asgi", summary="x", seen_in="tests")
    def _asgi(value: Any, **_: Any) -> Any:
        async def wrapped(scope: Any, receive: Any, send: Any) -> None:
            async def tagged(message: Any) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message["headers"], (b"x-faulty", b"yes")]
                await send(message)

            await value(scope, receive, tagged)

        return wrapped

    try:
        yield names
    finally:
        for name in names:
            FAULTS.pop(name, None)


def test_policy_and_asgi_sites_in_process(temporary_faults: list[str]) -> None:
    app = create_app(faults=temporary_faults)
    assert app.state.policy == Policy(require_auth=False)
    with TestClient(app) as local:
        response = local.get("/v1/models/ref-chat")  # no credentials: require_auth is off
        assert response.status_code == 200
        assert response.json()["order"] == ["aa", "zz"]  # sorted-name order
        assert response.headers["x-faulty"] == "yes"
        assert response.headers["x-request-id"].startswith("req_")


def test_no_api_key_and_latency_in_process() -> None:
    with TestClient(create_app(api_key=None, latency=0.05)) as local:
        started = time.perf_counter()
        response = local.get("/v1/models")
        assert time.perf_counter() - started >= 0.05
    assert response.status_code == 200
