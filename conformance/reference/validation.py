"""Request validation: a JSON body in, an :class:`ApiError` or a normalised request out.

Order of checks: ``model`` (present, a string, known, served by this endpoint), then -- when the
policy says so -- unknown parameters, then every other parameter.  Required fields are always
checked; with ``Policy.validate_params`` off, a bad *optional* value is replaced by its default.
The policy's ``honour_*`` / ``support_*`` switches are applied here, so the response builders
simply do what the normalised request says.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from .catalog import CHAT, COMPLETIONS, EMBEDDINGS, find_model, wrong_endpoint
from .chat_features import parse_response_format, parse_tool_choice, parse_tools
from .errors import ApiError, describe_json_type, invalid_request, missing_parameter, model_not_found
from .model import EMBEDDING_DIMENSIONS, count_tokens, decode_token_ids
from .params import (
    BodyReader,
    Reject,
    as_array,
    as_bool,
    as_int,
    as_object,
    as_str,
    empty_array,
    int_in,
    invalid_type,
    invalid_value,
    one_of,
    stop_sequences,
)
from .policy import Policy
from .reasoning import EFFORTS
from .request_types import ChatRequest, CompletionRequest, EmbeddingRequest, Prompt

__all__ = ["validate_chat", "validate_completion", "validate_embedding"]

T = TypeVar("T")

ROLES: Final = ("system", "assistant", "user", "function", "tool", "developer")
CONTENT_PART_TYPES: Final = ("text", "image_url", "input_audio", "file", "refusal")
MAX_EMBEDDING_INPUTS: Final = 2048
DEFAULT_PROMPT: Final = "<|endoftext|>"
# Per-message and per-reply token overhead for chat prompts (OpenAI's documented 3 + 3 scheme).
_MESSAGE_OVERHEAD: Final = 3
_REPLY_PRIMING: Final = 3

_SAMPLING: Final = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "seed", "user", "logit_bias")
_CHAT_PARAMS: Final = frozenset(
    {
        "model", "messages", "n", "stop", "max_tokens", "max_completion_tokens", "logprobs", "top_logprobs",
        "tools", "tool_choice", "parallel_tool_calls", "response_format", "stream", "stream_options",
        "functions", "function_call", "store", "metadata", "service_tier", "modalities", "audio", "prediction",
        "reasoning_effort", "web_search_options", "verbosity", "prompt_cache_key", "safety_identifier",
        *_SAMPLING,
    }
)  # fmt: skip
_COMPLETION_PARAMS: Final = frozenset(
    {"model", "prompt", "suffix", "max_tokens", "n", "best_of", "stop", "echo", "logprobs", "stream",
     "stream_options", *_SAMPLING}
)  # fmt: skip
_EMBEDDING_PARAMS: Final = frozenset({"model", "input", "encoding_format", "dimensions", "user"})


def check_model(body: Mapping[str, Any], endpoint: str, policy: Policy, *, serves: str | None = None) -> str:
    """The request's ``model``: present, a string, known (as the policy asks) and one that ``endpoint``
    serves -- a model of the ``serves`` kind, by default the endpoint's own (the Responses API serves chat
    models)."""
    if body.get("model") is None:
        raise Reject(missing_parameter("model"))
    model_id = as_str(body["model"], "model")
    model = find_model(model_id)
    if model is None:
        if policy.reject_unknown_models:
            raise Reject(model_not_found(model_id))
    elif model.endpoint != (serves or endpoint) and policy.enforce_model_endpoints:
        raise Reject(wrong_endpoint(model, endpoint))
    return model_id


def _check_unknown(body: Mapping[str, Any], known: frozenset[str], policy: Policy) -> None:
    if not policy.reject_unknown_params:
        return
    for name in body:
        if name not in known:
            raise Reject(invalid_request(f"Unknown parameter: '{name}'.", name, "unknown_parameter"))


# --- chat ------------------------------------------------------------------------------------------


def _message_text(content: Any, param: str) -> str:
    """The text of one message's ``content`` (string, array of parts, or null)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = as_array(content, param)
    if not parts:
        raise empty_array(param)
    texts: list[str] = []
    for j, part in enumerate(parts):
        part_param = f"{param}[{j}]"
        as_object(part, part_param)
        kind = part.get("type")
        if kind is None:
            raise Reject(missing_parameter(f"{part_param}.type"))
        kind = one_of(*CONTENT_PART_TYPES)(kind, f"{part_param}.type")
        if kind == "text":
            texts.append(as_str(part.get("text"), f"{part_param}.text"))
        elif kind == "refusal":
            texts.append(as_str(part.get("refusal"), f"{part_param}.refusal"))
    return " ".join(texts)


