"""spec/openapi.yaml: a valid OpenAPI 3.1 description of every documented endpoint, in our own terms.

The property tests (conformance/property/) trust it completely: a schema error here is a false
finding against every provider. So it is validated, its vendor extensions are checked, and its event
schemas are shown to accept a real stream (ending in ``data: [DONE]``) and to reject broken ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate

from conformance.core.catalogue import CAPABILITIES, PROFILES, spec_dir
from conformance.property import METHODS, operations
from conformance.transport.sse import decode

SPEC_PATH = spec_dir() / "openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
FIXTURES = Path(__file__).parent / "fixtures" / "sse"

# Seed 002's endpoints (and chat completions, seed 004): method and path relative to the base URL.
DOCUMENTED = {
    "GET /models",
    "GET /models/{model}",
    "DELETE /models/{model}",
    "POST /completions",
    "POST /chat/completions",
    "POST /edits",
    "POST /images/generations",
    "POST /images/edits",
    "POST /images/variations",
    "POST /embeddings",
    "GET /files",
    "POST /files",
    "GET /files/{file_id}",
    "DELETE /files/{file_id}",
    "GET /files/{file_id}/content",
    "POST /fine-tunes",
    "GET /fine-tunes",
    "GET /fine-tunes/{fine_tune_id}",
    "POST /fine-tunes/{fine_tune_id}/cancel",
    "GET /fine-tunes/{fine_tune_id}/events",
    "POST /moderations",
    "GET /engines",
    "GET /engines/{engine_id}",
    "POST /responses",
    "GET /responses/{response_id}",
    "DELETE /responses/{response_id}",
    "GET /responses/{response_id}/input_items",
    "POST /responses/{response_id}/cancel",
}
OPERATIONS = {f"{method} {path}": operation for path, method, operation in operations(SPEC)}


def walk(value: Any, where: str = "") -> Iterator[tuple[str, str, Any]]:
    """(location, key, value) of every mapping entry in the document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield where, key, item
            yield from walk(item, f"{where}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{where}/{index}")


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def validator(schema_name: str) -> jsonschema.Draft202012Validator:
    """A validator for one component schema, resolving its references inside the description."""
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": SPEC["components"]}
    return jsonschema.Draft202012Validator(root)


def event_problems(schema_name: str, data: str) -> list[str]:
    """Why one event (``{"data": data}``) does not fit the event schema.

    JSON Schema treats ``contentMediaType``/``contentSchema`` as annotations; schemathesis applies
    them, so this does too: a data that is not the sentinel must be JSON valid against a branch.
    """
    event = {"data": data, "event": "message"}
    problems = [error.message for error in validator(schema_name).iter_errors(event)]
    if problems or data == "[DONE]":
        return problems
    content = next(
        branch
        for branch in resolve(SPEC["components"]["schemas"][schema_name])["properties"]["data"]["anyOf"]
        if "contentSchema" in branch
    )
    try:
        payload = json.loads(data)
    except ValueError:
        return [f"data is not JSON: {data!r}"]
    root = {**content["contentSchema"], "components": SPEC["components"]}
    return [error.message for error in jsonschema.Draft202012Validator(root).iter_errors(payload)]


# -- the document ----------------------------------------------------------------------------------------


def test_the_description_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"].startswith("3.1")
    validate(SPEC)


def test_no_openapi_3_0_nullable_keyword() -> None:
    found = [where for where, key, _ in walk(SPEC) if key == "nullable"]
    assert not found, f'write null as type: [..., "null"] or anyOf, not nullable: {found}'


def test_every_documented_endpoint_is_described() -> None:
    assert set(OPERATIONS) == DOCUMENTED


@pytest.mark.parametrize("label", sorted(DOCUMENTED))
def test_operation_carries_capability_and_profile(label: str) -> None:
    operation = OPERATIONS[label]
    assert operation.get("x-capability") in CAPABILITIES, label
    assert operation.get("x-profile") in set(PROFILES) - {"all"}, label
    assert operation.get("operationId"), label


@pytest.mark.parametrize("label", sorted(DOCUMENTED))
def test_operation_documents_its_errors_with_the_envelope(label: str) -> None:
    responses = OPERATIONS[label]["responses"]
    errors = {status: resolve(response) for status, response in responses.items() if str(status).startswith("4")}
    assert {"400", "401", "404", "429"} <= set(errors), f"{label} documents only {sorted(errors)}"
    for status, response in errors.items():
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (label, status)


def test_the_error_envelope_requires_the_four_documented_keys() -> None:
    envelope = validator("ErrorResponse")
    envelope.validate({"error": {"message": "m", "type": "invalid_request_error", "param": None, "code": None}})
    assert not envelope.is_valid({"error": "m"})
    assert not envelope.is_valid({"detail": "Not Found"})


def test_every_deviation_gives_its_reason() -> None:
    deviations = [(where, value) for where, key, value in walk(SPEC) if key == "x-deviation"]
    assert deviations, "no x-deviation at all: the description should say where it departs from the official one"
    for where, value in deviations:
        assert isinstance(value, dict), where
        assert isinstance(value.get("reason"), str), where
        assert len(value["reason"].split()) >= 5, where
        assert isinstance(value.get("source"), str), where
        assert value["source"].strip(), where


def test_only_our_own_vendor_extensions() -> None:
    ours = {"x-capability", "x-profile", "x-deviation"}
    found = {key for _, key, _ in walk(SPEC) if isinstance(key, str) and key.startswith("x-")}
    assert found <= ours, f"unknown extensions (copied from the official file?): {found - ours}"


