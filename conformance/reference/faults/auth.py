"""Faults of authentication and of the headers around it: keys, organisation, request ids (AUTH-*)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ApiError
from ..policy import Policy
from ._asgi import request_header, rewriting
from ._registry import fault


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
        if scope["type"] == "http" and api_key and request_header(scope, b"authorization") is None:
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
        organization = request_header(scope, b"openai-organization") if scope["type"] == "http" else None
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


@fault(
    "auth-error-echoes-key",
    site="asgi",
    summary="The 401 for a wrong key quotes the key in full.",
    seen_in="seed 001 (the SDK message quotes a masked key; servers that do not mask leak it into logs)",
)
def _auth_error_echoes_key(value: ASGIApp, **_: Any) -> ASGIApp:
    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes) -> Any:
        token = (request_header(scope, b"authorization") or "").partition(" ")[2].strip()
        if status != 401 or not token:
            return None
        envelope = {
            "error": {
                "message": f"Incorrect API key provided: {token}.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        }
        return status, headers, json.dumps(envelope).encode()

    return rewriting(value, rewrite)


@fault(
    "no-request-id",
    site="asgi",
    summary="Responses carry no request id header.",
    seen_in="llama.cpp llama-server (research llama-peer.md: no request id)",
)
def _no_request_id(value: ASGIApp, **_: Any) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        async def strip(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() not in (b"x-request-id", b"request-id")
                ]
                message = {**message, "headers": headers}
            await send(message)

        await value(scope, receive, strip)

    return middleware


# not registered -----------------------------------------------------------------------------------


def echo_key_in_errors(value: ASGIApp, *, also: tuple[bytes, ...] = ()) -> ASGIApp:
    """Every error message repeats the bearer token the request carried, in full (IQSS/dataverse#4954,
    AstrBotDevs/AstrBot#440): the provider of the secret-leak test, which runs the whole CLI against it
    and finds the key in no output.

    Not a registered fault: the requirement it breaks is AUTH-004, whose catalogue entry lists the
    narrower ``auth-error-echoes-key``; registering this one means listing it there too. ``also`` names
    request headers whose values are echoed as well (a gateway that dumps the request into its errors).
    """

    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes) -> Any:
        token = (request_header(scope, b"authorization") or "").removeprefix("Bearer ").strip()
        if status < 400 or not token:
            return None
        try:
            payload = json.loads(body)
        except ValueError:
            return None
        error = payload.get("error") if isinstance(payload, dict) else None
        if not isinstance(error, dict) or not isinstance(error.get("message"), str):
            return None
        extra = "".join(f"{name.decode()}={request_header(scope, name)}; " for name in also)
        message = f"{error['message']} ({extra}Received API Key = {token})"
        echoed = {**payload, "error": {**error, "message": message}}
        return status, headers, json.dumps(echoed).encode()

    return rewriting(value, rewrite)