def _messages(body: Mapping[str, Any]) -> tuple[str, int, str]:
    """Checks ``messages``; returns (prompt text, prompt tokens, text of the last message when a user sent
    it -- empty after a tool result, so "auto" answers a tool result with text)."""
    if body.get("messages") is None:
        raise Reject(missing_parameter("messages"))
    messages = as_array(body["messages"], "messages")
    if not messages:
        raise empty_array("messages")
    lines: list[str] = []
    tokens = _REPLY_PRIMING
    last_user = ""
    for i, message in enumerate(messages):
        param = f"messages[{i}]"
        as_object(message, param)
        if message.get("role") is None:
            raise Reject(missing_parameter(f"{param}.role"))
        role = as_str(message["role"], f"{param}.role")
        if role not in ROLES:
            supported = ", ".join(f"'{r}'" for r in ROLES[:-1]) + f", and '{ROLES[-1]}'"
            raise Reject(
                invalid_request(
                    f"Invalid value: '{role}'. Supported values are: {supported}.", f"{param}.role", "invalid_value"
                )
            )
        content = message.get("content")
        # Only assistant (tool_calls) and function messages may omit their content.
        if content is None and role not in ("assistant", "function"):
            raise Reject(missing_parameter(f"{param}.content"))
        text = _message_text(content, f"{param}.content")
        if role == "tool" and not isinstance(message.get("tool_call_id"), str):
            if message.get("tool_call_id") is None:
                raise Reject(missing_parameter(f"{param}.tool_call_id"))
            raise invalid_type(f"{param}.tool_call_id", "a string", message["tool_call_id"])
        if role == "function" and not isinstance(message.get("name"), str):
            raise Reject(missing_parameter(f"{param}.name"))
        if message.get("tool_calls") is not None:
            as_array(message["tool_calls"], f"{param}.tool_calls")
        lines.append(f"{role}: {text}")
        tokens += count_tokens(text) + _MESSAGE_OVERHEAD
        last_user = text if role == "user" else ""
    return "\n".join(lines), tokens, last_user


def _chat(body: Mapping[str, Any], policy: Policy) -> ChatRequest:
    model = check_model(body, CHAT, policy)
    _check_unknown(body, _CHAT_PARAMS, policy)
    prompt_text, prompt_tokens, last_user = _messages(body)
    reader = BodyReader(body, strict=policy.validate_params)
    sampling = reader.sampling()
    n = reader.optional("n", int_in(1, 128), 1)
    stop = reader.optional("stop", stop_sequences, ())
    limits = [
        reader.optional("max_tokens", int_in(1, None), None),
        reader.optional("max_completion_tokens", int_in(1, None), None),
    ]
    max_tokens = min((x for x in limits if x is not None), default=None)
    logprobs = reader.optional("logprobs", as_bool, False)
    top_logprobs = reader.optional("top_logprobs", int_in(0, 20), 0)
    if body.get("top_logprobs") is not None and not reader.require(
        logprobs,
        invalid_request("'top_logprobs' is only allowed when 'logprobs' is true.", "top_logprobs", "invalid_value"),
    ):
        top_logprobs = 0
    tools = reader.optional("tools", parse_tools, ())
    mode, named = reader.optional("tool_choice", parse_tool_choice, (None, None))
    if body.get("tool_choice") is not None and not reader.require(
        bool(tools),
        invalid_request("'tool_choice' is only allowed when 'tools' are specified.", "tool_choice", "invalid_value"),
    ):
        mode, named = None, None
    if named is not None and not reader.require(
        any(tool.name == named for tool in tools),
        invalid_request(f"Tool '{named}' in 'tool_choice' is not one of the 'tools'.", "tool_choice", "invalid_value"),
    ):
        named = None
    parallel_tool_calls = reader.optional("parallel_tool_calls", as_bool, True)
    response_format, json_schema = reader.optional("response_format", parse_response_format, ("text", None))
    reasoning_effort = reader.optional("reasoning_effort", one_of(*EFFORTS), None)
    stream, include_usage = reader.stream(policy)
    if tools:
        prompt_tokens += count_tokens(json.dumps(body["tools"]))
    return ChatRequest(
        model=model,
        prompt_text=prompt_text,
        prompt_tokens=prompt_tokens,
        last_user_text=last_user,
        n=n if policy.honour_n else 1,
        stop=stop if policy.honour_stop else (),
        max_tokens=max_tokens if policy.honour_max_tokens else None,
        logprobs=logprobs and policy.support_logprobs,
        top_logprobs=top_logprobs if policy.support_logprobs else 0,
        tools=tools if policy.support_tools else (),
        tool_choice=mode,
        named_tool=named if policy.support_tools else None,
        parallel_tool_calls=parallel_tool_calls,
        response_format=response_format if policy.support_response_format else "text",
        json_schema=json_schema,
        reasoning_effort=reasoning_effort,
        reasoning_field=policy.reasoning_field,
        stream=stream,
        include_usage=include_usage,
        sampling=sampling,
    )


# --- completions -----------------------------------------------------------------------------------


def _token_ids(items: list[Any], param: str) -> list[int]:
    ids = [as_int(item, f"{param}[{i}]") for i, item in enumerate(items)]
    for i, token_id in enumerate(ids):
        if token_id < 0:
            raise invalid_value(f"{param}[{i}]", "token ids must be non-negative integers.")
    return ids


