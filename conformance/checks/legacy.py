"""EDITS-*, ENGINES-*, MODELS-1xx: the deprecated edits and engines endpoints and model delete
(seed 002 "Edits", "Engines", "Models: delete"; legacy CreateEditResponse, Engine, DeleteModelResponse).

Model delete only ever deletes a fine-tuned model the run itself produced; the suite never asks a
provider to delete a model it did not create.
"""

from __future__ import annotations

from typing import Any

from conformance import expect
from conformance.core.results import NotApplicable, Violation
from conformance.engine import check
from conformance.probes.endpoints import Deletion, succeeded
from conformance.probes.legacy import ENGINES, engines
from conformance.transport.exchange import Exchange

EDITS = "POST /edits"


def violation_unless(condition: bool, title: str, exchange: Exchange, pointer: str, expected: str, actual: Any) -> None:
    if not condition:
        raise Violation(title, pointer=pointer, expected=expected, actual=expect.short(actual), evidence=exchange)


# -- edits ----------------------------------------------------------------------------------------------


def edit_answer(exchange: Exchange, see: str | None = None) -> dict[str, Any]:
    """The edit object; NotApplicable when the edit model is unknown (no verdict on the endpoint) or, with
    ``see``, when the answer is not a JSON object (that rule's verdict)."""
    expect.answered(exchange)
    error = expect.error_envelope_or_none(exchange)
    if exchange.status == 404 and error is not None and error.get("code") == "model_not_found":
        raise NotApplicable("the edit model does not exist; list an edit model in GET /models")
    expect.success(exchange, EDITS)
    if see is None:
        return expect.json_object(exchange)
    try:
        body = exchange.json()
    except (ValueError, UnicodeDecodeError):
        raise NotApplicable(f"the answer is not JSON (see {see})") from None
    if not isinstance(body, dict):
        raise NotApplicable(f"the answer is not a JSON object (see {see})")
    return body


@check("EDITS-001", needs="edits")
def test_edit_is_object_edit_with_created(edit_response: Exchange) -> None:
    body = edit_answer(edit_response)
    violation_unless(
        body.get("object") == "edit",
        'The edit lacks "object": "edit"',
        edit_response,
        "/object",
        '"edit"',
        body.get("object", "(missing)"),
    )
    expect.field(body, "created", int, "", edit_response)


@check("EDITS-002", needs="edits")
def test_edit_choices_carry_text_and_index(edit_response: Exchange) -> None:
    body = edit_answer(edit_response, see="EDITS-001")
    choices = expect.field(body, "choices", list, "", edit_response)
    violation_unless(bool(choices), "The edit has no choices", edit_response, "/choices", "one choice", choices)
    for index, choice in enumerate(choices):
        pointer = f"/choices/{index}"
        violation_unless(
            isinstance(choice, dict), "A choice is not an object", edit_response, pointer, "an object", choice
        )
        expect.field(choice, "text", str, pointer, edit_response)
        expect.field(choice, "index", int, pointer, edit_response)


@check("EDITS-003", needs="edits")
def test_edit_usage_counts_tokens(edit_response: Exchange) -> None:
    body = edit_answer(edit_response, see="EDITS-001")
    usage = expect.field(body, "usage", dict, "", edit_response)
    counts = {
        key: expect.field(usage, key, int, "/usage", edit_response)
        for key in ("prompt_tokens", "completion_tokens", "total_tokens")
    }
    violation_unless(
        counts["total_tokens"] == counts["prompt_tokens"] + counts["completion_tokens"],
        "usage.total_tokens is not prompt_tokens + completion_tokens",
        edit_response,
        "/usage",
        "total_tokens == prompt_tokens + completion_tokens",
        usage,
    )


@check("EDITS-004", needs="edits")
def test_edit_returns_n_choices(edit_n: Exchange) -> None:
    choices = edit_answer(edit_n, see="EDITS-001").get("choices")
    if not isinstance(choices, list):
        raise NotApplicable("no choices array (see EDITS-002)")
    indexes = sorted(c.get("index") for c in choices if isinstance(c, dict) and isinstance(c.get("index"), int))
    violation_unless(
        len(choices) == 2 and indexes == [0, 1],
        "n edits were not returned",
        edit_n,
        "/choices",
        "2 choices with indexes 0 and 1 (n=2)",
        f"{len(choices)} choices, indexes {indexes}",
    )


# -- engines --------------------------------------------------------------------------------------------