def test_streamed_operations_describe_events() -> None:
    streamed = {
        label: resolve(op["responses"]["200"])["content"]["text/event-stream"]["schema"]
        for label, op in OPERATIONS.items()
        if "text/event-stream" in resolve(op["responses"]["200"]).get("content", {})
    }
    assert set(streamed) == {
        "POST /chat/completions",
        "POST /completions",
        "GET /fine-tunes/{fine_tune_id}/events",
        "POST /responses",
    }
    for label, schema in streamed.items():
        event = resolve(schema)
        assert event["required"] == ["data"], label
        assert {"const": "[DONE]"} in event["properties"]["data"]["anyOf"], label


def test_schemathesis_loads_every_operation() -> None:
    import schemathesis

    schema = schemathesis.openapi.from_dict(SPEC, config=schemathesis.Config.from_dict({"base-url": "http://x/v1"}))
    loaded = [result.ok() for result in schema.get_all_operations()]
    assert {operation.label for operation in loaded} == DOCUMENTED


# -- event schemas against streams -----------------------------------------------------------------------


def fixture_events(name: str) -> list[str]:
    return [event.data for event in decode((FIXTURES / name).read_bytes()).events]


def test_a_clean_chat_stream_ending_in_done_fits_the_event_schema() -> None:
    events = fixture_events("clean.sse")
    assert events[-1] == "[DONE]"
    problems = {index: event_problems("ChatCompletionStreamEvent", data) for index, data in enumerate(events)}
    assert not {index: found for index, found in problems.items() if found}


@pytest.mark.parametrize("name", ["clean-tools.sse", "legal-null-optionals.sse", "legal-vendor-fields.sse"])
def test_legal_chat_streams_fit_the_event_schema(name: str) -> None:
    problems = {i: event_problems("ChatCompletionStreamEvent", data) for i, data in enumerate(fixture_events(name))}
    assert not {index: found for index, found in problems.items() if found}


def test_an_in_band_error_event_fits_the_event_schema() -> None:
    error = {"error": {"message": "overloaded", "type": "server_error", "param": None, "code": None}}
    assert not event_problems("ChatCompletionStreamEvent", json.dumps(error))


@pytest.mark.parametrize(
    "data",
    [
        "ping",  # not JSON (compat-bugs B.8)
        '{"object": "chat.completion.chunk", "created": 1, "model": "m", "choices": []}',  # no id
        '{"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": []}',  # wrong object
        "[done]",
    ],
)
def test_a_broken_chat_event_does_not_fit(data: str) -> None:
    assert event_problems("ChatCompletionStreamEvent", data)


def test_a_completion_stream_fits_its_event_schema() -> None:
    chunk = {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1,
        "model": "m",
        "choices": [{"text": "Hi", "index": 0, "logprobs": None, "finish_reason": None}],
    }
    for data in (json.dumps(chunk), "[DONE]"):
        assert not event_problems("CompletionStreamEvent", data)
    assert event_problems("CompletionStreamEvent", json.dumps({**chunk, "object": "chat.completion.chunk"}))


def test_a_fine_tune_event_stream_fits_its_event_schema() -> None:
    event = {"object": "fine-tune-event", "created_at": 1614807352, "level": "info", "message": "Job enqueued."}
    for data in (json.dumps(event), "[DONE]"):
        assert not event_problems("FineTuneStreamEvent", data)
    assert event_problems("FineTuneStreamEvent", json.dumps({"message": "Job enqueued."}))


# -- response schemas against the documented examples (seed 002) ------------------------------------------


@pytest.mark.parametrize(
    ("schema", "example"),
    [
        (
            "ListModelsResponse",
            {"object": "list", "data": [{"id": "m", "object": "model", "created": 1, "owned_by": "o"}]},
        ),
        ("DeleteModelResponse", {"id": "curie:ft-acmeco-2021-03-03-21-44-20", "object": "model", "deleted": True}),
        ("ImagesResponse", {"created": 1589478378, "data": [{"url": "https://example.com/a.png"}]}),
        ("DeleteFileResponse", {"id": "file-XjGxS3KTG0uNmNOK362iJua3", "object": "file", "deleted": True}),
        (
            "OpenAIFile",
            {
                "id": "file-XjGxS3KTG0uNmNOK362iJua3",
                "object": "file",
                "bytes": 140,
                "created_at": 1613779121,
                "filename": "mydata.jsonl",
                "purpose": "fine-tune",
            },
        ),
        ("Engine", {"id": "text-davinci-003", "object": "engine", "owner": "openai", "ready": True}),
        (
            "CreateEditResponse",
            {
                "object": "edit",
                "created": 1589478378,
                "choices": [{"text": "What day of the week is it?", "index": 0}],
                "usage": {"prompt_tokens": 25, "completion_tokens": 32, "total_tokens": 57},
            },
        ),
        (
            "CreateEmbeddingResponse",
            {
                "object": "list",
                "model": "text-embedding-ada-002",
                "data": [{"object": "embedding", "index": 0, "embedding": "AAAAPw=="}],
                "usage": {"prompt_tokens": 8, "total_tokens": 8},
            },
        ),
    ],
)
def test_seed_examples_fit_the_response_schemas(schema: str, example: dict[str, Any]) -> None:
    validator(schema).validate(example)


def test_methods_known_to_the_helper() -> None:
    # operations() looks at these methods only; the description must use no other.
    for path, item in SPEC["paths"].items():
        extra = {key for key in item if key not in METHODS and key not in ("parameters", "summary", "description")}
        assert not extra, (path, extra)
