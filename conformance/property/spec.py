"""The description the property run sends from (spec/openapi.yaml), which of its operations a run covers,
and the request data: bodies shaped to be cheap and servable, real files, and the documented edge values
(:data:`EDGE_CASES`) random generation essentially never hits."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Final

import yaml

from conformance.core.catalogue import DECLARABLE_CAPABILITIES, spec_dir
from conformance.imaging import encode_png

if TYPE_CHECKING:
    from conformance.target import Target

SPEC_FILE: Final = "openapi.yaml"
MAX_N: Final = 2
MULTIPART: Final = "multipart/form-data"


@cache
def _parsed_spec() -> dict[str, Any]:
    text = (spec_dir() / SPEC_FILE).read_text(encoding="utf-8")
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(data, dict):
        raise ValueError(f"{SPEC_FILE} is not a mapping")
    return data


def _undo_tightenings(value: Any) -> Any:
    """``value`` with every schema whose ``x-deviation`` gives the ``official`` schema replaced by it."""
    if isinstance(value, dict):
        deviation = value.get("x-deviation")
        if isinstance(deviation, dict) and isinstance(deviation.get("official"), dict):
            return deviation["official"]
        return {key: _undo_tightenings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_undo_tightenings(item) for item in value]
    return value


@cache
def _body_validators(label: str) -> tuple[Any, Any] | None:
    """The validators of an operation's JSON request body: as this description says it, and with its
    tightenings undone (None: no JSON body, or no tightening in it)."""
    from jsonschema import Draft202012Validator

    spec = _parsed_spec()
    official = _undo_tightenings(spec)
    for path, method, operation in operations(spec):
        if f"{method} {path}" != label:
            continue
        content = operation.get("requestBody", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        if schema is None:
            return None
        ours = Draft202012Validator({**spec, **schema})
        theirs = Draft202012Validator({**official, **_undo_tightenings(schema)})
        return ours, theirs
    return None


def officially_valid(label: str, body: Any) -> bool:
    """Whether a generated negative case's JSON body is invalid only by a tightening of this description
    that the official one does not make (an ``x-deviation`` with ``official``): such a request is legal, so
    it is judged as a valid one (max_tokens 0 is no invalid request to the official description)."""
    validators = _body_validators(label)
    if validators is None:
        return False
    ours, theirs = validators
    return not ours.is_valid(body) and theirs.is_valid(body)


_EVENT_AT: Final = re.compile(r"\AEvent #(\d+):")
_SCHEMA_AT: Final = re.compile(r"^Schema at (#?/components/schemas/[^\s:]+)", re.MULTILINE)


def event_problem(message: str, stream: bytes) -> str | None:
    """Why event #N of ``stream`` breaks its payload schema, for a finding schemathesis words only as "not
    valid under any of the schemas listed in the 'anyOf'" (its SSE check validates the data string, whose
    payload is a ``contentSchema`` inside an anyOf): each error of the decoded payload with its place, or
    None when it cannot be said."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    from conformance.transport.sse import decode

    event, at = _EVENT_AT.search(message), _SCHEMA_AT.search(message)
    if event is None or at is None:
        return None
    spec = _parsed_spec()
    node: Any = spec
    for part in at.group(1).lstrip("#/").split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    payloads = [
        o["contentSchema"] for o in (node or {}).get("anyOf", []) if isinstance(o, dict) and "contentSchema" in o
    ]
    events = decode(stream).events
    index = int(event.group(1))
    if not payloads or index >= len(events):
        return None
    try:
        data = json.loads(events[index].data)
    except ValueError:
        return None
    errors = list(Draft202012Validator({**spec, **payloads[0]}).iter_errors(data))
    if not errors:
        return None
    best = best_match(errors)
    # An anyOf of payloads (a chunk or an in-band error) fails as a whole: best_match names the likelier one's.
    found = [best, *(e for e in errors if e is not best and e.validator not in ("anyOf", "oneOf"))]
    return "; ".join(f"at /{'/'.join(map(str, e.absolute_path))}: {e.message[:160]}" for e in found[:4])


def load_spec() -> dict[str, Any]:
    """A fresh copy of spec/openapi.yaml (schemathesis may annotate the dict it is given)."""
    return copy.deepcopy(_parsed_spec())


