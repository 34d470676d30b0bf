"""The reference provider as a Starlette app: routing, auth, JSON parsing and the fault sites.

Order of checks for every request: routing (an unknown route is 404 and a wrong method is 405, with
or without credentials), then authentication, then the JSON body, then validation.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from .auth import DEFAULT_API_KEY, check_authorization
from .catalog import REFERENCE_MODELS, find_model
from .chat import chat_chunks, chat_response, plan_chat
from .completions import completion_chunks, completion_response, plan_completion
from .embeddings import embedding_response
from .errors import ApiError, invalid_request, model_not_found
from .faults import FaultSet
from .middleware import RequestContextMiddleware
from .policy import Policy
from .sse import encode_event
from .validation import validate_chat, validate_completion, validate_embedding

__all__ = ["ReferenceApp", "create_app"]

_PARSE_ERROR = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP "
    "library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
)


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON, though Python's json module accepts them by default.
    raise ValueError(f"{name} is not valid JSON")


class ReferenceApp(Starlette):
    """A Starlette app whose complete middleware stack is wrapped by the request-context middleware
    and, outermost, by the faults registered at the ``asgi`` site."""

    def __init__(
        self,
        *,
        routes: list[Route],
        exception_handlers: Mapping[Any, Any],
        latency: float,
        asgi_wrapper: Callable[[ASGIApp], ASGIApp],
    ) -> None:
        super().__init__(routes=routes, exception_handlers=exception_handlers)
        # Strict routes: "/v1/chat/completions/" is an unknown route (404 JSON), not a redirect.
        self.router.redirect_slashes = False
        self.latency = latency
        self.asgi_wrapper = asgi_wrapper

    def build_middleware_stack(self) -> ASGIApp:
        stack = RequestContextMiddleware(super().build_middleware_stack(), latency=self.latency)
        return self.asgi_wrapper(stack)


class _Endpoints:
    """The route handlers, closed over one app's key, faults, policy and pacing."""

    def __init__(self, *, api_key: str | None, faults: FaultSet, policy: Policy, stream_delay: float) -> None:
        self.api_key = api_key
        self.faults = faults
        self.policy = policy
        self.stream_delay = stream_delay

    # -- shared plumbing ----------------------------------------------------------------------------

    def error(self, error: ApiError, headers: Mapping[str, str] | None = None, *, path: str = "") -> Response:
        """Every error response goes through here, and so through the ``error`` fault site."""
        status, payload = self.faults.apply("error", (error.status, error.envelope()), api_error=error, path=path)
        return JSONResponse(payload, status_code=status, headers=dict(headers or {}))

    def denied(self, request: Request) -> Response | None:
        if self.api_key is None or not self.policy.require_auth:
            return None
        problem = check_authorization(request.headers.get("authorization"), self.api_key)
        return None if problem is None else self.error(problem, path=request.url.path)

    async def json_body(self, request: Request) -> Any:
        """The parsed body, or the error Response: 400 for a body that is not JSON, or whatever a fault at
        the ``request`` site decides (it may rewrite the body, or return an ApiError to send instead)."""
        raw = await request.body()
        try:
            body = json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            return self.error(invalid_request(_PARSE_ERROR), path=request.url.path)
        body = self.faults.apply("request", body, path=request.url.path)
        if isinstance(body, ApiError):
            return self.error(body, path=request.url.path)
        return body

    async def _paced(self, frames: list[bytes | float]) -> AsyncIterator[bytes]:
        for position, frame in enumerate(frames):
            if isinstance(frame, float):
                # A fault or variation may pause the stream (e.g. linger after [DONE]).
                await asyncio.sleep(frame)
                continue
            if position:
                # Yielding control between events makes delivery incremental, as a real model's is.
                await asyncio.sleep(self.stream_delay)
            yield frame

    def stream(self, items: list[Any], *, site: str, kind: str, body: Any) -> Response:
        items = self.faults.apply(site, items, request=body)
        frames = [encode_event(item) for item in items]
        frames = self.faults.apply("stream.frames", frames, request=body, kind=kind)
        headers = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}
        headers = self.faults.apply("stream.headers", headers, request=body, kind=kind)
        # media_type=None: the headers dict alone decides Content-Type (a fault may change or drop it).
        return StreamingResponse(self._paced(frames), headers=headers, media_type=None)

    # -- routes -------------------------------------------------------------------------------------

    async def list_models(self, request: Request) -> Response:
        if (denied := self.denied(request)) is not None:
            return denied
        payload = {"object": "list", "data": [model.card() for model in REFERENCE_MODELS]}
        return JSONResponse(self.faults.apply("models.list", payload))

    async def retrieve_model(self, request: Request) -> Response:
        model_id: str = request.path_params["model"]
        if not model_id:
            # "/v1/models/" (trailing slash) is the list, not a model with an empty id.
            return await self.list_models(request)
        if (denied := self.denied(request)) is not None:
            return denied
        model = find_model(model_id)
        if model is None:
            return self.error(model_not_found(model_id), path=request.url.path)
        return JSONResponse(self.faults.apply("models.retrieve", model.card()))

    async def chat_completions(self, request: Request) -> Response:
        if (denied := self.denied(request)) is not None:
            return denied
        body = await self.json_body(request)
        if isinstance(body, Response):
            return body
        chat = validate_chat(body, self.policy)
        if isinstance(chat, ApiError):
            return self.error(chat, path=request.url.path)
        choices = plan_chat(chat)
        if chat.stream:
            return self.stream(chat_chunks(chat, choices), site="chat.chunks", kind="chat", body=body)
        return JSONResponse(self.faults.apply("chat.response", chat_response(chat, choices), request=body))

    async def completions(self, request: Request) -> Response:
        if (denied := self.denied(request)) is not None:
            return denied
        body = await self.json_body(request)
        if isinstance(body, Response):
            return body
        completion = validate_completion(body, self.policy)
        if isinstance(completion, ApiError):
            return self.error(completion, path=request.url.path)
        choices = plan_completion(completion)
        if completion.stream:
            items = completion_chunks(completion, choices)
            return self.stream(items, site="completion.chunks", kind="completion", body=body)
        payload = completion_response(completion, choices)
        return JSONResponse(self.faults.apply("completion.response", payload, request=body))

    async def embeddings(self, request: Request) -> Response:
        if (denied := self.denied(request)) is not None:
            return denied
        body = await self.json_body(request)
        if isinstance(body, Response):
            return body
        embedding = validate_embedding(body, self.policy)
        if isinstance(embedding, ApiError):
            return self.error(embedding, path=request.url.path)
        payload = embedding_response(embedding)
        return JSONResponse(self.faults.apply("embedding.response", payload, request=body))

    # -- exception handlers -------------------------------------------------------------------------

    async def http_exception(self, request: Request, exc: Exception) -> Response:
        """Starlette's routing errors (404 unknown route, 405 wrong method) as JSON envelopes."""
        assert isinstance(exc, HTTPException)
        where = f"{request.method} {request.url.path}"
        if exc.status_code == 405:
            allowed = sorted({m.strip() for m in (exc.headers or {}).get("Allow", "").split(",") if m.strip()})
            message = f"Method not allowed ({where}). Allowed methods: {', '.join(allowed)}."
            return self.error(
                invalid_request(message, status=405), headers={"Allow": ", ".join(allowed)}, path=request.url.path
            )
        if exc.status_code == 404:
            return self.error(invalid_request(f"Invalid URL ({where})", status=404), path=request.url.path)
        return self.error(
            invalid_request(str(exc.detail), status=exc.status_code), headers=exc.headers, path=request.url.path
        )

    async def server_error(self, request: Request, exc: Exception) -> Response:
        error = ApiError(500, "The server had an error while processing your request.", "server_error")
        try:
            return self.error(error, path=request.url.path)
        except Exception:
            # A broken `error` fault must not turn a 500 into an empty, non-JSON reply.
            return JSONResponse(error.envelope(), status_code=500)


