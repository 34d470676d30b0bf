"""The Responses API of the reference provider: ``POST /v1/responses`` answered as the response object or as
its typed event stream, and the stored responses (retrieve, input items, delete, ``previous_response_id``).

A ``background`` response is answered ``queued`` at once and stored with the object it becomes: the first
``GET /v1/responses/{id}`` finds it ``completed`` (a poll, not a clock, moves it on, so every run is the
same); ``POST /v1/responses/{id}/cancel`` before that answers it ``cancelled``, after that (or again)
answers it unchanged, and refuses a response that was not created in the background.

The output is planned once per request (:func:`plan_output`) and rendered twice from the same plan, so a
stream's deltas always join to the non-streamed text: a message item with one ``output_text`` part, or a
``function_call`` item when a tool is forced, required, or named by the user under "auto". A prompt that
starts with "Count" gets a long answer (three sentences), so that ``max_output_tokens`` cuts it and the
response is ``incomplete``. Events are written as OpenAI writes them: ``event: <type>`` then ``data:``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .errors import ApiError, invalid_request
from .model import Generation, apply_limits, count_tokens, generate_tokens, synthesize_arguments, synthesize_value
from .responses_request import ResponsesRequest, validate_responses
from .sse import new_id, now

if TYPE_CHECKING:
    from .app import _Endpoints

__all__ = ["ResponseStore", "plan_output", "response_events", "response_object", "responses_routes"]

#: Streamed function-call arguments are split into fragments of this many characters.
ARGUMENT_FRAGMENT: Final = 8
NO_TEXT: Final = Generation((), "stop")


@dataclass(frozen=True, slots=True)
class OutputItem:
    id: str
    kind: str  # "message" | "function_call"
    generation: Generation = NO_TEXT
    name: str = ""
    call_id: str = ""
    arguments: str = ""

    @property
    def tokens(self) -> int:
        return count_tokens(self.name) + count_tokens(self.arguments) if self.call_id else len(self.generation.tokens)

    def part(self, text: str | None = None) -> dict[str, Any]:
        value = self.generation.text if text is None else text
        return {"type": "output_text", "text": value, "annotations": [], "logprobs": []}

    def wire(self, status: str = "completed", *, empty: bool = False) -> dict[str, Any]:
        if self.kind == "function_call":
            arguments = "" if empty else self.arguments
            return {
                "id": self.id,
                "type": "function_call",
                "status": status,
                "call_id": self.call_id,
                "name": self.name,
                "arguments": arguments,
            }
        content = [] if empty else [self.part()]
        return {"id": self.id, "type": "message", "status": status, "role": "assistant", "content": content}


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def _text_tokens(request: ResponsesRequest) -> list[str]:
    tokens = generate_tokens(request.prompt_text, 0)
    if request.last_user_text.startswith("Count"):
        for index in (1, 2):
            more = generate_tokens(request.prompt_text, index)
            tokens += [" " + more[0], *more[1:]]
    if request.text_format == "text":
        return tokens
    sentence = "".join(tokens)
    schema = request.json_schema
    value = synthesize_value(schema, sentence) if schema and schema.get("properties") else None
    return [json.dumps(value if isinstance(value, dict) else {"answer": sentence})]


def plan_output(request: ResponsesRequest) -> list[OutputItem]:
    """The output items; identical requests plan identical items (ids aside)."""
    tool = None
    if request.tools and request.tool_choice != "none":
        if request.named_tool is not None:
            tool = next(t for t in request.tools if t.name == request.named_tool)
        else:
            mentioned = next((t for t in request.tools if t.name.lower() in request.last_user_text.lower()), None)
            tool = mentioned or (request.tools[0] if request.tool_choice == "required" else None)
    if tool is not None:
        arguments = json.dumps(synthesize_arguments(tool.parameters), separators=(",", ":"))
        call_id = f"call_{_digest(tool.name, request.prompt_text)}"
        return [OutputItem(new_id("fc").replace("-", "_"), "function_call", name=tool.name, call_id=call_id,
                           arguments=arguments)]  # fmt: skip
    generation = apply_limits(_text_tokens(request), max_tokens=request.max_output_tokens, stop=())
    return [OutputItem(new_id("msg").replace("-", "_"), "message", generation)]


def response_object(
    request: ResponsesRequest,
    items: list[OutputItem],
    response_id: str,
    created: int,
    *,
    final: bool = True,
    pending: str = "in_progress",
) -> dict[str, Any]:
    """The response object; ``final`` False gives the object of the first stream events (``pending``
    "in_progress"), or of a background response just queued (``pending`` "queued")."""
    cut = any(item.generation.finish_reason == "length" for item in items)
    status = ("incomplete" if cut else "completed") if final else pending
    output_tokens = sum(item.tokens for item in items)
    usage = {
        "input_tokens": request.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": request.prompt_tokens + output_tokens,
    }
    fmt: dict[str, Any] = {"type": request.text_format}
    if request.json_schema is not None:
        fmt.update(name="answer", schema=request.json_schema, strict=True)
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": request.background,
        "completed_at": created if final and not cut else None,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if cut and final else None,
        "instructions": request.instructions,
        "max_output_tokens": request.max_output_tokens,
        "model": request.model,
        "output": [item.wire("incomplete" if cut else "completed") for item in items] if final else [],
        "parallel_tool_calls": True,
        "previous_response_id": request.previous_response_id,
        "reasoning": {"effort": None, "summary": None},
        "store": request.store,
        "temperature": request.echo.get("temperature"),
        "text": {"format": fmt},
        "tool_choice": request.echo.get("tool_choice", "auto"),
        "tools": request.echo.get("tools", []),
        "top_p": request.echo.get("top_p"),
        "truncation": "disabled",
        "usage": usage if final else None,
        "metadata": {},
    }


def _item_events(item: OutputItem, index: int, status: str) -> list[dict[str, Any]]:
    where = {"item_id": item.id, "output_index": index}
    events: list[dict[str, Any]] = [
        {"type": "response.output_item.added", "output_index": index, "item": item.wire("in_progress", empty=True)}
    ]
    if item.kind == "function_call":
        fragments = [
            item.arguments[i : i + ARGUMENT_FRAGMENT] for i in range(0, len(item.arguments), ARGUMENT_FRAGMENT)
        ]
        events += [{"type": "response.function_call_arguments.delta", **where, "delta": f} for f in fragments]
        events.append(
            {"type": "response.function_call_arguments.done", **where, "name": item.name, "arguments": item.arguments}
        )
    else:
        part = {**where, "content_index": 0}
        events.append({"type": "response.content_part.added", **part, "part": item.part("")})
        events += [
            {"type": "response.output_text.delta", **part, "delta": token, "logprobs": []}
            for token in item.generation.tokens
        ]
        events.append({"type": "response.output_text.done", **part, "text": item.generation.text, "logprobs": []})
        events.append({"type": "response.content_part.done", **part, "part": item.part()})
    events.append({"type": "response.output_item.done", "output_index": index, "item": item.wire(status)})
    return events


def response_events(request: ResponsesRequest, items: list[OutputItem], response_id: str, created: int) -> list[Any]:
    """The stream: created, in_progress, each item's events, then completed (incomplete when cut)."""
    opening = response_object(request, items, response_id, created, final=False)
    final = response_object(request, items, response_id, created)
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": opening},
        {"type": "response.in_progress", "response": opening},
    ]
    status = "incomplete" if final["status"] == "incomplete" else "completed"
    for index, item in enumerate(items):
        events += _item_events(item, index, status)
    events.append({"type": f"response.{final['status']}", "response": final})
    return [{**event, "sequence_number": number} for number, event in enumerate(events)]


