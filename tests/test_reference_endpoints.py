"""The reference provider's images, moderations, files, fine-tunes, edits, engines and model delete, tested
directly over HTTP; and the profile and capability selection of a run.

The endpoints are also exercised by the meta-tests (every IMG/MOD/FILES/FT/EDITS/ENGINES requirement
passes on the clean provider and fails under its faults); these tests pin the behaviour down one edge at
a time. The stateful endpoints get their own server, so files and jobs made here never reach the shared
one the meta-tests score.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.cli import main
from conformance.core.catalogue import PROFILES, in_profile, load_catalogue, profile_of
from conformance.imaging import ImageError, decode_png, dimensions, encode_png, sniff
from conformance.probes.endpoints import SOURCE_PNG, multipart
from conformance.reference import ReferenceServer
from conformance.reference.files import FileStore
from conformance.reference.fine_tunes import FineTuneStore, TunedModels, validate_fine_tune
from conformance.runner import run
from conformance.target import Target, TargetConfigError, parse_capabilities
from tests.conftest import TEST_KEY

AUTH = {"Authorization": f"Bearer {TEST_KEY}"}
MODELS = {"chat_model": "ref-chat", "completion_model": "ref-instruct", "embedding_model": "ref-embed"}
TRAINING = b'{"prompt": "a ->", "completion": " b"}\n'


@pytest.fixture(autouse=True)
def _no_sdk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI and plugin tests below must score the server they are given, not the caller's environment.
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceServer]:
    with ReferenceServer(api_key=TEST_KEY, multiplex=True, stream_delay=0.0) as started:
        yield started


@pytest.fixture
def api(server: ReferenceServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10) as client:
        yield client


def envelope(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert isinstance(error["message"], str)
    assert isinstance(error["type"], str)
    return error


def upload(api: httpx.Client, content: bytes = TRAINING, **fields: str) -> httpx.Response:
    data = {"purpose": "fine-tune", **fields}
    return api.post("/files", data=data, files={"file": ("train.jsonl", content, "application/jsonl")})


def stream_events(response: httpx.Response) -> list[str]:
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.endswith("\n\n")
    return [line[len("data: ") :] for line in response.text.split("\n") if line.startswith("data: ")]


# -- imaging -------------------------------------------------------------------------------------------


def test_encoded_png_decodes_with_its_size() -> None:
    png = encode_png(64, 32, (1, 2, 3, 255), transparent_rows=4)
    assert sniff(png) == "png"
    info = decode_png(png)
    assert (info.width, info.height, info.bit_depth, info.colour_type) == (64, 32, 8, 6)
    assert dimensions(png) == (64, 32)


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda png: png[:-20], "runs past the end"),
        (lambda png: png[:40] + bytes([png[40] ^ 0xFF]) + png[41:], "CRC"),
        (lambda png: b"GIF89a" + png[6:], "signature"),
    ],
)
def test_broken_png_is_refused(mutate: Any, problem: str) -> None:
    with pytest.raises(ImageError, match=problem):
        decode_png(mutate(encode_png(8, 8, (0, 0, 0, 255))))


def test_png_with_too_little_pixel_data_is_refused() -> None:
    png = encode_png(8, 8, (0, 0, 0, 255))
    short = zlib.compress(b"\x00" * 10)
    idat = len(short).to_bytes(4, "big") + b"IDAT" + short + zlib.crc32(b"IDAT" + short).to_bytes(4, "big")
    start = png.index(b"IDAT") - 4
    end = png.index(b"IEND") - 4
    with pytest.raises(ImageError, match="pixel data"):
        decode_png(png[:start] + idat + png[end:])


def test_sniff_and_dimensions_of_other_formats() -> None:
    jpeg = b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x11\x08\x00\x20\x00\x40" + b"\x00" * 12
    assert sniff(jpeg) == "jpeg"
    assert dimensions(jpeg) == (64, 32)
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert sniff(b"<html>") is None


# -- images --------------------------------------------------------------------------------------------


def test_generation_b64_json_gives_n_pngs_of_the_size(api: httpx.Client) -> None:
    body = {"prompt": "otter", "n": 2, "size": "256x256", "response_format": "b64_json"}
    response = api.post("/images/generations", json=body)
    assert response.status_code == 200
    payload = response.json()
    assert isinstance(payload["created"], int)
    assert len(payload["data"]) == 2
    images = [base64.b64decode(item["b64_json"], validate=True) for item in payload["data"]]
    assert all(decode_png(image).width == 256 for image in images)
    assert images[0] != images[1]  # one colour per index


def test_generation_is_deterministic(api: httpx.Client) -> None:
    body = {"prompt": "otter", "size": "256x256", "response_format": "b64_json"}
    first, second = (api.post("/images/generations", json=body).json() for _ in range(2))
    assert first["data"] == second["data"]


def test_generation_url_is_absolute_and_served_without_a_key(api: httpx.Client, server: ReferenceServer) -> None:
    payload = api.post("/images/generations", json={"prompt": "otter", "size": "512x512"}).json()
    url = payload["data"][0]["url"]
    assert url.startswith(f"http://127.0.0.1:{server.port}/v1/_images/")
    fetched = httpx.get(url)  # no key: the URL itself is the grant, like a signed URL
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "image/png"
    assert dimensions(fetched.content) == (512, 512)


def test_unknown_image_name_is_a_404_envelope(server: ReferenceServer) -> None:
    envelope(httpx.get(server.base_url + "/_images/7x7-000000.png"), 404)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": "otter", "size": "100x100"}, "size"),
        ({"prompt": "otter", "n": 11}, "n"),
        ({"prompt": "otter", "response_format": "jpeg"}, "response_format"),
        ({"size": "256x256"}, "prompt"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x" * 1001}, "prompt"),
    ],
)
def test_invalid_generation_is_a_400_naming_the_param(api: httpx.Client, body: dict[str, Any], param: str) -> None:
    assert envelope(api.post("/images/generations", json=body), 400)["param"] == param


def test_edit_takes_a_multipart_upload(api: httpx.Client) -> None:
    fields = {"prompt": "beret", "n": "2", "size": "256x256", "response_format": "b64_json"}
    response = api.post("/images/edits", data=fields, files={"image": ("otter.png", SOURCE_PNG, "image/png")})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert len(data) == 2
    assert all(decode_png(base64.b64decode(item["b64_json"])).height == 256 for item in data)


def test_variation_needs_no_prompt(api: httpx.Client) -> None:
    files = {"image": ("otter.png", SOURCE_PNG, "image/png")}
    response = api.post("/images/variations", data={"n": "1", "size": "256x256"}, files=files)
    assert response.status_code == 200
    assert response.json()["data"][0]["url"].endswith(".png")


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        (encode_png(16, 8, (0, 0, 0, 255)), "square"),
        (b"not a png at all", "PNG"),
    ],
)
def test_edit_refuses_an_invalid_source_image(api: httpx.Client, image: bytes, problem: str) -> None:
    response = api.post("/images/edits", data={"prompt": "x"}, files={"image": ("a.png", image, "image/png")})
    error = envelope(response, 400)
    assert error["param"] == "image"
    assert problem in error["message"]


def test_edit_without_image_and_with_a_json_body_are_400s(api: httpx.Client) -> None:
    assert (
        envelope(api.post("/images/edits", data={"prompt": "x"}, files={"mask": ("m.png", b"x")}), 400)["param"]
        == "image"
    )
    assert "multipart" in envelope(api.post("/images/edits", json={"prompt": "x"}), 400)["message"]


def test_suite_multipart_encoder_is_parsed_by_the_server(api: httpx.Client) -> None:
    body, content_type = multipart({"purpose": "fine-tune"}, {"file": ("a.jsonl", TRAINING, "application/jsonl")})
    response = api.post("/files", content=body, headers={"content-type": content_type})
    assert response.status_code == 200
    assert response.json()["bytes"] == len(TRAINING)


# -- moderations ---------------------------------------------------------------------------------------


SEED_CATEGORIES = {"hate", "hate/threatening", "self-harm", "sexual", "sexual/minors", "violence", "violence/graphic"}


def test_moderation_flags_the_seed_example_for_violence(api: httpx.Client) -> None:
    response = api.post("/moderations", json={"input": "I want to kill them."})
    assert response.status_code == 200
    payload = response.json()
    assert payload["id"].startswith("modr-")
    assert isinstance(payload["model"], str)
    (result,) = payload["results"]
    assert SEED_CATEGORIES <= set(result["categories"]) <= set(result["category_scores"])
    assert result["categories"]["violence"] is True
    assert result["flagged"] is True
    assert all(0 <= score <= 1 for score in result["category_scores"].values())
    assert result["category_scores"]["violence"] > 0.5 > result["category_scores"]["sexual"]


def test_moderation_of_an_array_is_one_result_per_input_and_flagged_agrees(api: httpx.Client) -> None:
    texts = ["I love sunny afternoons.", "I want to kill them.", "I want to hurt myself"]
    results = api.post("/moderations", json={"input": texts}).json()["results"]
    assert [r["flagged"] for r in results] == [False, True, True]
    assert all(r["flagged"] == any(r["categories"].values()) for r in results)
    assert results[2]["categories"]["self-harm"] is True


def test_moderation_is_deterministic(api: httpx.Client) -> None:
    body = {"input": "a calm sentence", "model": "text-moderation-latest"}
    first, second = (api.post("/moderations", json=body).json() for _ in range(2))
    assert first["results"] == second["results"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"input": []}, 400),
        ({"input": 7}, 400),
        ({"input": ["a", 1]}, 400),
        ({"input": "a", "model": "x"}, 404),
    ],
)
def test_invalid_moderation_is_refused(api: httpx.Client, body: dict[str, Any], status: int) -> None:
    envelope(api.post("/moderations", json=body), status)


# -- files ---------------------------------------------------------------------------------------------


def test_file_round_trip(api: httpx.Client) -> None:
    created = upload(api)
    assert created.status_code == 200, created.text
    card = created.json()
    assert card["object"] == "file"
    assert card["id"].startswith("file-")
    assert (card["bytes"], card["filename"], card["purpose"]) == (len(TRAINING), "train.jsonl", "fine-tune")
    listed = api.get("/files").json()
    assert listed["object"] == "list"
    assert card["id"] in [item["id"] for item in listed["data"]]
    assert api.get(f"/files/{card['id']}").json() == card
    content = api.get(f"/files/{card['id']}/content")
    assert content.content == TRAINING
    assert content.headers["content-type"] == "application/octet-stream"
    assert api.delete(f"/files/{card['id']}").json() == {"id": card["id"], "object": "file", "deleted": True}
    assert envelope(api.get(f"/files/{card['id']}"), 404)["message"] == f"No such File object: {card['id']}"
    envelope(api.get(f"/files/{card['id']}/content"), 404)
    envelope(api.delete(f"/files/{card['id']}"), 404)


def test_file_list_filters_by_purpose(api: httpx.Client) -> None:
    card = upload(api, purpose="assistants").json()
    chosen = api.get("/files", params={"purpose": "assistants"}).json()["data"]
    assert card["id"] in [item["id"] for item in chosen]
    assert {item["purpose"] for item in chosen} == {"assistants"}
    assert card["id"] not in [item["id"] for item in api.get("/files", params={"purpose": "fine-tune"}).json()["data"]]


def test_upload_needs_a_file_and_a_purpose(api: httpx.Client) -> None:
    missing_purpose = api.post("/files", files={"file": ("a.jsonl", TRAINING)})
    assert envelope(missing_purpose, 400)["param"] == "purpose"
    body, content_type = multipart({"purpose": "fine-tune"}, {})
    assert envelope(api.post("/files", content=body, headers={"content-type": content_type}), 400)["param"] == "file"
    assert "multipart" in envelope(api.post("/files", json={"purpose": "fine-tune"}), 400)["message"]


def test_too_large_upload_is_413(api: httpx.Client) -> None:
    assert envelope(upload(api, b"x" * (1024 * 1024 + 1)), 413)["code"] == "file_too_large"


def test_file_store_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("conformance.reference.files.MAX_FILES", 3)
    store = FileStore()
    ids = [store.add(f"{i}.jsonl", "fine-tune", b"x").id for i in range(5)]
    assert [f.id for f in store.all()] == ids[2:]


# -- fine-tunes and model delete -----------------------------------------------------------------------


def create_job(api: httpx.Client, **extra: Any) -> dict[str, Any]:
    file_id = upload(api).json()["id"]
    response = api.post("/fine-tunes", json={"training_file": file_id, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def test_fine_tune_lifecycle_runs_as_it_is_read(api: httpx.Client) -> None:
    job = create_job(api, suffix="demo")
    assert (job["object"], job["status"], job["fine_tuned_model"]) == ("fine-tune", "pending", None)
    assert job["model"] == "ref-instruct"
    assert job["training_files"][0]["object"] == "file"
    assert set(job["hyperparams"]) >= {"batch_size", "learning_rate_multiplier", "n_epochs", "prompt_loss_weight"}
    assert api.get(f"/fine-tunes/{job['id']}").json()["status"] == "running"
    done = api.get(f"/fine-tunes/{job['id']}").json()
    assert done["status"] == "succeeded"
    model = done["fine_tuned_model"]
    assert model.startswith("ref-instruct:ft-oai-conformance:demo-")
    assert done["result_files"][0]["purpose"] == "fine-tune-results"
    assert api.get(f"/fine-tunes/{job['id']}").json()["status"] == "succeeded"  # finished jobs stay finished
    messages = [event["message"] for event in api.get(f"/fine-tunes/{job['id']}/events").json()["data"]]
    assert messages[0].startswith("Job enqueued")
    assert messages[-1] == "Job succeeded."
    times = [event["created_at"] for event in done["events"]]
    assert times == sorted(times)
    assert "events" not in api.get("/fine-tunes").json()["data"][0]  # the list leaves events out (seed 002)
    # The fine-tuned model is listed, retrieves, deletes once, and is gone.
    assert model in [m["id"] for m in api.get("/models").json()["data"]]
    assert api.get(f"/models/{model}").json()["owned_by"] == "org-oai-conformance"
    assert api.delete(f"/models/{model}").json() == {"id": model, "object": "model", "deleted": True}
    assert envelope(api.get(f"/models/{model}"), 404)["code"] == "model_not_found"
    assert envelope(api.delete(f"/models/{model}"), 404)["code"] == "model_not_found"


def test_base_models_cannot_be_deleted(api: httpx.Client) -> None:
    assert envelope(api.delete("/models/ref-chat"), 403)["code"] == "model_not_deletable"
    assert api.get("/models/ref-chat").status_code == 200


def test_cancel_stops_a_job_and_its_stream_ends_with_done(api: httpx.Client) -> None:
    job = create_job(api)
    cancelled = api.post(f"/fine-tunes/{job['id']}/cancel").json()
    assert cancelled["status"] == "cancelled"
    assert api.get(f"/fine-tunes/{job['id']}").json()["status"] == "cancelled"
    assert "already cancelled" in envelope(api.post(f"/fine-tunes/{job['id']}/cancel"), 400)["message"]
    events = stream_events(api.get(f"/fine-tunes/{job['id']}/events", params={"stream": "true"}))
    assert events[-1] == "[DONE]"
    assert [json.loads(e)["message"] for e in events[:-1]][-1] == "Job cancelled."
    assert all(json.loads(e)["object"] == "fine-tune-event" for e in events[:-1])


def test_streaming_the_events_of_a_pending_job_runs_it_to_the_end(api: httpx.Client) -> None:
    job = create_job(api)
    events = stream_events(api.get(f"/fine-tunes/{job['id']}/events?stream=true"))
    assert events[-1] == "[DONE]"
    assert json.loads(events[-2])["message"] == "Job succeeded."
    assert api.get(f"/fine-tunes/{job['id']}").json()["status"] == "succeeded"
    assert api.get(f"/fine-tunes/{job['id']}/events?stream=false").headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "training_file"),
        ({"training_file": "file-nope"}, "training_file"),
        ({"model": "ref-chat"}, "model"),
        ({"n_epochs": 0}, "n_epochs"),
        ({"learning_rate_multiplier": 0}, "learning_rate_multiplier"),
        ({"suffix": "x" * 41}, "suffix"),
    ],
)
def test_invalid_fine_tune_is_a_400(api: httpx.Client, body: dict[str, Any], param: str) -> None:
    if "training_file" not in body and param != "training_file":
        body = {"training_file": upload(api).json()["id"], **body}
    assert envelope(api.post("/fine-tunes", json=body), 400)["param"] == param


def test_documented_legacy_base_models_are_accepted(api: httpx.Client) -> None:
    assert create_job(api, model="curie")["model"] == "curie"


def test_unknown_fine_tune_and_bad_stream_flag(api: httpx.Client) -> None:
    for path in ("/fine-tunes/ft-nope", "/fine-tunes/ft-nope/events"):
        assert envelope(api.get(path), 404)["code"] == "fine_tune_not_found"
    envelope(api.post("/fine-tunes/ft-nope/cancel"), 404)
    job = create_job(api)
    assert envelope(api.get(f"/fine-tunes/{job['id']}/events?stream=yes"), 400)["param"] == "stream"


def test_job_and_model_stores_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("conformance.reference.fine_tunes.MAX_JOBS", 2)
    monkeypatch.setattr("conformance.reference.fine_tunes.MAX_TUNED_MODELS", 1)
    files, models = FileStore(), TunedModels()
    store = FineTuneStore(files, models)
    training = files.add("t.jsonl", "fine-tune", TRAINING)
    request = validate_fine_tune({"training_file": training.id}, files)
    assert not isinstance(request, Exception)
    jobs = [store.create(request) for _ in range(3)]  # type: ignore[arg-type]
    assert [job.id for job in store.all()] == [job.id for job in jobs[1:]]
    for job in jobs[1:]:
        store.run_to_end(job)
    assert [card["id"] for card in models.cards()] == [jobs[2].fine_tuned_model]
    assert jobs[1].fine_tuned_model != jobs[2].fine_tuned_model  # names stay unique within a second


# -- edits and engines ---------------------------------------------------------------------------------


def test_edit_answers_the_documented_shape(api: httpx.Client) -> None:
    body = {"model": "ref-edit", "input": "What day of the wek is it?", "instruction": "Fix it", "n": 2}
    payload = api.post("/edits", json=body).json()
    assert payload["object"] == "edit"
    assert [c["index"] for c in payload["choices"]] == [0, 1]
    assert payload["choices"][0]["text"] == "What day of the wek is it?\n"
    usage = payload["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"input": "x", "instruction": "y"}, 400, "model"),
        ({"model": "ref-edit", "input": "x"}, 400, "instruction"),
        ({"model": "ref-edit", "instruction": "y", "n": 21}, 400, "n"),
        ({"model": "nope", "instruction": "y"}, 404, "model"),
        ({"model": "ref-chat", "instruction": "y"}, 404, "model"),
    ],
)
def test_invalid_edit_is_refused(api: httpx.Client, body: dict[str, Any], status: int, param: str) -> None:
    assert envelope(api.post("/edits", json=body), status)["param"] == param


def test_edit_model_is_not_a_chat_model(api: httpx.Client) -> None:
    body = {"model": "ref-edit", "messages": [{"role": "user", "content": "hi"}]}
    assert "v1/edits" in envelope(api.post("/chat/completions", json=body), 404)["message"]


def test_engines_list_and_retrieve(api: httpx.Client) -> None:
    listed = api.get("/engines").json()
    assert listed["object"] == "list"
    first = listed["data"][0]
    assert first == {"id": "ref-chat", "object": "engine", "created": 1_700_000_000, "owner": "oai-conformance",
                     "ready": True}  # fmt: skip
    assert api.get("/engines/ref-chat").json() == first
    assert envelope(api.get("/engines/nope"), 404)["code"] == "engine_not_found"


# -- auth and routing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/images/generations"),
        ("POST", "/images/edits"),
        ("POST", "/images/variations"),
        ("POST", "/moderations"),
        ("GET", "/files"),
        ("POST", "/files"),
        ("GET", "/files/file-x"),
        ("DELETE", "/files/file-x"),
        ("GET", "/files/file-x/content"),
        ("GET", "/fine-tunes"),
        ("POST", "/fine-tunes"),
        ("GET", "/fine-tunes/ft-x"),
        ("POST", "/fine-tunes/ft-x/cancel"),
        ("GET", "/fine-tunes/ft-x/events"),
        ("POST", "/edits"),
        ("GET", "/engines"),
        ("GET", "/engines/ref-chat"),
        ("DELETE", "/models/x"),
    ],
)
def test_every_new_route_needs_the_key(server: ReferenceServer, method: str, path: str) -> None:
    envelope(httpx.request(method, server.base_url + path), 401)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [("PUT", "/models/ref-chat", "DELETE"), ("DELETE", "/files", "POST"), ("GET", "/images/edits", "POST")],
)
def test_wrong_methods_name_the_allowed_ones(api: httpx.Client, method: str, path: str, allow: str) -> None:
    response = api.request(method, path)
    envelope(response, 405)
    assert allow in [m.strip() for m in response.headers["allow"].split(",")]


def test_each_fault_configuration_keeps_its_own_files(api: httpx.Client, server: ReferenceServer) -> None:
    card = upload(api).json()
    other = httpx.get(server.fault_base_url("files-bytes-zero") + f"/files/{card['id']}", headers=AUTH)
    envelope(other, 404)


def test_unsupported_variation_answers_404_with_the_envelope(server: ReferenceServer) -> None:
    url = server.fault_base_url("images-unsupported-404") + "/images/generations"
    envelope(httpx.post(url, json={"prompt": "x"}, headers=AUTH), 404)


# -- profiles and capabilities -------------------------------------------------------------------------


def test_every_requirement_has_a_profile_and_the_profiles_nest() -> None:
    catalogue = load_catalogue()
    own = {r.id: profile_of(r) for r in catalogue.active}
    assert set(own.values()) <= {"core", "extended", "legacy"}
    assert (own["IMG-001"], own["FT-001"], own["MODELS-102"]) == ("extended", "legacy", "legacy")
    assert (own["MODELS-001"], own["CHAT-001"]) == ("core", "core")
    for requirement in catalogue.active:
        assert in_profile(requirement, "all")
        if in_profile(requirement, "core"):
            assert in_profile(requirement, "extended")
        assert sum(in_profile(requirement, p) for p in ("core", "legacy")) <= 1
    assert PROFILES == ("core", "extended", "legacy", "all")


CHAT_ALL = {"chat", "tools", "logprobs", "n", "structured_outputs", "vision", "reasoning"}


@pytest.mark.parametrize(
    ("value", "declared"),
    [
        (None, None),
        ([], set()),
        ("chat, fine-tunes,", {*CHAT_ALL, "fine_tunes"}),
        ("embeddings", {"embeddings"}),
        ("chat,-tools", {"chat", "logprobs", "n", "structured_outputs", "vision", "reasoning"}),
        ("chat, -tools, -n, -logprobs, -structured-outputs, -vision, -reasoning", {"chat"}),
        ("embeddings,tools", {"embeddings", "tools"}),
        ("responses", {"responses", "responses_store", "responses_background"}),
        ("chat,responses,-responses-store", {*CHAT_ALL, "responses", "responses_background"}),
        ("responses,-responses-background", {"responses", "responses_store"}),
    ],
)
def test_capabilities_parse(value: str | list[str] | None, declared: set[str] | None) -> None:
    assert parse_capabilities(value) == (None if declared is None else frozenset(declared))


@pytest.mark.parametrize(
    ("value", "message"),
    [("chat,dalle", "unknown capability dalle"), ("chat,-images", "only a feature of chat"), ("-wat", "unknown")],
)
def test_unknown_capabilities_are_a_usage_error(value: str, message: str) -> None:
    with pytest.raises(TargetConfigError, match=message):
        parse_capabilities(value)


def test_an_unknown_profile_is_a_usage_error() -> None:
    with pytest.raises(TargetConfigError, match="--profile"):
        Target.build("http://127.0.0.1:9/v1", env={}, profile="everything")


def score(base_url: str, only: list[str], **settings: Any) -> dict[str, Any]:
    target = Target.build(base_url, api_key=TEST_KEY, env={}, **MODELS, **settings)
    return run(target, out_dir=None, only=only).report


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {row["id"]: row["outcome"] for row in report["results"]}


SAMPLE = ["MODELS-001", "IMG-001", "IMG-002", "FT-001", "MODELS-101"]


@pytest.mark.parametrize(
    ("profile", "ran"),
    [
        ("core", ["MODELS-001"]),
        ("extended", ["MODELS-001", "IMG-001", "IMG-002"]),
        ("legacy", ["FT-001", "MODELS-101"]),
        ("all", SAMPLE),
    ],
)
def test_profile_picks_what_runs(reference_server: ReferenceServer, profile: str, ran: list[str]) -> None:
    report = score(reference_server.base_url, SAMPLE, profile=profile)
    assert outcomes(report) == dict.fromkeys(ran, "PASS")
    assert report["target"]["profile"] == profile


def test_core_profile_runs_no_image_check(reference_server: ReferenceServer) -> None:
    report = score(reference_server.base_url, ["MODELS-001", *(f"IMG-00{i}" for i in range(1, 10))], profile="core")
    assert not [row for row in report["results"] if row["id"].startswith("IMG-")]


def test_undeclared_capability_is_unsupported_and_left_out_of_the_score(reference_server: ReferenceServer) -> None:
    images = [r.id for r in load_catalogue().active if r.capability == "images"]
    report = score(reference_server.base_url, ["MODELS-001", *images], capabilities="chat,completions,embeddings")
    assert {outcomes(report)[rid] for rid in images} == {"UNSUPPORTED"}
    assert outcomes(report)["MODELS-001"] == "PASS"
    assert report["summary"]["by_capability"]["images"]["score"] is None
    assert report["summary"]["score"] == 100.0
    declared = [
        "chat",
        "completions",
        "embeddings",
        "logprobs",
        "n",
        "reasoning",
        "structured_outputs",
        "tools",
        "vision",
    ]
    assert report["target"]["capabilities"] == declared
    # Declared absent means not asked: the run cost exactly what MODELS-001 alone costs.
    alone = score(reference_server.base_url, ["MODELS-001"], capabilities="chat,completions,embeddings")
    assert report["usage"]["requests"] == alone["usage"]["requests"]
    message = next(row["message"] for row in report["results"] if row["id"] == "IMG-001")
    assert "declared" in message


def test_honest_404_is_unsupported_not_fail(reference_server: ReferenceServer) -> None:
    images = [r.id for r in load_catalogue().active if r.capability == "images"]
    report = score(reference_server.fault_base_url("images-unsupported-404"), images)
    assert set(outcomes(report).values()) == {"UNSUPPORTED"}
    assert report["summary"]["verdicts"]["spec_conformant"] is True


def test_broken_body_is_fail(reference_server: ReferenceServer) -> None:
    report = score(reference_server.fault_base_url("images-sd-webui-shape"), ["IMG-001", "IMG-002"])
    assert outcomes(report) == {"IMG-001": "FAIL", "IMG-002": "SKIP"}
    # IMG-001 is a SHOULD: no SDK check shows a client breaking on it (its level_note says why).
    assert report["summary"]["verdicts"]["spec_conformant"] is False


def test_fine_tune_checks_skip_when_files_are_declared_absent(reference_server: ReferenceServer) -> None:
    report = score(reference_server.base_url, ["FT-001", "FILES-001"], capabilities="fine_tunes")
    assert outcomes(report) == {"FT-001": "SKIP", "FILES-001": "UNSUPPORTED"}


def test_cli_run_takes_profile_and_capabilities(tmp_path: Path) -> None:
    argv = ["run", "--out", str(tmp_path), "--quiet", "--requirements", "EDITS-001,IMG-001,MODELS-001"]
    assert main([*argv, "--profile", "legacy", "--capabilities", "chat,edits"]) == 0
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert outcomes(report) == {"EDITS-001": "PASS"}
    assert (report["target"]["profile"], report["target"]["capabilities"]) == (
        "legacy",
        ["chat", "edits", "logprobs", "n", "reasoning", "structured_outputs", "tools", "vision"],
    )
    assert main([*argv, "--capabilities", "chat,dalle"]) == 2


def test_pytest_plugin_takes_profile_and_capabilities(
    pytester: pytest.Pytester, reference_server: ReferenceServer, tmp_path: Path
) -> None:
    path = tmp_path / "report.json"
    result = pytester.runpytest(
        "--pyargs", "conformance", "--oai-base-url", reference_server.base_url, "--oai-api-key", TEST_KEY,
        "--oai-chat-model=ref-chat", "--oai-requirements", "MODELS-001,IMG-001,MOD-001,FT-001",
        "--oai-profile", "extended", "--oai-capabilities", "chat,images", "--oai-report", str(path),
        "-p", "no:cacheprovider",
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.OK
    report = json.loads(path.read_text(encoding="utf-8"))
    assert outcomes(report) == {"MODELS-001": "PASS", "IMG-001": "PASS", "MOD-001": "UNSUPPORTED"}