METHODS: Final = ("get", "put", "post", "delete", "patch")


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, METHOD, operation) for every operation of a description."""
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if isinstance(item, dict) and isinstance(item.get(method), dict):
                yield path, method.upper(), item[method]


def claimed(target: Target, operation: dict[str, Any]) -> bool:
    """Whether the run covers the operation: its ``x-profile`` is in ``--profile`` (as
    ``catalogue.in_profile``: extended includes core, legacy stands alone) and, when the user declared
    capabilities, its ``x-capability`` is among them (models is not declarable: always claimed)."""
    profile = getattr(target, "profile", "all") or "all"
    own = operation.get("x-profile", "core")
    if profile == "extended" and own not in ("core", "extended"):
        return False
    if profile not in ("all", "extended") and own != profile:
        return False
    declared = getattr(target, "capabilities", None)
    capability = operation.get("x-capability", "")
    return declared is None or capability not in DECLARABLE_CAPABILITIES or capability in declared


def subset(spec: dict[str, Any], labels: set[str]) -> dict[str, Any]:
    """A copy of ``spec`` holding only the operations in ``labels`` ("METHOD /path")."""
    subset = copy.deepcopy(spec)
    paths: dict[str, Any] = {}
    for path, item in subset["paths"].items():
        methods = {m: op for m, op in item.items() if m in METHODS and f"{m.upper()} {path}" in labels}
        if methods:
            paths[path] = {**{k: v for k, v in item.items() if k not in METHODS}, **methods}
    subset["paths"] = paths
    return subset


# -- request data ------------------------------------------------------------------------------------

# The capability whose model an operation's `model` is pinned to. Image, moderation and fine-tune
# requests take an optional model of their own kind: generated ones are left to the provider's default.
_MODEL_CAPABILITY: Final = {
    "chat": "chat",
    "completions": "completions",
    "embeddings": "embeddings",
    "edits": "edits",
    "responses": "responses",
}
#: The Responses API's token limit, and its documented minimum.
_OUTPUT_LIMIT, _OUTPUT_MIN = "max_output_tokens", 16
_TOKEN_CAPABILITIES: Final = ("chat", "completions", "edits")


def tiny_png(size: int = 2) -> bytes:
    """A valid, square, fully transparent RGBA PNG (image edits and variations need a real one)."""
    return encode_png(size, size, (0, 0, 0, 0))


TRAINING_JSONL: Final = (
    b'{"prompt": "Say hello ->", "completion": " hello\\n"}\n{"prompt": "Say bye ->", "completion": " bye\\n"}\n'
)
FILE_FIELDS: Final[dict[str, Callable[[], bytes]]] = {
    "image": tiny_png,
    "mask": tiny_png,
    "file": lambda: TRAINING_JSONL,
}


def is_multipart(operation: dict[str, Any]) -> bool:
    return MULTIPART in operation.get("requestBody", {}).get("content", {})


def _whole(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()


def shape_body(body: dict[str, Any], capability: str, models: dict[str, str], max_tokens: int) -> None:
    """Make a generated body cheap and servable without changing whether it is valid.

    Only a value of the right type is ever replaced, and by another valid one: a string model by the
    configured model, a token limit or ``n`` >= 1 by a smaller one >= 1. An optional image, moderation
    or fine-tune model is dropped (the provider's default); a missing token limit is added.
    """
    pinned = _MODEL_CAPABILITY.get(capability)
    if isinstance(body.get("model"), str):
        if pinned is None:
            body.pop("model")
        elif pinned in models:
            body["model"] = models[pinned]
    if capability in _TOKEN_CAPABILITIES:
        for name in ("max_tokens", "max_completion_tokens"):
            if _whole(body.get(name)) and body[name] >= 1:
                body[name] = min(int(body[name]), max_tokens)
        if capability != "edits" and "max_tokens" not in body and "max_completion_tokens" not in body:
            body["max_tokens"] = max_tokens
    if capability == "responses":
        limit = max(max_tokens, _OUTPUT_MIN)
        if _whole(body.get(_OUTPUT_LIMIT)) and body[_OUTPUT_LIMIT] >= _OUTPUT_MIN:
            body[_OUTPUT_LIMIT] = min(int(body[_OUTPUT_LIMIT]), limit)
        elif _OUTPUT_LIMIT not in body:
            body[_OUTPUT_LIMIT] = limit
    for name in ("n", "best_of"):
        if _whole(body.get(name)) and body[name] >= 1:
            body[name] = min(int(body[name]), 1 if capability == "images" else MAX_N)


# -- documented edge values --------------------------------------------------------------------------


@dataclass(frozen=True)
class EdgeCase:
    """A documented limit, sent as an explicit case: it must be refused with a 400 and the envelope."""

    name: str
    label: str
    model_capability: str | None
    build: Callable[[str, int], dict[str, Any]]
    source: str


def _chat(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "Hi"}], **extra}


def _completion(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "prompt": "Hi", **extra}


EDGE_CASES: Final[tuple[EdgeCase, ...]] = (
    EdgeCase("chat n 0", "POST /chat/completions", "chat", lambda m, t: _chat(m, n=0, max_tokens=t),
             "seed 002 n: how many completions to generate"),
    EdgeCase("completions logprobs 6", "POST /completions", "completions",
             lambda m, t: _completion(m, logprobs=6, max_tokens=t), "seed 002: the maximum value of logprobs is 5"),
    # A server that reads -1 as "no limit" (llama.cpp) would generate up to its own default -- minutes on a
    # slow one-slot server, and every request queued behind it times out. Stop strings the first words
    # contain end such an answer at once, so serving -1 stays one quick finding (PROP-009) on any machine.
    EdgeCase("completions max_tokens -1", "POST /completions", "completions",
             lambda m, _: _completion(m, max_tokens=-1, stop=[" ", "\n", ".", ","]), "seed 002 max_tokens"),
    EdgeCase("images n 11", "POST /images/generations", None, lambda _m, _t: {"prompt": "A red square.", "n": 11},
             "seed 002: n must be between 1 and 10"),
    EdgeCase("images size 999x999", "POST /images/generations", None,
             lambda _m, _t: {"prompt": "A red square.", "n": 1, "size": "999x999"},
             "seed 002: size must be one of 256x256, 512x512 or 1024x1024"),
)  # fmt: skip