def encode_named(item: Any) -> bytes:
    """One event as OpenAI writes it: ``event: <type>``, ``data: <compact JSON>``, a blank line."""
    data = json.dumps(item, separators=(",", ":"), ensure_ascii=False)
    kind = item.get("type") if isinstance(item, dict) else None
    head = f"event: {kind}\n" if isinstance(kind, str) else ""
    return f"{head}data: {data}\n\n".encode()


class ResponseStore:
    """Stored responses by id: the response object and the input items (with the ids they were given)."""

    def __init__(self) -> None:
        self.responses: dict[str, dict[str, Any]] = {}
        self.inputs: dict[str, list[dict[str, Any]]] = {}
        self.earlier: dict[str, tuple[dict[str, Any], ...]] = {}
        self.background: set[str] = set()  # the ids of responses created with background true
        self.pending: dict[str, dict[str, Any]] = {}  # background responses still queued: what they become

    def poll(self, response_id: str) -> None:
        """A queued background response is done once someone looks: deterministic, no clock involved."""
        if response_id in self.pending:
            self.responses[response_id] = self.pending.pop(response_id)

    def cancel(self, response_id: str) -> dict[str, Any]:
        """A queued background response becomes cancelled; a finished one is answered unchanged."""
        if self.pending.pop(response_id, None) is not None:
            self.responses[response_id] = {**self.responses[response_id], "status": "cancelled"}
        return self.responses[response_id]

    def history(self, response_id: str) -> tuple[dict[str, Any], ...] | None:
        """The conversation up to and including the response: what ``previous_response_id`` continues."""
        if response_id not in self.responses:
            return None
        return (*self.earlier[response_id], *self.inputs[response_id], *self.responses[response_id]["output"])

    def add(self, request: ResponsesRequest, payload: dict[str, Any]) -> None:
        response_id = payload["id"]
        self.responses[response_id] = payload
        self.inputs[response_id] = [
            {"id": f"msg_{_digest(response_id, str(i))}", **item} if item["type"] == "message" else dict(item)
            for i, item in enumerate(request.items)
        ]
        previous = request.previous_response_id
        self.earlier[response_id] = self.history(previous) or () if previous else ()

    def delete(self, response_id: str) -> None:
        for table in (self.responses, self.inputs, self.earlier, self.pending):
            table.pop(response_id, None)
        self.background.discard(response_id)


