"""RESP-*: the Responses API, non-streamed, and the stored responses (OpenAPI Response, OutputMessage,
ResponseUsage, CreateResponse; openai-python types/responses/response.py).

The plain request (a string ``input`` with ``instructions``) is judged by RESP-001..003, the other requests
by their own checks. A 4xx with the error envelope to a Responses request is the provider declining the
API (UNSUPPORTED, by the one rule of conformance/expect.py); a request another check owns is judged once,
by its owner.
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema.validators import validator_for

from conformance import expect
from conformance.core.results import NotApplicable, Unsupported, Violation
from conformance.engine import check
from conformance.probes.responses import ANSWER_SCHEMA, MIN_OUTPUT_TOKENS, Stored
from conformance.transport.exchange import Exchange

OBJECT = "RESP-001"
STATUSES = ("completed", "incomplete", "failed", "in_progress", "queued", "cancelled")


def served(exchange: Exchange, what: str, *, owner: str | None = None, refusable: bool = False) -> dict[str, Any]:
    """The JSON object of a 2xx answer. A decline is UNSUPPORTED; any other failure is the owner's (``owner``
    None: the calling check owns the request and fails on it)."""
    # refusable: only a 404/405/501 declines; a 400 or 422 is a refusal of a documented form, no decline.
    return expect.served(exchange, what, feature="responses", owner=owner, refusable=refusable)


def output_text(body: dict[str, Any]) -> str:
    """What the SDKs' ``output_text`` gives: the text of every output_text part of every message item."""
    texts = []
    for item in body.get("output") or []:
        if isinstance(item, dict) and item.get("type") == "message" and isinstance(item.get("content"), list):
            for part in item["content"]:
                if isinstance(part, dict) and part.get("type") == "output_text" and isinstance(part.get("text"), str):
                    texts.append(part["text"])
    return "".join(texts)


@check(OBJECT, needs="responses")
def test_response_object(responses_basic: Exchange) -> None:
    body = served(responses_basic, "POST /responses")
    expected = {
        "id": (lambda v: isinstance(v, str) and bool(v), "a non-empty string"),
        "object": (lambda v: v == "response", '"response"'),
        "created_at": (expect.epoch_seconds, "epoch seconds"),
        "status": (lambda v: v in STATUSES, " | ".join(STATUSES)),
        "model": (lambda v: isinstance(v, str) and bool(v), "the model, a string"),
    }
    for key, (good, wanted) in expected.items():
        if not good(body.get(key)):
            raise Violation(
                "The response object lacks a documented field" if key not in body else "A response field is wrong",
                pointer=f"/{key}",
                expected=wanted,
                actual=expect.short(body.get(key, "(missing)")),
                evidence=responses_basic,
            )


def _item_problem(item: Any) -> str | None:
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        return "an output item is not an object with a string type"
    if item["type"] != "message":
        return None
    if not isinstance(item.get("id"), str) or not item["id"]:
        return "a message item has no string id"
    if item.get("role") != "assistant":
        return 'a message item\'s role is not "assistant"'
    if not isinstance(item.get("content"), list):
        return "a message item's content is not an array"
    for part in item["content"]:
        if not isinstance(part, dict) or part.get("type") not in ("output_text", "refusal"):
            return "a content part is not typed output_text (or refusal)"
        if part["type"] == "output_text" and not isinstance(part.get("text"), str):
            return "an output_text part has no string text"
    return None


def judge_output(body: dict[str, Any], exchange: Exchange, *, pointer: str = "/output") -> None:
    output = body.get("output")
    if not isinstance(output, list):
        raise Violation(
            "output is not an array",
            pointer=pointer,
            expected="[items]",
            actual=expect.short(output if "output" in body else "(missing)"),
            evidence=exchange,
        )
    for position, item in enumerate(output):
        problem = _item_problem(item)
        if problem:
            raise Violation(
                f"An output item has the wrong shape: {problem}",
                pointer=f"{pointer}/{position}",
                expected='{"type": "message", "id": str, "role": "assistant", "content": '
                '[{"type": "output_text", "text": str}]}',
                actual=expect.short(item),
                evidence=exchange,
            )
    if not output_text(body) and not any(isinstance(i, dict) and i.get("type") != "message" for i in output):
        raise Violation(
            "The response carries no text",
            pointer=pointer,
            expected="a message item with the reply in output_text parts (output_text non-empty)",
            actual=expect.short(output),
            evidence=exchange,
        )


