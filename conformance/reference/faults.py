"""Named faults: real-world deviations from the OpenAI contract, each breaking one rule.

A fault is a function registered with :func:`fault` at one *site* -- a point where the app passes a
value through :meth:`FaultSet.apply` before using it.  The function is called as
``apply(value, **ctx)`` and returns the (possibly replaced) value.  It must accept ``**ctx`` even when
it ignores it, so sites can pass more context later, and should name its first parameter ``value``
(ctx keys never use that name).

Sites, and what ``value`` is there:

``policy``
    The :class:`Policy` (once, when the app is created); return ``dataclasses.replace(policy, ...)``.
``request``
    The parsed JSON request body of a POST, before validation (ctx ``path=`` the request path);
    return a (possibly rewritten) body, or an :class:`~conformance.reference.errors.ApiError` to
    answer with instead (it goes through the ``error`` site like every error).
``models.list`` / ``models.retrieve``
    The response dict before serialisation.
``chat.response`` / ``completion.response`` / ``embedding.response``
    The response dict (ctx ``request=`` the request body dict).
``chat.chunks`` / ``completion.chunks``
    Every stream item before serialisation: dict chunks, then the literal string ``"[DONE]"``
    (ctx ``request=``).
``stream.frames``
    The ``bytes`` wire pieces after serialisation, one SSE event each including its blank line;
    each list item is sent as its own body message (ctx ``request=``, ``kind="chat"|"completion"``).
``stream.headers``
    The dict of response headers of a stream (ctx ``request=``, ``kind=``).
``error``
    A ``(status, payload)`` tuple for every error response, including 401, 404 and 405
    (ctx ``api_error=`` the :class:`~conformance.reference.errors.ApiError`, ``path=`` the request
    path); any JSON-serialisable
    payload may be returned.
``asgi``
    The whole ASGI app; return a wrapped app (middleware).  Applied last, outermost.

Active faults at one site run in sorted-name order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Final, TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError
from .policy import Policy

__all__ = ["FAULTS", "SITES", "Fault", "FaultSet", "Policy", "fault", "variation"]

F = TypeVar("F", bound=Callable[..., Any])

SITES: Final = (
    "policy",
    "request",
    "models.list",
    "models.retrieve",
    "chat.response",
    "chat.chunks",
    "completion.response",
    "completion.chunks",
    "embedding.response",
    # images, moderations, files, fine-tunes, edits, engines, model delete: see endpoint_faults.py
    "images.request",
    "images.response",
    "moderations.response",
    "files.request",
    "files.response",
    "files.content",
    "files.delete",
    "fine_tunes.response",
    "fine_tunes.stream",
    "edits.response",
    "engines.response",
    "models.delete",
    "stream.frames",
    "stream.headers",
    "error",
    "asgi",
)

_KEBAB: Final = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass(frozen=True, slots=True)
class Fault:
    name: str  # kebab-case, e.g. "stream-no-done"
    site: str  # where it applies, one of SITES
    summary: str  # one line: what the provider does wrong
    seen_in: str  # the real-world server/issue it is modelled on
    apply: Callable[..., Any]
    legal: bool = False  # a *variation*: legal behaviour that must not make any check fail


#: Every registered fault (and variation) by name.
FAULTS: dict[str, Fault] = {}


def fault(name: str, *, site: str, summary: str, seen_in: str, legal: bool = False) -> Callable[[F], F]:
    """Decorator: register the function as the fault ``name`` at ``site``; returns the function unchanged."""
    if site not in SITES:
        raise ValueError(f"fault {name!r}: unknown site {site!r}; sites are: {', '.join(SITES)}")
    if not _KEBAB.fullmatch(name):
        raise ValueError(f"fault name {name!r} is not kebab-case")
    if name in FAULTS:
        raise ValueError(f"duplicate fault name {name!r}")

    def register(function: F) -> F:
        if name in FAULTS:
            raise ValueError(f"duplicate fault name {name!r}")
        FAULTS[name] = Fault(name=name, site=site, summary=summary, seen_in=seen_in, apply=function, legal=legal)
        return function

    return register


class FaultSet:
    """The active faults of one app.  ``FaultSet()`` is the clean, conformant provider."""

    __slots__ = ("_by_site", "names")

    def __init__(self, names: Iterable[str] = ()) -> None:
        # A bare string is one fault name, not an iterable of one-letter names.
        chosen = frozenset((names,) if isinstance(names, str) else names)
        unknown = sorted(chosen - FAULTS.keys())
        if unknown:
            raise ValueError(f"unknown fault(s): {', '.join(unknown)}; valid faults: {', '.join(sorted(FAULTS))}")
        self.names: frozenset[str] = chosen
        self._by_site: dict[str, tuple[Fault, ...]] = {
            site: tuple(FAULTS[name] for name in sorted(chosen) if FAULTS[name].site == site) for site in SITES
        }

    def apply(self, site: str, value: Any, **ctx: Any) -> Any:
        """Pass ``value`` through every active fault at ``site`` (sorted by name); return the result."""
        try:
            active = self._by_site[site]
        except KeyError:
            raise ValueError(f"unknown site {site!r}; sites are: {', '.join(SITES)}") from None
        for item in active:
            value = item.apply(value, **ctx)
        return value

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.names))

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"FaultSet({sorted(self.names)!r})"


# --- helpers for the faults ------------------------------------------------------------------------

Rewrite = Callable[[Scope, int, dict[str, str], bytes], tuple[int, dict[str, str], bytes] | None]


def variation(name: str, *, site: str, summary: str, seen_in: str) -> Callable[[F], F]:
    """Register a legal variation: behaviour the contract allows, which no check may fail."""
    return fault(name, site=site, summary=summary, seen_in=seen_in, legal=True)


def _rewriting(app: ASGIApp, rewrite: Rewrite) -> ASGIApp:
    """ASGI middleware: buffer each non-streamed response and let ``rewrite`` replace status, headers
    or body (return None to leave it alone). Event streams pass through untouched. The request body
    is available to ``rewrite`` as ``scope["oai.request_body"]``."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []
        received: list[bytes] = []
        scope = {**scope, "oai.request_body": received}

        async def recording_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                received.append(message.get("body", b""))
            return message

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start.get("headers", [])}
            if headers.get("content-type", "").startswith("text/event-stream"):
                if start is not None:
                    await send(start)
                    start = None  # type: ignore[assignment]
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            status = start["status"]
            replaced = rewrite(scope, status, headers, body)
            if replaced is not None:
                status, headers, body = replaced
                headers = {k: v for k, v in headers.items() if k != "content-length"}
                headers["content-length"] = str(len(body))
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
                }
            )
            await send({"type": "http.response.body", "body": body})

        await app(scope, recording_receive, capture)

    return middleware


