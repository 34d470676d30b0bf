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
from .edits import edit_response, engine_card, engine_not_found, engines, validate_edit
from .embeddings import embedding_response
from .errors import ApiError, invalid_request, model_not_found
from .faults import FaultSet
from .files import FileStore, file_not_found
from .fine_tunes import FineTuneStore, Job, TunedModels, fine_tune_not_found, validate_fine_tune
from .images import image_png, images_response, parse_image_name, validate_image_request
from .middleware import RequestContextMiddleware, TraceMiddleware
from .moderations import moderation_response, validate_moderation
from .policy import Policy
from .responses import responses_routes
from .sse import DONE, encode_event
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
    """A Starlette app whose complete middleware stack is wrapped by the request-context middleware,
    then by the faults registered at the ``asgi`` site and, outermost, by the trace middleware.

    ``traces`` maps each token of a request sent with ``x-oai-conformance-trace: <token>`` to the fault
    sites such requests passed through (see :class:`~conformance.reference.middleware.TraceMiddleware`).
    """

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
        self.traces: dict[str, set[str]] = {}

    def build_middleware_stack(self) -> ASGIApp:
        stack = RequestContextMiddleware(super().build_middleware_stack(), latency=self.latency)
        return TraceMiddleware(self.asgi_wrapper(stack), traces=self.traces)