@check("RESP-002", needs="responses")
def test_output_items(responses_basic: Exchange) -> None:
    judge_output(served(responses_basic, "POST /responses", owner=OBJECT), responses_basic)


def usage_problem(usage: Any) -> str | None:
    if not isinstance(usage, dict):
        return "usage is missing"
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        if not expect.is_type(usage.get(key), int):
            return f"usage.{key} is not an integer"
    if usage["total_tokens"] != usage["input_tokens"] + usage["output_tokens"]:
        return "usage.total_tokens is not input_tokens + output_tokens"
    return None


@check("RESP-003", needs="responses")
def test_usage_adds_up(responses_basic: Exchange) -> None:
    body = served(responses_basic, "POST /responses", owner=OBJECT)
    problem = usage_problem(body.get("usage"))
    if problem:
        raise Violation(
            problem,
            pointer="/usage",
            expected="integer input_tokens, output_tokens, total_tokens with total = input + output",
            actual=expect.short(body.get("usage")),
            evidence=responses_basic,
        )


@check("RESP-004", needs="responses")
def test_input_items_are_served(responses_messages: Exchange) -> None:
    body = served(responses_messages, "POST /responses with input items", refusable=True)
    if not output_text(body):
        raise NotApplicable("the answer carries no output_text (see RESP-002)", see="RESP-002")


@check("RESP-005", needs="responses")
def test_max_output_tokens_bounds(responses_limit: Exchange) -> None:
    body = served(responses_limit, "POST /responses with max_output_tokens")
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    used = usage.get("output_tokens")
    if expect.is_type(used, int) and used > MIN_OUTPUT_TOKENS:
        raise Violation(
            "max_output_tokens was exceeded",
            pointer="/usage/output_tokens",
            expected=f"at most {MIN_OUTPUT_TOKENS}",
            actual=str(used),
            evidence=responses_limit,
        )
    details = body.get("incomplete_details") if isinstance(body.get("incomplete_details"), dict) else {}
    cut = expect.is_type(used, int) and used >= MIN_OUTPUT_TOKENS
    if body.get("status") == "incomplete" and details.get("reason") != "max_output_tokens":
        raise Violation(
            "An incomplete response does not say why",
            pointer="/incomplete_details",
            expected='{"reason": "max_output_tokens"}',
            actual=expect.short(body.get("incomplete_details")),
            evidence=responses_limit,
        )
    if cut and body.get("status") == "completed":
        raise Violation(
            "A reply cut by max_output_tokens is reported completed",
            pointer="/status",
            expected=f'"incomplete" with incomplete_details.reason "max_output_tokens" ({used} tokens '
            f"used of {MIN_OUTPUT_TOKENS}, for a prompt that asks for 200 numbers)",
            actual=f"status {body.get('status')!r}",
            evidence=responses_limit,
        )


@check("RESP-006", needs="responses")
def test_json_schema_format(responses_json: Exchange) -> None:
    body = served(responses_json, "POST /responses with text.format json_schema")
    if any(_item_problem(item) for item in body.get("output") or [None]):
        raise NotApplicable("the output items are malformed (see RESP-002)", see="RESP-002")
    if body.get("status") == "incomplete":
        raise NotApplicable("the answer was cut by max_output_tokens")
    text = output_text(body)
    try:
        value = json.loads(text)
    except ValueError:
        value, problem = None, "not JSON"
    else:
        error = next(iter(validator_for(ANSWER_SCHEMA)(ANSWER_SCHEMA).iter_errors(value)), None)
        problem = None if error is None else error.message
    if problem:
        raise Violation(
            f"A strict json_schema answer is {problem}"
            if problem == "not JSON"
            else f"A strict json_schema answer does not validate: {problem}",
            pointer="output_text",
            expected=f"one JSON document valid against {json.dumps(ANSWER_SCHEMA)}",
            actual=repr(text[:200]),
            evidence=responses_json,
        )