def create_app(
    *,
    api_key: str | None = DEFAULT_API_KEY,
    faults: Iterable[str] = (),
    stream_delay: float = 0.002,
    latency: float = 0.0,
) -> Starlette:
    """The reference provider.  ``api_key=None`` serves without authentication; ``faults`` names
    entries of :data:`~conformance.reference.faults.FAULTS` (unknown names raise ValueError)."""
    fault_set = faults if isinstance(faults, FaultSet) else FaultSet(faults)
    policy: Policy = fault_set.apply("policy", Policy())
    endpoints = _Endpoints(api_key=api_key, faults=fault_set, policy=policy, stream_delay=stream_delay)
    routes = [
        Route("/v1/models", endpoints.list_models, methods=["GET"]),
        # `:path` so ids containing ':' or '/' match, and "/v1/models/" reaches the handler.
        Route("/v1/models/{model:path}", endpoints.retrieve_model, methods=["GET"]),
        Route("/v1/chat/completions", endpoints.chat_completions, methods=["POST"]),
        Route("/v1/completions", endpoints.completions, methods=["POST"]),
        Route("/v1/embeddings", endpoints.embeddings, methods=["POST"]),
    ]
    app = ReferenceApp(
        routes=routes,
        exception_handlers={HTTPException: endpoints.http_exception, Exception: endpoints.server_error},
        latency=latency,
        asgi_wrapper=lambda inner: fault_set.apply("asgi", inner, api_key=api_key),
    )
    app.state.faults = fault_set
    app.state.policy = policy
    return app