class _Endpoints:
    """The route handlers, closed over one app's key, faults, policy and pacing."""

    def __init__(self, *, api_key: str | None, faults: FaultSet, policy: Policy, stream_delay: float) -> None:
        self.api_key = api_key
        self.faults = faults
        self.policy = policy
        self.stream_delay = stream_delay
        # State of the stateful endpoints lives per app instance (each fault combination has its own).
        self.files = FileStore()
        self.tuned_models = TunedModels()
        self.fine_tunes = FineTuneStore(self.files, self.tuned_models)

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
        cards = [model.card() for model in REFERENCE_MODELS] + self.tuned_models.cards()
        payload = {"object": "list", "data": cards}
        return JSONResponse(self.faults.apply("models.list", payload))

    async def retrieve_model(self, request: Request) -> Response:
        model_id: str = request.path_params["model"]
        if request.method == "DELETE":
            return await self.delete_model(request, model_id)
        if not model_id:
            # "/v1/models/" (trailing slash) is the list, not a model with an empty id.
            return await self.list_models(request)
        if (denied := self.denied(request)) is not None:
            return denied
        model = find_model(model_id)
        card = model.card() if model is not None else self.tuned_models.get(model_id)
        if card is None:
            return self.error(model_not_found(model_id), path=request.url.path)
        return JSONResponse(self.faults.apply("models.retrieve", card))

    async def delete_model(self, request: Request, model_id: str) -> Response:
        """Seed 002: only fine-tuned models (the ones the jobs produced) can be deleted."""
        if (denied := self.denied(request)) is not None:
            return denied
        if find_model(model_id) is not None:
            message = f"You cannot delete {model_id}: only fine-tuned models your organization owns can be deleted."
            forbidden = ApiError(403, message, "invalid_request_error", "model", "model_not_deletable")
            return self.error(forbidden, path=request.url.path)
        if self.tuned_models.get(model_id) is None:
            return self.error(model_not_found(model_id), path=request.url.path)
        deletion = (200, {"id": model_id, "object": "model", "deleted": True}, True)
        status, payload, delete = self.faults.apply("models.delete", deletion, model_id=model_id)
        if delete:
            self.tuned_models.delete(model_id)
        return JSONResponse(payload, status_code=status) if payload is not None else Response(status_code=status)

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

    # -- images, moderations, files, fine-tunes, edits, engines --------------------------------------

    async def form_body(self, request: Request) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]] | Response:
        """A multipart body as (text fields, uploads by field name → (filename, bytes)), or the 400."""
        if request.headers.get("content-type", "").split(";", 1)[0].strip().lower() != "multipart/form-data":
            return self.error(
                invalid_request("This endpoint expects a multipart/form-data body."), path=request.url.path
            )
        fields: dict[str, str] = {}
        uploads: dict[str, tuple[str, bytes]] = {}
        try:
            async with request.form(max_files=8, max_fields=64) as form:
                for key, value in form.multi_items():
                    if isinstance(value, str):
                        fields[key] = value
                    else:
                        uploads[key] = (value.filename or "", await value.read())
        except HTTPException as exc:
            return self.error(invalid_request(f"Malformed multipart body: {exc.detail}"), path=request.url.path)
        return fields, uploads

    def images(self, request: Request, route: str, fields: dict[str, Any], image: bytes | None) -> Response:
        fields = self.faults.apply("images.request", dict(fields), route=route)
        parsed = validate_image_request(route, fields, image)
        if isinstance(parsed, ApiError):
            return self.error(parsed, path=request.url.path)
        base = str(request.base_url)
        payload = self.faults.apply("images.response", images_response(parsed, base), route=route, base_url=base)
        return JSONResponse(payload)

    async def image_generations(self, request: Request) -> Response:
        if (denied := self.denied(request)) is not None:
            return denied
        body = await self.json_body(request)
        if isinstance(body, Response):
            return body
        if not isinstance(body, dict):
            return self.error(invalid_request("The request body must be a JSON object."), path=request.url.path)
        return self.images(request, "generations", body, None)

    async def image_edits(self, request: Request) -> Response:
        return await self.image_upload(request, "edits")

    async def image_variations(self, request: Request) -> Response:
        return await self.image_upload(request, "variations")

    async def image_upload(self, request: Request, route: str) -> Response:
        if (denied := self.denied(request)) is not None:
            return denied
        form = await self.form_body(request)
        if isinstance(form, Response):
            return form
        fields, uploads = form
        image = uploads.get("image")
        return self.images(request, route, fields, image[1] if image else None)

    async def image_file(self, request: Request) -> Response:
        """What an image ``url`` points at. No key needed: like OpenAI's signed URLs, the URL is the grant."""
        parsed = parse_image_name(request.path_params["name"])
        if parsed is None:
            return self.error(invalid_request("No such image.", status=404), path=request.url.path)
        return Response(image_png(*parsed), media_type="image/png", headers={"cache-control": "max-age=3600"})

    async def moderations(self, request: Request) -> Response:
        if (denied := self.denied(request)) is not None:
            return denied
        body = await self.json_body(request)
        if isinstance(body, Response):
            return body
        parsed = validate_moderation(body, self.policy)
        if isinstance(parsed, ApiError):
            return self.error(parsed, path=request.url.path)
        payload = moderation_response(*parsed)
        return JSONResponse(self.faults.apply("moderations.response", payload, request=body))

    async def files_root(self, request: Request) -> Response:
        """GET lists the files (optionally of one ``purpose``); POST uploads one (multipart)."""
        if (denied := self.denied(request)) is not None:
            return denied
        if request.method == "POST":
            return await self.upload_file(request)
        purpose = request.query_params.get("purpose")
        cards = [f.card() for f in self.files.all() if purpose is None or f.purpose == purpose]
        return JSONResponse(self.faults.apply("files.response", {"object": "list", "data": cards}, route="list"))

    async def upload_file(self, request: Request) -> Response:
        form = await self.form_body(request)
        if isinstance(form, Response):
            return form
        fields = self.faults.apply("files.request", form[0], route="upload")
        filename, content = form[1].get("file", ("", None))
        problem = self.files.validate_upload(fields.get("purpose"), filename, content)
        if problem is not None or content is None:
            return self.error(problem or invalid_request("No file."), path=request.url.path)
        stored = self.files.add(filename, fields["purpose"], content)
        return JSONResponse(self.faults.apply("files.response", stored.card(), route="upload"))

    async def file_item(self, request: Request) -> Response:
        """GET retrieves the file object; DELETE deletes the file."""
        if (denied := self.denied(request)) is not None:
            return denied
        file_id: str = request.path_params["file_id"]
        stored = self.files.get(file_id)
        if stored is None:
            return self.error(file_not_found(file_id), path=request.url.path)
        if request.method == "GET":
            return JSONResponse(self.faults.apply("files.response", stored.card(), route="retrieve"))
        deletion = (200, {"id": file_id, "object": "file", "deleted": True}, True)
        status, payload, delete = self.faults.apply("files.delete", deletion, file_id=file_id)
        if delete:
            self.files.delete(file_id)
        return JSONResponse(payload, status_code=status) if payload is not None else Response(status_code=status)

    async def file_content(self, request: Request) -> Response:
        if (denied := self.denied(request)) is not None:
            return denied
        file_id: str = request.path_params["file_id"]
        stored = self.files.get(file_id)
        if stored is None:
            return self.error(file_not_found(file_id), path=request.url.path)
        body, media_type = self.faults.apply("files.content", (stored.content, "application/octet-stream"), file=stored)
        return Response(body, media_type=media_type)

    async def fine_tunes_root(self, request: Request) -> Response:
        """GET lists the jobs (without their events, as seed 002 shows); POST creates one."""
        if (denied := self.denied(request)) is not None:
            return denied
        if request.method == "GET":
            payload = {"object": "list", "data": [job.card(with_events=False) for job in self.fine_tunes.all()]}
            return JSONResponse(self.faults.apply("fine_tunes.response", payload, route="list"))
        body = await self.json_body(request)
        if isinstance(body, Response):
            return body
        parsed = validate_fine_tune(body, self.files)
        if isinstance(parsed, ApiError):
            return self.error(parsed, path=request.url.path)
        job = self.fine_tunes.create(parsed)
        return JSONResponse(self.faults.apply("fine_tunes.response", job.card(), route="create", request=body))

    def job(self, request: Request) -> Job | Response:
        job_id: str = request.path_params["fine_tune_id"]
        job = self.fine_tunes.get(job_id)
        return job if job is not None else self.error(fine_tune_not_found(job_id), path=request.url.path)

    async def retrieve_fine_tune(self, request: Request) -> Response:
        """Reading a job moves it one step (see fine_tunes.py): the lifecycle is driven by the client."""
        if (denied := self.denied(request)) is not None:
            return denied
        job = self.job(request)
        if isinstance(job, Response):
            return job
        self.fine_tunes.advance(job)
        return JSONResponse(self.faults.apply("fine_tunes.response", job.card(), route="retrieve"))

    async def cancel_fine_tune(self, request: Request) -> Response:
        if (denied := self.denied(request)) is not None:
            return denied
        job = self.job(request)
        if isinstance(job, Response):
            return job
        problem = self.fine_tunes.cancel(job)
        if problem is not None:
            return self.error(problem, path=request.url.path)
        return JSONResponse(self.faults.apply("fine_tunes.response", job.card(), route="cancel"))

    async def fine_tune_events(self, request: Request) -> Response:
        """The events so far; with ``?stream=true`` the job runs to its end and its events are streamed."""
        if (denied := self.denied(request)) is not None:
            return denied
        job = self.job(request)
        if isinstance(job, Response):
            return job
        flag = request.query_params.get("stream", "false").lower()
        if flag not in ("true", "false"):
            error = invalid_request(f"Invalid 'stream': '{flag}' is not a boolean.", "stream", "invalid_value")
            return self.error(error, path=request.url.path)
        if flag == "true":
            self.fine_tunes.run_to_end(job)
            items: list[Any] = [*job.card()["events"], DONE]
            return self.stream(items, site="fine_tunes.stream", kind="fine_tune", body={"fine_tune_id": job.id})
        payload = {"object": "list", "data": job.card()["events"]}
        return JSONResponse(self.faults.apply("fine_tunes.response", payload, route="events"))

    async def edits(self, request: Request) -> Response:
        if (denied := self.denied(request)) is not None:
            return denied
        body = await self.json_body(request)
        if isinstance(body, Response):
            return body
        parsed = validate_edit(body, self.policy)
        if isinstance(parsed, ApiError):
            return self.error(parsed, path=request.url.path)
        return JSONResponse(self.faults.apply("edits.response", edit_response(parsed), request=body))

    async def list_engines(self, request: Request) -> Response:
        if (denied := self.denied(request)) is not None:
            return denied
        return JSONResponse(self.faults.apply("engines.response", {"object": "list", "data": engines()}, route="list"))

    async def retrieve_engine(self, request: Request) -> Response:
        if (denied := self.denied(request)) is not None:
            return denied
        engine_id: str = request.path_params["engine_id"]
        model = find_model(engine_id)
        if model is None:
            return self.error(engine_not_found(engine_id), path=request.url.path)
        return JSONResponse(self.faults.apply("engines.response", engine_card(model), route="retrieve"))

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
) -> ReferenceApp:
    """The reference provider.  ``api_key=None`` serves without authentication; ``faults`` names
    entries of :data:`~conformance.reference.faults.FAULTS` (unknown names raise ValueError)."""
    fault_set = faults if isinstance(faults, FaultSet) else FaultSet(faults)
    policy: Policy = fault_set.apply("policy", Policy())
    endpoints = _Endpoints(api_key=api_key, faults=fault_set, policy=policy, stream_delay=stream_delay)
    routes = [
        Route("/v1/models", endpoints.list_models, methods=["GET"]),
        # `:path` so ids containing ':' or '/' match, and "/v1/models/" reaches the handler.
        Route("/v1/models/{model:path}", endpoints.retrieve_model, methods=["GET", "DELETE"]),
        Route("/v1/chat/completions", endpoints.chat_completions, methods=["POST"]),
        Route("/v1/completions", endpoints.completions, methods=["POST"]),
        Route("/v1/embeddings", endpoints.embeddings, methods=["POST"]),
        Route("/v1/images/generations", endpoints.image_generations, methods=["POST"]),
        Route("/v1/images/edits", endpoints.image_edits, methods=["POST"]),
        Route("/v1/images/variations", endpoints.image_variations, methods=["POST"]),
        Route("/v1/_images/{name}", endpoints.image_file, methods=["GET"]),
        Route("/v1/moderations", endpoints.moderations, methods=["POST"]),
        Route("/v1/files", endpoints.files_root, methods=["GET", "POST"]),
        Route("/v1/files/{file_id}", endpoints.file_item, methods=["GET", "DELETE"]),
        Route("/v1/files/{file_id}/content", endpoints.file_content, methods=["GET"]),
        Route("/v1/fine-tunes", endpoints.fine_tunes_root, methods=["GET", "POST"]),
        Route("/v1/fine-tunes/{fine_tune_id}", endpoints.retrieve_fine_tune, methods=["GET"]),
        Route("/v1/fine-tunes/{fine_tune_id}/cancel", endpoints.cancel_fine_tune, methods=["POST"]),
        Route("/v1/fine-tunes/{fine_tune_id}/events", endpoints.fine_tune_events, methods=["GET"]),
        Route("/v1/edits", endpoints.edits, methods=["POST"]),
        Route("/v1/engines", endpoints.list_engines, methods=["GET"]),
        Route("/v1/engines/{engine_id}", endpoints.retrieve_engine, methods=["GET"]),
        *responses_routes(endpoints),
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