@check("RESP-007", needs="responses")
def test_bad_parameter_refused(responses_invalid: Exchange, responses_basic: Exchange) -> None:
    served(responses_basic, "POST /responses", owner=OBJECT)  # a provider without the API declines both
    expect.answered(responses_invalid)
    expect.status(responses_invalid, *expect.REFUSALS, title='temperature "hot" was not refused with a 400')
    expect.error_envelope(responses_invalid)  # param and code are ERR-002's


# -- stored responses (responses_store) -------------------------------------------------------------------


def stored_answer(exchange: Exchange | None, what: str) -> dict[str, Any]:
    if exchange is None:
        raise NotApplicable(
            "the stored response ended in no function call to continue (see RESP-TOOL-001)", see="RESP-TOOL-001"
        )
    expect.answered(exchange)
    if expect.declined(exchange):
        raise Unsupported(f"responses_store: the provider declined {what} ({exchange.status} with an error envelope)")
    expect.success(exchange, what)
    return expect.json_object(exchange)


def _identities(body: dict[str, Any]) -> list[tuple[Any, Any]]:
    output = body.get("output") if isinstance(body.get("output"), list) else []
    return [(item.get("type"), item.get("id")) for item in output if isinstance(item, dict)]


@check("RESP-010", needs=("responses", "responses_store"))
def test_stored_response_read_back(responses_stored: Stored, responses_tool: Exchange) -> None:
    body = stored_answer(responses_stored.retrieved, "GET /responses/{id}")
    created = served(responses_tool, "POST /responses", owner="RESP-TOOL-001")
    if body.get("id") != responses_stored.response_id or _identities(body) != _identities(created):
        raise Violation(
            "The stored response read back is another response",
            pointer="/",
            expected=f"id {responses_stored.response_id!r} and the output it was created with",
            actual=f"id {body.get('id')!r}, output {expect.short(body.get('output'))}",
            evidence=[responses_stored.retrieved, responses_tool],
        )
    listing = stored_answer(responses_stored.input_items, "GET /responses/{id}/input_items")
    data = listing.get("data")
    texts = json.dumps(data) if isinstance(data, list) else ""
    if listing.get("object") != "list" or not isinstance(data, list) or "get_weather" not in texts:
        raise Violation(
            "The input items of a stored response are not listed",
            pointer="/data",
            expected='{"object": "list", "data": [the input message, ...]}',
            actual=expect.short(listing),
            evidence=responses_stored.input_items,
        )


@check("RESP-011", needs=("responses", "responses_store"))
def test_previous_response_continues(responses_stored: Stored) -> None:
    stored_answer(responses_stored.retrieved, "GET /responses/{id}")
    exchange = responses_stored.continued
    if exchange is None:
        raise NotApplicable("the stored response ended in no function call (see RESP-TOOL-001)", see="RESP-TOOL-001")
    expect.answered(exchange)
    if not (exchange.status is not None and 200 <= exchange.status < 300):
        raise Violation(
            "A turn continuing a stored response by previous_response_id was refused",
            expected="200: the stored response holds the call its function_call_output answers",
            actual=f"{exchange.status} {exchange.reason}; {expect.short(exchange.text, 300)}",
            evidence=exchange,
        )


@check("RESP-012", needs=("responses", "responses_store"))
def test_stored_response_deleted(responses_stored: Stored) -> None:
    stored_answer(responses_stored.retrieved, "GET /responses/{id}")
    body = stored_answer(responses_stored.deleted, "DELETE /responses/{id}")
    wanted = {"id": responses_stored.response_id, "object": "response", "deleted": True}
    if {key: body.get(key) for key in wanted} != wanted:
        raise Violation(
            "The delete answer is not the deletion object",
            pointer="/",
            expected=json.dumps(wanted),
            actual=expect.short(body),
            evidence=responses_stored.deleted,
        )