def _prompts(value: Any, param: str, *, allow_empty_text: bool) -> tuple[Prompt, ...]:
    """A string, array of strings, array of token ids, or array of token-id arrays."""
    empty = invalid_value(param, "empty input. Expected a non-empty string or a non-empty array.", "empty_array")
    if isinstance(value, str):
        if not value and not allow_empty_text:
            raise empty
        return (Prompt(value, count_tokens(value)),)
    items = as_array(value, param)
    if not items:
        raise empty
    if all(isinstance(item, str) for item in items):
        if not allow_empty_text and not all(items):
            raise empty
        return tuple(Prompt(text, count_tokens(text)) for text in items)
    if all(isinstance(item, list) for item in items):
        prompts = []
        for i, ids in enumerate(items):
            if not ids:
                raise empty
            decoded = _token_ids(ids, f"{param}[{i}]")
            prompts.append(Prompt(decode_token_ids(decoded), len(decoded)))
        return tuple(prompts)
    if all(isinstance(item, int | float) and not isinstance(item, bool) for item in items):
        ids = _token_ids(items, param)
        return (Prompt(decode_token_ids(ids), len(ids)),)
    raise invalid_type(param, "a string, an array of strings, an array of integers or an array of arrays", value)


def _completion(body: Mapping[str, Any], policy: Policy) -> CompletionRequest:
    model = check_model(body, COMPLETIONS, policy)
    _check_unknown(body, _COMPLETION_PARAMS, policy)
    prompt = body.get("prompt")
    prompts = (Prompt(DEFAULT_PROMPT, 1),) if prompt is None else _prompts(prompt, "prompt", allow_empty_text=True)
    reader = BodyReader(body, strict=policy.validate_params)
    sampling = reader.sampling()
    reader.optional("suffix", as_str, None)  # accepted and ignored: the reference model does not insert
    n = reader.optional("n", int_in(1, 128), 1)
    best_of = reader.optional("best_of", int_in(1, 20), n)
    if not reader.require(
        best_of >= n, invalid_request("best_of must be greater than or equal to n.", "best_of", "invalid_value")
    ):
        best_of = n
    stop = reader.optional("stop", stop_sequences, ())
    max_tokens = reader.optional("max_tokens", int_in(1, None), 16)
    echo = reader.optional("echo", as_bool, False)
    logprobs = reader.optional("logprobs", int_in(0, 5), None)
    stream, include_usage = reader.stream(policy)
    if stream and not reader.require(
        best_of == n, invalid_request("Cannot stream results when best_of > n.", "best_of", "invalid_value")
    ):
        best_of = n
    return CompletionRequest(
        model=model,
        prompts=prompts,
        n=n if policy.honour_n else 1,
        best_of=best_of if policy.honour_n else 1,
        stop=stop if policy.honour_stop else (),
        max_tokens=max_tokens if policy.honour_max_tokens else None,
        echo=echo,
        logprobs=logprobs if policy.support_logprobs else None,
        stream=stream,
        include_usage=include_usage,
        sampling=sampling,
    )


# --- embeddings ------------------------------------------------------------------------------------


def _embedding(body: Mapping[str, Any], policy: Policy) -> EmbeddingRequest:
    model = check_model(body, EMBEDDINGS, policy)
    _check_unknown(body, _EMBEDDING_PARAMS, policy)
    if body.get("input") is None:
        raise Reject(missing_parameter("input"))
    inputs = _prompts(body["input"], "input", allow_empty_text=False)
    if len(inputs) > MAX_EMBEDDING_INPUTS:
        raise invalid_value(
            "input", f"array too long. Expected at most {MAX_EMBEDDING_INPUTS} inputs.", "array_above_max_length"
        )
    reader = BodyReader(body, strict=policy.validate_params)
    reader.optional("user", as_str, None)
    return EmbeddingRequest(
        model=model,
        inputs=inputs,
        encoding_format=reader.optional("encoding_format", one_of("float", "base64"), "float"),
        dimensions=reader.optional("dimensions", int_in(1, EMBEDDING_DIMENSIONS), None),
    )


# --- public entry points ---------------------------------------------------------------------------


def _run(check: Callable[[Mapping[str, Any], Policy], T], body: Any, policy: Policy) -> T | ApiError:
    if not isinstance(body, dict):
        return invalid_request(
            f"Invalid type for request body: expected a JSON object, but got {describe_json_type(body)} instead.",
            code="invalid_type",
        )
    try:
        return check(body, policy)
    except Reject as rejected:
        return rejected.error


def validate_chat(body: Any, policy: Policy | None = None) -> ChatRequest | ApiError:
    """Validate a ``POST /v1/chat/completions`` body."""
    return _run(_chat, body, policy or Policy())


def validate_completion(body: Any, policy: Policy | None = None) -> CompletionRequest | ApiError:
    """Validate a ``POST /v1/completions`` body."""
    return _run(_completion, body, policy or Policy())


def validate_embedding(body: Any, policy: Policy | None = None) -> EmbeddingRequest | ApiError:
    """Validate a ``POST /v1/embeddings`` body."""
    return _run(_embedding, body, policy or Policy())