@check("ENGINES-001", needs="engines")
def test_engine_list_is_a_list_object(engines_listing: Exchange) -> None:
    expect.success(engines_listing, ENGINES)
    body = expect.json_object(engines_listing)
    violation_unless(
        body.get("object") == "list",
        'The engine list lacks "object": "list"',
        engines_listing,
        "/object",
        '"list"',
        body.get("object", "(missing)"),
    )
    data = expect.field(body, "data", list, "", engines_listing)
    for index, item in enumerate(data):
        violation_unless(
            isinstance(item, dict), "An engine is not an object", engines_listing, f"/data/{index}", "an object", item
        )


@check("ENGINES-002", needs="engines")
def test_every_engine_has_id_and_object_engine(engines_listing: Exchange) -> None:
    for index, engine in enumerate(engines(engines_listing)):
        pointer = f"/data/{index}"
        engine_id = expect.field(engine, "id", str, pointer, engines_listing)
        violation_unless(
            bool(engine_id),
            "An engine has an empty id",
            engines_listing,
            f"{pointer}/id",
            "a non-empty string",
            engine_id,
        )
        violation_unless(
            engine.get("object") == "engine",
            'An engine lacks "object": "engine"',
            engines_listing,
            f"{pointer}/object",
            '"engine"',
            engine.get("object", "(missing)"),
        )


@check("ENGINES-003", needs="engines")
def test_every_engine_has_owner_and_ready(engines_listing: Exchange) -> None:
    for index, engine in enumerate(engines(engines_listing)):
        expect.field(engine, "owner", str, f"/data/{index}", engines_listing)
        expect.field(engine, "ready", bool, f"/data/{index}", engines_listing)


@check("ENGINES-004", needs="engines")
def test_listed_engine_retrieves_with_its_id(engines_listing: Exchange, engine_retrieve: Exchange | None) -> None:
    ids = [e["id"] for e in engines(engines_listing) if isinstance(e.get("id"), str) and e["id"]]
    if not ids:
        raise NotApplicable("no engine listed (see ENGINES-002)")
    exchange = engine_retrieve
    assert exchange is not None  # sent wherever an engine is listed
    expect.status(exchange, 200, title=f"The listed engine {ids[0]!r} does not retrieve")
    body = expect.json_object(exchange)
    violation_unless(
        body.get("id") == ids[0],
        "The retrieved engine has a different id",
        exchange,
        "/id",
        repr(ids[0]),
        body.get("id", "(missing)"),
    )


@check("ENGINES-005", needs="engines")
def test_unknown_engine_is_404(engines_listing: Exchange, engine_unknown: Exchange) -> None:
    expect.success(engines_listing, ENGINES)  # an endpoint that is not offered at all is no 404 verdict
    expect.status(engine_unknown, 404, title="Retrieving an unknown engine is not a 404")


# -- model delete ---------------------------------------------------------------------------------------


@check("MODELS-101")
def test_deleting_an_unknown_model_is_404(unknown_model_delete: Exchange) -> None:
    exchange = unknown_model_delete
    expect.answered(exchange)
    if exchange.status != 404:  # 404 is the answer asked for here, not a refusal of the endpoint
        expect.decline(exchange, "DELETE /models/{model}", refusable=True)
    expect.status(exchange, 404, title="Deleting a model that does not exist is not a 404")


@check("MODELS-102", needs="fine_tunes")
def test_deleting_a_fine_tuned_model_answers_deleted(model_deletion: Deletion) -> None:
    deleted = model_deletion.deleted
    expect.decline(deleted, "DELETE /models/{model}")
    expect.status(deleted, 200, title="Deleting the run's fine-tuned model did not answer 200")
    body = expect.json_object(deleted)
    for key, value in (("object", "model"), ("deleted", True)):
        violation_unless(
            body.get(key) == value,
            f'The deletion answer lacks "{key}": {expect.short(value)}',
            deleted,
            f"/{key}",
            expect.short(value),
            body.get(key, "(missing)"),
        )
    violation_unless(
        body.get("id") == model_deletion.object_id,
        "The deletion answer names another model",
        deleted,
        "/id",
        repr(model_deletion.object_id),
        body.get("id", "(missing)"),
    )


@check("MODELS-103", needs="fine_tunes")
def test_deleted_model_no_longer_retrieves(model_deletion: Deletion) -> None:
    if not succeeded(model_deletion.deleted):
        raise NotApplicable("the model was not deleted (see MODELS-102)")
    expect.status(model_deletion.after, 404, title="A deleted model still retrieves")