def _not_found(response_id: str) -> Any:
    return invalid_request(f"Response with id '{response_id}' not found.", status=404)


class ResponsesRoutes:
    """The route handlers, sharing the app's key, faults, policy, pacing and error path."""

    def __init__(self, endpoints: _Endpoints) -> None:
        self.endpoints = endpoints
        self.faults = endpoints.faults
        self.store = ResponseStore()

    async def create(self, request: Request) -> Response:
        endpoints = self.endpoints
        if (denied := endpoints.denied(request)) is not None:
            return denied
        body = await endpoints.json_body(request)
        if isinstance(body, Response):
            return body
        parsed = validate_responses(body, endpoints.policy, self.store.history)
        if not isinstance(parsed, ResponsesRequest):
            return endpoints.error(parsed, path=request.url.path)
        items = plan_output(parsed)
        response_id, created = new_id("resp").replace("-", "_"), now()
        payload = response_object(parsed, items, response_id, created)
        if parsed.background and not parsed.stream:
            queued = response_object(parsed, items, response_id, created, final=False, pending="queued")
            self.store.add(parsed, queued)
            self.store.background.add(response_id)
            self.store.pending[response_id] = payload
            return JSONResponse(self.faults.apply("responses.response", queued, request=body, route="create"))
        if parsed.store:
            self.store.add(parsed, payload)
            if parsed.background:  # streamed: the stream itself runs it to the end
                self.store.background.add(response_id)
        if not parsed.stream:
            return JSONResponse(self.faults.apply("responses.response", payload, request=body, route="create"))
        events = self.faults.apply(
            "responses.events", response_events(parsed, items, response_id, created), request=body
        )
        frames = self.faults.apply("stream.frames", [encode_named(e) for e in events], request=body, kind="responses")
        headers = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}
        headers = self.faults.apply("stream.headers", headers, request=body, kind="responses")
        return StreamingResponse(endpoints._paced(frames), headers=headers, media_type=None)

    def stored(self, request: Request) -> dict[str, Any] | Response:
        response_id: str = request.path_params["response_id"]
        if (denied := self.endpoints.denied(request)) is not None:
            return denied
        if request.method == "GET" and not request.url.path.endswith("/input_items"):
            self.store.poll(response_id)
        found = self.store.responses.get(response_id)
        return found if found is not None else self.endpoints.error(_not_found(response_id), path=request.url.path)

    async def item(self, request: Request) -> Response:
        """GET retrieves a stored response; DELETE deletes it."""
        found = self.stored(request)
        if isinstance(found, Response):
            return found
        if request.method == "GET":
            return JSONResponse(self.faults.apply("responses.response", found, request=None, route="retrieve"))
        self.store.delete(found["id"])
        deletion = {"id": found["id"], "object": "response", "deleted": True}
        return JSONResponse(self.faults.apply("responses.response", deletion, request=None, route="delete"))

    async def cancel(self, request: Request) -> Response:
        """A queued background response is cancelled; a finished one is answered as it is (cancelling twice
        is idempotent); a response not created in the background cannot be cancelled (400)."""
        found = self.stored(request)
        if isinstance(found, Response):
            return found
        response_id = found["id"]
        terminal = response_id not in self.store.pending
        answer: dict[str, Any] | ApiError = (
            self.store.cancel(response_id)
            if response_id in self.store.background
            else invalid_request("Only a response created with background true can be cancelled.")
        )
        answer = self.faults.apply("responses.response", answer, request=None, route="cancel", terminal=terminal,
                                   stored=found)  # fmt: skip
        if isinstance(answer, ApiError):
            return self.endpoints.error(answer, path=request.url.path)
        return JSONResponse(answer)

    async def input_items(self, request: Request) -> Response:
        found = self.stored(request)
        if isinstance(found, Response):
            return found
        data = list(reversed(self.store.inputs[found["id"]]))  # newest first: the documented default order
        if request.query_params.get("order") == "asc":
            data.reverse()
        ids = [item.get("id") for item in data]
        page = {"object": "list", "data": data, "first_id": ids[0] if ids else None,
                "last_id": ids[-1] if ids else None, "has_more": False}  # fmt: skip
        return JSONResponse(self.faults.apply("responses.response", page, request=None, route="input_items"))


def responses_routes(endpoints: _Endpoints) -> list[Route]:
    routes = ResponsesRoutes(endpoints)
    return [
        Route("/v1/responses", routes.create, methods=["POST"]),
        Route("/v1/responses/{response_id}", routes.item, methods=["GET", "DELETE"]),
        Route("/v1/responses/{response_id}/input_items", routes.input_items, methods=["GET"]),
        Route("/v1/responses/{response_id}/cancel", routes.cancel, methods=["POST"]),
    ]