def _request_header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _on(path: str, *routes: str) -> bool:
    return any(path.endswith(route) for route in routes)


def _map_choices(value: dict[str, Any], change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    return {**value, "choices": [change(dict(choice)) for choice in value.get("choices", [])]}


def _without(mapping: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k not in keys}


def _is_parse_error(error: ApiError) -> bool:
    return error.message.startswith("We could not parse the JSON body")


def _is_validation_error(error: ApiError) -> bool:
    return error.status == 400 and not _is_parse_error(error)


# --- the faults ------------------------------------------------------------------------------------
# Each models a real deviation; `seen_in` says where. The catalogue (spec/requirements.yaml) lists,
# for every requirement, the faults that must make it FAIL; the meta-tests hold both to each other.

# models ---------------------------------------------------------------------------------------------


@fault(
    "models-bare-array",
    site="models.list",
    summary="GET /models answers a bare JSON array, not {object, data}.",
    seen_in="early Ollama / h2ogpt#1452 style lists",
)
def _models_bare_array(value: dict[str, Any], **_: Any) -> Any:
    return value.get("data", [])


@fault(
    "models-no-list-object",
    site="models.list",
    summary='The model list has no "object": "list".',
    seen_in="obot-platform/tools#445",
)
def _models_no_list_object(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return _without(value, "object")


@fault(
    "models-missing-object",
    site="models.list",
    summary='Model entries lack "object": "model".',
    seen_in="compat-bugs G.37",
)
def _models_missing_object(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "data": [_without(model, "object") for model in value.get("data", [])]}


@fault(
    "models-missing-created",
    site="models.list",
    summary="Model objects in GET /v1/models have no `created` timestamp.",
    seen_in="LM Studio (webai-at-home#208)",
)
def _models_missing_created(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "data": [_without(model, "created") for model in value.get("data", [])]}


@fault(
    "models-created-millis",
    site="models.list",
    summary="Model `created` is in milliseconds.",
    seen_in="mlc-ai/web-llm#829, EricLBuehler/mistral.rs#1805",
)
def _models_created_millis(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "data": [{**model, "created": model["created"] * 1000} for model in value.get("data", [])]}


@fault(
    "models-missing-owned-by",
    site="models.list",
    summary="Model entries lack `owned_by`.",
    seen_in="compat-bugs G.37 (TheoKanning/openai-java#346)",
)
def _models_missing_owned_by(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "data": [_without(model, "owned_by") for model in value.get("data", [])]}


@fault(
    "models-empty-list",
    site="models.list",
    summary="GET /models lists nothing although models answer.",
    seen_in="seed 003; madroidmaq/mlx-omni-server#130 (load-on-demand)",
)
def _models_empty_list(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "data": []}


@fault(
    "models-list-omits-chat",
    site="models.list",
    summary="The chat model answers but is not listed.",
    seen_in="seed 003 (model list and callable names disagree); QuantumNous/new-api#1917",
)
def _models_list_omits_chat(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "data": [m for m in value.get("data", []) if m.get("id") != "ref-chat"]}


@fault(
    "models-retrieve-wrong-id",
    site="models.retrieve",
    summary="GET /models/{id} answers with the upstream name, not the requested id.",
    seen_in="seed 003 (model name mapping in gateways)",
)
def _models_retrieve_wrong_id(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "id": f"upstream/{value.get('id')}"}


@fault(
    "models-retrieve-unknown-200",
    site="error",
    summary="GET /models/{id} invents a model for any unknown id instead of answering 404.",
    seen_in="qualcomm/GenieX#640 (retrieve of any name succeeds)",
)
def _models_retrieve_unknown_200(value: tuple[int, Any], *, api_error: ApiError, path: str = "", **_: Any) -> Any:
    if api_error.code == "model_not_found" and "/models/" in path:
        model_id = path.split("/models/", 1)[1]
        return 200, {"id": model_id, "object": "model", "created": 1700000000, "owned_by": "system"}
    return value


# chat ------------------------------------------------------------------------------------------------


@fault(
    "chat-json-as-text-plain",
    site="asgi",
    summary="Chat completions are sent as text/plain (body still JSON).",
    seen_in="compat-bugs A.4 (HKUDS/nanobot#2289)",
)
def _chat_json_as_text_plain(value: ASGIApp, **_: Any) -> ASGIApp:
    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes) -> Any:
        if status == 200 and _on(scope["path"], "/chat/completions"):
            return status, {**headers, "content-type": "text/plain; charset=utf-8"}, body
        return None

    return _rewriting(value, rewrite)


@fault(
    "chat-wrong-object",
    site="chat.response",
    summary='object is "chat.completions" (plural).',
    seen_in="ml-explore/mlx-examples#913",
)
def _chat_wrong_object(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "object": "chat.completions"}


@fault(
    "chat-missing-id",
    site="chat.response",
    summary="The chat completion has no `id`.",
    seen_in="openvinotoolkit/model_server#3553",
)
def _chat_missing_id(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return _without(value, "id")


@fault(
    "chat-created-millis",
    site="chat.response",
    summary="`created` is in milliseconds.",
    seen_in="mlc-ai/web-llm#829, zed-industries/zed#32982",
)
def _chat_created_millis(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "created": value["created"] * 1000}


@fault(
    "chat-message-no-role",
    site="chat.response",
    summary="The assistant message has no `role`.",
    seen_in="tensorzero/tensorzero#1265",
)
def _chat_message_no_role(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return _map_choices(value, lambda c: {**c, "message": _without(c.get("message", {}), "role")})


@fault(
    "chat-finish-reason-empty",
    site="chat.response",
    summary='finish_reason is "" instead of a documented value.',
    seen_in="ollama/ollama#4357, qualcomm/GenieX#1246",
)
def _chat_finish_reason_empty(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return _map_choices(value, lambda c: {**c, "finish_reason": ""})


@fault(
    "chat-usage-wrong-total",
    site="chat.response",
    summary="usage.total_tokens counts only completion tokens.",
    seen_in="compat-bugs E.29",
)
def _chat_usage_wrong_total(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    usage = value.get("usage", {})
    return {**value, "usage": {**usage, "total_tokens": usage.get("completion_tokens", 0)}}


@fault(
    "chat-no-logprobs-key",
    site="chat.response",
    summary="Choices omit the `logprobs` key.",
    seen_in="LiteLLM, llmock, fakellm (peers.md Prism proxy findings)",
)
def _chat_no_logprobs_key(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return _map_choices(value, lambda c: _without(c, "logprobs"))


@fault(
    "chat-ignores-max-tokens",
    site="request",
    summary="Chat ignores max_tokens and max_completion_tokens.",
    seen_in="research llama-peer.md (llama-cpp-python generates until the context is full)",
)
def _chat_ignores_max_tokens(value: Any, *, path: str = "", **_: Any) -> Any:
    if _on(path, "/chat/completions") and isinstance(value, dict):
        return _without(value, "max_tokens", "max_completion_tokens")
    return value


@fault(
    "chat-ignores-n",
    site="request",
    summary="Chat answers one choice whatever n is.",
    seen_in="abetlen/llama-cpp-python#1906, InternLM/lmdeploy#1787",
)
def _chat_ignores_n(value: Any, *, path: str = "", **_: Any) -> Any:
    if _on(path, "/chat/completions") and isinstance(value, dict):
        return _without(value, "n")
    return value


@fault(
    "chat-rejects-max-completion-tokens",
    site="request",
    summary="max_completion_tokens is refused as an unknown parameter (pydantic extra_forbidden).",
    seen_in="1Panel-dev/MaxKB#2912, NVIDIA/garak#748",
)
def _chat_rejects_max_completion_tokens(value: Any, *, path: str = "", **_: Any) -> Any:
    if _on(path, "/chat/completions") and isinstance(value, dict) and "max_completion_tokens" in value:
        return ApiError(400, "Extra inputs are not permitted", param="max_completion_tokens", code="extra_forbidden")
    return value


# completions -------------------------------------------------------------------------------------------


@fault(
    "completion-wrong-object",
    site="completion.response",
    summary='object is "completion", not "text_completion".',
    seen_in="compat-bugs C.21",
)
def _completion_wrong_object(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "object": "completion"}


@fault(
    "completion-usage-wrong-total",
    site="completion.response",
    summary="usage.total_tokens is 0.",
    seen_in="LiteLLM mock usage (peers.md)",
)
def _completion_usage_wrong_total(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "usage": {**value.get("usage", {}), "total_tokens": 0}}


@fault(
    "completion-no-logprobs-key",
    site="completion.response",
    summary="Completion choices omit `logprobs`.",
    seen_in="compat-bugs J.41",
)
def _completion_no_logprobs_key(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return _map_choices(value, lambda c: _without(c, "logprobs"))


@fault(
    "completion-ignores-prompt-array",
    site="request",
    summary="Only the first prompt of a prompt array is completed.",
    seen_in="Ollama docs (prompt must be a string)",
)
def _completion_ignores_prompt_array(value: Any, *, path: str = "", **_: Any) -> Any:
    if _on(path, "/v1/completions") and not _on(path, "/chat/completions") and isinstance(value, dict):
        prompt = value.get("prompt")
        if isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
            return {**value, "prompt": prompt[0]}
    return value


@fault("completion-ignores-echo", site="request", summary="echo is ignored.", seen_in="Ollama docs (no echo)")
def _completion_ignores_echo(value: Any, *, path: str = "", **_: Any) -> Any:
    if _on(path, "/v1/completions") and not _on(path, "/chat/completions") and isinstance(value, dict):
        return _without(value, "echo")
    return value


@fault(
    "completion-ignores-max-tokens",
    site="request",
    summary="Completions ignore max_tokens.",
    seen_in="research llama-peer.md",
)
def _completion_ignores_max_tokens(value: Any, *, path: str = "", **_: Any) -> Any:
    if _on(path, "/v1/completions") and not _on(path, "/chat/completions") and isinstance(value, dict):
        return _without(value, "max_tokens")
    return value


@fault(
    "completion-stream-no-done",
    site="completion.chunks",
    summary="The completion stream ends without data: [DONE].",
    seen_in="oobabooga/textgen#4778",
)
def _completion_stream_no_done(value: list[Any], **_: Any) -> list[Any]:
    return [item for item in value if item != "[DONE]"]


# embeddings ---------------------------------------------------------------------------------------------


@fault(
    "embedding-wrong-object",
    site="embedding.response",
    summary='Embedding items lack "object": "embedding".',
    seen_in="compat-bugs C.18",
)
def _embedding_wrong_object(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "data": [_without(item, "object") for item in value.get("data", [])]}


@fault(
    "embedding-single-item",
    site="embedding.response",
    summary="One embedding is returned however many inputs.",
    seen_in="LiteLLM embedding mock (peers.md)",
)
def _embedding_single_item(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "data": value.get("data", [])[:1]}


@fault(
    "embedding-ignores-base64",
    site="request",
    summary="encoding_format base64 is ignored; floats come back.",
    seen_in="runpod-workers/worker-infinity-embedding#30; LiteLLM (peers.md)",
)
def _embedding_ignores_base64(value: Any, *, path: str = "", **_: Any) -> Any:
    if _on(path, "/embeddings") and isinstance(value, dict):
        return {**value, "encoding_format": "float"}
    return value


@fault(
    "embedding-usage-zero-total",
    site="embedding.response",
    summary="usage.total_tokens is 0.",
    seen_in="LiteLLM (peers.md: total_tokens 0 with prompt_tokens 10)",
)
def _embedding_usage_zero_total(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "usage": {**value.get("usage", {}), "total_tokens": 0}}


@fault(
    "embedding-ragged",
    site="embedding.response",
    summary="The second embedding is one dimension short.",
    seen_in="compat-bugs H (dimension mismatches in batched embeddings)",
)
def _embedding_ragged(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    data = [dict(item) for item in value.get("data", [])]
    if len(data) > 1 and isinstance(data[1].get("embedding"), list):
        data[1]["embedding"] = data[1]["embedding"][:-1]
    return {**value, "data": data}


# auth ----------------------------------------------------------------------------------------------------


@fault(
    "auth-ignored",
    site="policy",
    summary="No key is checked: any request is served.",
    seen_in="llm-mock-api, Prism (any Bearer passes) (peers.md)",
)
def _auth_ignored(value: Policy, **_: Any) -> Policy:
    return replace(value, require_auth=False)


@fault(
    "auth-missing-key-allowed",
    site="asgi",
    summary="A request without Authorization is served as the default user.",
    seen_in="llama.cpp (older builds left routes open with --api-key set)",
)
def _auth_missing_key_allowed(value: ASGIApp, *, api_key: str | None = None, **_: Any) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and api_key and _request_header(scope, b"authorization") is None:
            scope = {**scope, "headers": [*scope.get("headers", []), (b"authorization", f"Bearer {api_key}".encode())]}
        await value(scope, receive, send)

    return middleware


@fault(
    "auth-wrong-key-400",
    site="error",
    summary="A wrong key is a 400 no_db_connection, not a 401.",
    seen_in="LiteLLM proxy without a database (peers.md)",
)
def _auth_wrong_key_400(value: tuple[int, Any], *, api_error: ApiError, **_: Any) -> Any:
    if api_error.code == "invalid_api_key":
        return 400, {"error": {"message": "No connected db.", "type": "no_db_connection", "param": None, "code": "400"}}
    return value


@fault(
    "auth-error-200-flat",
    site="error",
    summary='Auth errors are HTTP 200 with {"code":"105","msg":"token invalid.","success":false}.',
    seen_in="seed 001 (ModelBridge FAQ)",
)
def _auth_error_200_flat(value: tuple[int, Any], *, api_error: ApiError, **_: Any) -> Any:
    if api_error.status == 401:
        return 200, {"code": "105", "msg": "token invalid.", "success": False}
    return value


@fault(
    "org-header-rejected",
    site="asgi",
    summary="Requests carrying OpenAI-Organization are refused.",
    seen_in="gateways that treat unknown headers as a different tenant (seed 002 organization header)",
)
def _org_header_rejected(value: ASGIApp, **_: Any) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        organization = _request_header(scope, b"openai-organization") if scope["type"] == "http" else None
        if organization is None:
            await value(scope, receive, send)
            return
        body = json.dumps(
            {
                "error": {
                    "message": f"No such organization: {organization}.",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "invalid_organization",
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return middleware


# errors ---------------------------------------------------------------------------------------------------


@fault(
    "error-flat-body",
    site="error",
    summary='Errors keep their status but the body is flat: {"code", "msg", "success": false}.',
    seen_in="seed 001 (ModelBridge); vllm-project/vllm#12886 (flat object:error bodies)",
)
def _error_flat_body(value: tuple[int, Any], *, api_error: ApiError, **_: Any) -> Any:
    status, _payload = value
    return status, {"code": api_error.code or str(status), "msg": api_error.message, "success": False}


@fault(
    "error-missing-param-code",
    site="error",
    summary="The error object has only message and type.",
    seen_in="vllm-project/aibrix#1679",
)
def _error_missing_param_code(value: tuple[int, Any], *, api_error: ApiError, **_: Any) -> Any:
    return value[0], {"error": {"message": api_error.message, "type": api_error.type}}


@fault(
    "error-text-plain",
    site="asgi",
    summary="Error responses are sent as text/plain (body still JSON).",
    seen_in="compat-bugs A.4 (plain-text error bodies)",
)
def _error_text_plain(value: ASGIApp, **_: Any) -> ASGIApp:
    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes) -> Any:
        if status >= 400:
            return status, {**headers, "content-type": "text/plain; charset=utf-8"}, body
        return None

    return _rewriting(value, rewrite)


@fault(
    "invalid-messages-200-error",
    site="request",
    summary="An invalid `messages` is answered 200 with an error object.",
    seen_in="langchain-ai/langchain#40380 (OpenRouter), songquanpeng/one-api#193",
)
def _invalid_messages_200_error(value: Any, *, path: str = "", **_: Any) -> Any:
    if _on(path, "/chat/completions") and isinstance(value, dict) and isinstance(value.get("messages"), str):
        return ApiError(200, "messages must be an array", param="messages", code="invalid_type")
    return value


@fault(
    "unknown-model-400",
    site="error",
    summary="An unknown model is a 400, not a 404 model_not_found.",
    seen_in="LiteLLM proxy (peers.md)",
)
def _unknown_model_400(value: tuple[int, Any], *, api_error: ApiError, path: str = "", **_: Any) -> Any:
    if api_error.code == "model_not_found" and "/models/" not in path:
        return 400, {
            "error": {
                "message": f"Invalid model name passed in model. {api_error.message}",
                "type": "invalid_request_error",
                "param": "model",
                "code": "400",
            }
        }
    return value


@fault(
    "unknown-model-accepted",
    site="policy",
    summary="Any model name is served by the default model.",
    seen_in="llama.cpp, llama-cpp-python, xllamacpp (research llama-peer.md)",
)
def _unknown_model_accepted(value: Policy, **_: Any) -> Policy:
    return replace(value, reject_unknown_models=False)


@fault(
    "unknown-model-500",
    site="error",
    summary="An unknown model is a 500 server error.",
    seen_in="open-webui/open-webui#12546, Wei-Shaw/sub2api#1489",
)
def _unknown_model_500(value: tuple[int, Any], *, api_error: ApiError, path: str = "", **_: Any) -> Any:
    if api_error.code == "model_not_found" and "/models/" not in path:
        return 500, {"error": {"message": "Internal server error", "type": "server_error", "param": None, "code": None}}
    return value


@fault(
    "messages-not-array-500",
    site="request",
    summary="`messages` that is not an array crashes the server (500).",
    seen_in="schemathesis findings on hand-written validators (research schemathesis.md §3.3)",
)
def _messages_not_array_500(value: Any, *, path: str = "", **_: Any) -> Any:
    if _on(path, "/chat/completions") and isinstance(value, dict) and isinstance(value.get("messages"), str):
        raise TypeError("string indices must be integers")  # the crash a naive `for m in messages: m["role"]` hits
    return value


@fault(
    "bad-json-500",
    site="error",
    summary="A body that is not JSON crashes the server (500).",
    seen_in="compat-bugs F.32",
)
def _bad_json_500(value: tuple[int, Any], *, api_error: ApiError, **_: Any) -> Any:
    if _is_parse_error(api_error):
        return 500, {"error": {"message": "Internal server error", "type": "server_error", "param": None, "code": None}}
    return value


@fault(
    "bad-json-422",
    site="error",
    summary="A body that is not JSON is a 422 (FastAPI's status), not a 400.",
    seen_in="FastAPI defaults (NVIDIA/garak#748, intel-extension-for-transformers#1288)",
)
def _bad_json_422(value: tuple[int, Any], *, api_error: ApiError, **_: Any) -> Any:
    return (422, value[1]) if _is_parse_error(api_error) else value


@fault(
    "validation-422",
    site="error",
    summary="Validation errors are 422 (pydantic), not 400.",
    seen_in="UKGovernmentBEIS/inspect_ai#1612, NVIDIA NIM (NVIDIA/garak#748)",
)
def _validation_422(value: tuple[int, Any], *, api_error: ApiError, **_: Any) -> Any:
    return (422, value[1]) if _is_validation_error(api_error) else value


@fault(
    "missing-messages-accepted",
    site="request",
    summary="A chat request without messages is served.",
    seen_in="llama-cpp-python (missing prompt → 200, research llama-peer.md)",
)
def _missing_messages_accepted(value: Any, *, path: str = "", **_: Any) -> Any:
    if _on(path, "/chat/completions") and isinstance(value, dict) and "messages" not in value:
        return {**value, "messages": [{"role": "user", "content": ""}]}
    return value


@fault(
    "error-param-null",
    site="error",
    summary="error.param is always null, even for a named parameter.",
    seen_in='LiteLLM (param "None"), vLLM flat errors (compat-bugs F.30)',
)
def _error_param_null(value: tuple[int, Any], **_: Any) -> Any:
    status, payload = value
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        return status, {"error": {**payload["error"], "param": None}}
    return value


@fault(
    "no-param-validation",
    site="policy",
    summary='Optional parameters are not type-checked (temperature "hot" → 200).',
    seen_in="LiteLLM and Prism (peers.md)",
)
def _no_param_validation(value: Policy, **_: Any) -> Policy:
    return replace(value, validate_params=False)


@fault(
    "wrong-endpoint-no-hint",
    site="error",
    summary="A model used on the wrong endpoint is reported as not existing, without naming the right endpoint.",
    seen_in='seed 000 (the fine-tuned model that "does not exist")',
)
def _wrong_endpoint_no_hint(value: tuple[int, Any], *, api_error: ApiError, **_: Any) -> Any:
    if "Did you mean to use" in api_error.message:
        message = "The model does not exist or you do not have access to it."
        return value[0], {
            "error": {"message": message, "type": "invalid_request_error", "param": "model", "code": "model_not_found"}
        }
    return value


@fault(
    "unknown-route-html",
    site="asgi",
    summary="An unknown route gets an nginx HTML 404 page.",
    seen_in="tsundereraws/aisub-translator#2 (nginx HTML 404)",
)
def _unknown_route_html(value: ASGIApp, **_: Any) -> ASGIApp:
    page = (
        b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n"
        b"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )

    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes) -> Any:
        if status == 404 and b"Invalid URL" in body:
            return 404, {**headers, "content-type": "text/html"}, page
        return None

    return _rewriting(value, rewrite)


@fault(
    "wrong-method-detail",
    site="asgi",
    summary='A wrong method gets FastAPI\'s {"detail": "Method Not Allowed"}.',
    seen_in="LiteLLM, llama-cpp-python (peers.md), FastAPI defaults",
)
def _wrong_method_detail(value: ASGIApp, **_: Any) -> ASGIApp:
    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes) -> Any:
        if status == 405:
            return 405, headers, b'{"detail":"Method Not Allowed"}'
        return None

    return _rewriting(value, rewrite)


# streaming --------------------------------------------------------------------------------------------------


@fault(
    "stream-no-done",
    site="chat.chunks",
    summary="The chat stream ends without the terminating `data: [DONE]` event.",
    seen_in="ik_llama.cpp#467, oobabooga/textgen#4778",
)
def _stream_no_done(value: list[Any], **_: Any) -> list[Any]:
    return [item for item in value if item != "[DONE]"]


@fault(
    "stream-content-type-json",
    site="stream.headers",
    summary="The chat stream is labelled application/json.",
    seen_in="microsoft/foundry-dev-tools#195",
)
def _stream_content_type_json(value: dict[str, str], *, kind: str = "", **_: Any) -> dict[str, str]:
    return {**value, "content-type": "application/json"} if kind == "chat" else value


@fault(
    "stream-non-json-event",
    site="chat.chunks",
    summary="The chat stream carries a `data: ping` keep-alive event.",
    seen_in="openai-python _streaming.py (json.loads on every event); compat-bugs B.8",
)
def _stream_non_json_event(value: list[Any], **_: Any) -> list[Any]:
    return [*value[:1], "ping", *value[1:]]


# The stream faults and the legal variations live in their own modules; importing them registers them.
from . import (  # noqa: E402, F401
    base_url_faults,
    endpoint_faults,
    hostile_faults,
    property_faults,
    sdk_faults,
    stream_faults,
    variations,
)
