"""Faults of error responses: their envelope, status codes and validation (ERR-*)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.types import ASGIApp, Scope

from ..errors import ApiError
from ..policy import Policy
from ._asgi import is_parse_error, is_validation_error, on, rewriting
from ._registry import fault

# the envelope -------------------------------------------------------------------------------------


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

    return rewriting(value, rewrite)


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


# status codes -------------------------------------------------------------------------------------


@fault(
    "invalid-messages-200-error",
    site="request",
    summary="An invalid `messages` is answered 200 with an error object.",
    seen_in="langchain-ai/langchain#40380 (OpenRouter), songquanpeng/one-api#193",
)
def _invalid_messages_200_error(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/chat/completions") and isinstance(value, dict) and isinstance(value.get("messages"), str):
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
    if on(path, "/chat/completions") and isinstance(value, dict) and isinstance(value.get("messages"), str):
        raise TypeError("string indices must be integers")  # the crash a naive `for m in messages: m["role"]` hits
    return value


@fault(
    "bad-json-500",
    site="error",
    summary="A body that is not JSON crashes the server (500).",
    seen_in="compat-bugs F.32",
)
def _bad_json_500(value: tuple[int, Any], *, api_error: ApiError, **_: Any) -> Any:
    if is_parse_error(api_error):
        return 500, {"error": {"message": "Internal server error", "type": "server_error", "param": None, "code": None}}
    return value


@fault(
    "bad-json-422",
    site="error",
    summary="A body that is not JSON is a 422 (FastAPI's status), not a 400.",
    seen_in="FastAPI defaults (NVIDIA/garak#748, intel-extension-for-transformers#1288)",
)
def _bad_json_422(value: tuple[int, Any], *, api_error: ApiError, **_: Any) -> Any:
    return (422, value[1]) if is_parse_error(api_error) else value


@fault(
    "validation-422",
    site="error",
    summary="Validation errors are 422 (pydantic), not 400.",
    seen_in="UKGovernmentBEIS/inspect_ai#1612, NVIDIA NIM (NVIDIA/garak#748)",
)
def _validation_422(value: tuple[int, Any], *, api_error: ApiError, **_: Any) -> Any:
    return (422, value[1]) if is_validation_error(api_error) else value


@fault(
    "missing-messages-accepted",
    site="request",
    summary="A chat request without messages is served.",
    seen_in="llama-cpp-python (missing prompt → 200, research llama-peer.md)",
)
def _missing_messages_accepted(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/chat/completions") and isinstance(value, dict) and "messages" not in value:
        return {**value, "messages": [{"role": "user", "content": ""}]}
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

    return rewriting(value, rewrite)


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

    return rewriting(value, rewrite)


# ranges -------------------------------------------------------------------------------------------


_CLAMPS = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "presence_penalty": (-2.0, 2.0),
    "frequency_penalty": (-2.0, 2.0),
}
_ROLES = ("system", "developer", "user", "assistant", "tool", "function")


@fault(
    "range-unchecked",
    site="request",
    summary="Out-of-range values are silently clamped (temperature 2.5 → 2, n 0 → 1, 5 stop sequences → 4).",
    seen_in="Groq docs (temperature 0 becomes 1e-8); Prism and LiteLLM accept anything (peers.md)",
)
def _range_unchecked(value: Any, *, path: str = "", **_: Any) -> Any:
    if not on(path, "/chat/completions") or not isinstance(value, dict):
        return value
    body = dict(value)
    for key, (low, high) in _CLAMPS.items():
        if isinstance(body.get(key), int | float) and not isinstance(body[key], bool):
            body[key] = min(max(body[key], low), high)
    for key in ("n", "max_tokens"):
        if isinstance(body.get(key), int) and not isinstance(body[key], bool) and body[key] < 1:
            body[key] = 1
    if isinstance(body.get("stop"), list):
        body["stop"] = body["stop"][:4]
    if isinstance(body.get("messages"), list):
        body["messages"] = [
            {**m, "role": "user"} if isinstance(m, dict) and m.get("role") not in _ROLES else m
            for m in body["messages"]
        ]
    return body
