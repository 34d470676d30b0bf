"""MODELS-*: the model list and model retrieval (seed 002 "Models"; seed 003 empty or mismatched lists)."""

from __future__ import annotations

from conformance import expect
from conformance.core.results import NotApplicable, Violation
from conformance.engine import check
from conformance.probes.base_url import REDIRECTS, Sent
from conformance.probes.models import model_list, model_objects
from conformance.transport.exchange import Exchange


@check("MODELS-001")
def test_model_list_is_object_with_data_array(models_listing: Exchange) -> None:
    expect.status(models_listing, 200)
    body = expect.json_object(models_listing)
    data = expect.field(body, "data", list, "", models_listing)
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise Violation(
                "A model entry is not an object",
                pointer=f"/data/{index}",
                expected="an object",
                actual=expect.short(item),
                evidence=models_listing,
            )


@check("MODELS-002")
def test_model_list_declares_object_list(models_listing: Exchange) -> None:
    model_list(models_listing)
    body = models_listing.json()
    if body.get("object") != "list":
        raise Violation(
            'Model list lacks "object": "list"',
            pointer="/object",
            expected='"list"',
            actual=expect.short(body.get("object", "(missing)")),
            evidence=models_listing,
        )


@check("MODELS-003")
def test_every_model_has_id_and_object_model(models_listing: Exchange) -> None:
    for index, model in enumerate(model_objects(models_listing)):
        pointer = f"/data/{index}"
        model_id = expect.field(model, "id", str, pointer, models_listing)
        if not model_id:
            raise Violation(
                "A model has an empty id",
                pointer=f"{pointer}/id",
                expected="a non-empty string",
                actual='""',
                evidence=models_listing,
            )
        if model.get("object") != "model":
            raise Violation(
                'A model lacks "object": "model"',
                pointer=f"{pointer}/object",
                expected='"model"',
                actual=expect.short(model.get("object", "(missing)")),
                evidence=models_listing,
            )


@check("MODELS-004")
def test_every_model_has_created_epoch_seconds(models_listing: Exchange) -> None:
    for index, model in enumerate(model_objects(models_listing)):
        created = model.get("created", "(missing)")
        if not expect.epoch_seconds(created):
            raise Violation(
                "A model's created is not epoch seconds",
                pointer=f"/data/{index}/created",
                expected="an integer Unix timestamp in seconds",
                actual=expect.short(created),
                evidence=models_listing,
            )


@check("MODELS-005")
def test_every_model_has_owned_by(models_listing: Exchange) -> None:
    for index, model in enumerate(model_objects(models_listing)):
        expect.field(model, "owned_by", str, f"/data/{index}", models_listing)


@check("MODELS-006")
def test_model_list_is_not_empty(models_listing: Exchange) -> None:
    if not model_list(models_listing):
        raise Violation(
            "The model list is empty",
            pointer="/data",
            expected="at least one model",
            actual="[]",
            evidence=models_listing,
        )


@check("MODELS-007")
def test_listed_models_retrieve_with_same_id(
    models_listing: Exchange, listed_model_retrievals: tuple[tuple[str, Exchange], ...]
) -> None:
    model_objects(models_listing)  # NotApplicable where there is no list (see MODELS-001)
    for model_id, exchange in listed_model_retrievals:
        expect.status(exchange, 200, title=f"Listed model {model_id!r} does not retrieve")
        body = expect.json_object(exchange)
        if body.get("id") != model_id:
            raise Violation(
                "Retrieved model has a different id",
                pointer="/id",
                expected=repr(model_id),
                actual=expect.short(body.get("id", "(missing)")),
                evidence=[exchange, models_listing],
            )


@check("MODELS-008")
def test_unknown_model_retrieve_is_404(unknown_model_retrieve: Exchange) -> None:
    expect.status(unknown_model_retrieve, 404, title="Retrieving an unknown model is not a 404")


@check("MODELS-009")
def test_configured_models_are_listed(models_listing: Exchange, models_in_use: dict[str, str]) -> None:
    listed = {m.get("id") for m in model_objects(models_listing)}
    used = models_in_use
    if not used:
        raise NotApplicable("no model is configured or discovered")
    missing = {cap: model for cap, model in used.items() if model not in listed}
    if missing:
        described = ", ".join(f"{model!r} ({cap})" for cap, model in missing.items())
        raise Violation(
            "A model the provider serves is not listed",
            expected="every served model in GET /models",
            actual=f"not listed: {described}",
            evidence=models_listing,
        )


@check("MODELS-010")
def test_models_with_trailing_slash_does_not_crash(models_trailing_slash: Sent) -> None:
    exchange = models_trailing_slash.exchange
    expect.answered(exchange)
    assert exchange.status is not None
    if models_trailing_slash.legal_redirect:
        # A same-origin 307/308 that both SDKs follow (openai-python: follow_redirects=True,
        # src/openai/_base_client.py:979): the answer that counts is its target's.
        assert models_trailing_slash.followed is not None
        exchange = models_trailing_slash.followed
    elif exchange.status in REDIRECTS:
        raise Violation(
            "GET /models/ (trailing slash) is redirected, not served",
            expected="the model list (200) or a JSON 404; a 307/308 to the same origin where the list is served",
            actual=f"{exchange.status} Location: {exchange.headers.get('location', '(none)')}"
            + models_trailing_slash.redirect_note(),
            evidence=[e for e in (exchange, models_trailing_slash.followed) if e is not None],
        )
    if exchange.status is not None and exchange.status >= 500:
        raise Violation(
            "GET /models/ (trailing slash) is not served or refused cleanly",
            expected="the model list (200) or a JSON 404",
            actual=f"{exchange.status} {exchange.text[:120]!r}",
            evidence=exchange,
        )
    expect.json_value(exchange)
