"""Property tests: schemathesis runs ``spec/openapi.yaml`` against the target, once per suite run.

A run has three parts, all sent through schemathesis so that its checks judge every answer:

1. **happy paths** -- one hand-built, valid request per operation (a file is uploaded and fine-tune
   jobs are created so that the file and fine-tune operations have real ids), so that "the operation
   works" never depends on luck, and so that a capability the provider honestly declines (every
   answer a 404 or 501 with the error envelope) is recognised and left out, as the hand-written
   checks report it UNSUPPORTED;
2. **generated cases** -- the schemathesis engine (the one its CLI drives) fuzzes every remaining
   operation with a fixed seed and a few examples each, positive and negative, with the built-in
   checks on except :data:`DISABLED_CHECKS`;
3. **edge values** -- the documented limits (:data:`EDGE_CASES`: ``max_tokens`` -1 and 0, ``n`` 0,
   ``logprobs`` 6, image ``n`` 11, an unknown image size), which random generation essentially never
   hits (shared/research/schemathesis.md §3.4, bug C).

Our own checks judge every answer too: the error envelope on every 4xx, no 5xx for a client's
mistake, and every operation reaching a 2xx at least once (a run that only ever got 401 or 404 must
not look green). Findings are sorted into :data:`CLASSES`; each ``PROP`` requirement's check
(``conformance/suite/test_property.py``) reports one class.

Cost, for real providers: every request is charged to the run's request budget before it is sent,
and the property run may use at most :data:`BUDGET_SHARE` of it so that later checks keep theirs. The
``model`` of generated bodies is pinned to the model configured for the operation's capability,
``max_tokens`` clamped to the target's and ``n`` to :data:`MAX_N` -- only ever replacing a valid
value by another valid one, so a case stays positive or negative. schemathesis never reuses ids seen
in responses (it would cancel or delete real jobs and files), fine-tune jobs are cancelled before
they train, and uploaded files are deleted again. 429 and 503 answers to hand-built requests are
retried like the rest of the suite does; generated requests answered 429 are not judged.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import yaml

from conformance.core.catalogue import DECLARABLE_CAPABILITIES, spec_dir
from conformance.core.results import Evidence
from conformance.probe_cache import probe
from conformance.probes import WRONG_KEY, model_ids
from conformance.transport.exchange import Redactor
from conformance.transport.limits import BudgetExhausted, CircuitBreaker, retry_after

if TYPE_CHECKING:
    from schemathesis.core.transport import Response as StResponse
    from schemathesis.generation.case import Case

    from conformance.plugin import RunState
    from conformance.target import Target

SPEC_FILE: Final = "openapi.yaml"
SEED: Final = 1
# Few examples per operation: with a fixed seed they are the same requests every run, and the
# explicit edge cases cover what random data would only find with hundreds of examples.
MAX_EXAMPLES: Final = 2
MAX_N: Final = 2
BUDGET_SHARE: Final = 0.6
# Enough events for a clamped stream (max_tokens × n chunks plus role, finish, usage and [DONE]).
MAX_STREAM_EVENTS: Final = 400
# Reads of a fine-tune job before giving up on it producing a model (the reference needs two).
FINE_TUNE_READS: Final = 3
# Built-in checks we switch off, and why:
DISABLED_CHECKS: Final = (
    # Schema-valid requests can break cross-parameter rules a schema cannot express (best_of >= n,
    # top_logprobs needs logprobs, stream_options needs stream), which a provider rightly refuses.
    "positive_data_acceptance",
    # Stateful checks need links; the description declares none, and the happy paths cover the flows.
    "use_after_free",
    "ensure_resource_availability",
    # Needs several identities.
    "object_level_authorization",
)
# Kept visible in reproducers: schemathesis' defaults ("token", "key") would also hide `max_tokens`.
# The key itself is removed by our Redactor in any case.
SENSITIVE_MARKERS: Final = ("authorization", "api_key", "api-key", "secret", "password", "passwd", "credential")
MULTIPART: Final = "multipart/form-data"
_RUN_KEY: Final = "x-oai-conformance-run"

# Failure classes; each PROP requirement reports one.
SCHEMA, STATUS, CONTENT_TYPE = "schema", "status", "content_type"
VALID_5XX, INVALID_INPUT, AUTH = "valid_5xx", "invalid_input", "auth"
ENVELOPE, REACHABILITY, EDGE_VALUES = "envelope", "reachability", "edge_values"
CLASSES: Final = (SCHEMA, STATUS, CONTENT_TYPE, VALID_5XX, INVALID_INPUT, AUTH, ENVELOPE, REACHABILITY, EDGE_VALUES)

# schemathesis failure codes by class. ST101/ST102 (5xx) are reported by our own check, which knows
# whether the request was valid; ST203 depends on the header that was left out.
_CODE_CLASS: Final = {
    "ST103": STATUS,
    "ST104": CONTENT_TYPE,
    "ST105": CONTENT_TYPE,
    "ST106": CONTENT_TYPE,
    "ST107": CONTENT_TYPE,
    "ST108": SCHEMA,
    "ST109": SCHEMA,
    "ST110": SCHEMA,
    "ST111": SCHEMA,
    "ST201": INVALID_INPUT,
    "ST202": VALID_5XX,
    "ST204": STATUS,
    "ST205": STATUS,
    "ST401": AUTH,
}
# The checks that judge one answer on its own, run on every hand-built case. ignored_auth would send
# its probes again (we probe once per operation ourselves); negative_data_rejection needs generation
# metadata a hand-built case does not have; 5xx are judged by our own check.
_ANSWER_CHECKS: Final = (
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
MAX_KEPT: Final = 20  # findings kept per class (all are counted)
# Response headers shown in evidence (the rest is noise: date, server).
_SHOWN_HEADERS: Final = (
    "content-type",
    "content-length",
    "allow",
    "location",
    "retry-after",
    "retry-after-ms",
    "www-authenticate",
    "x-request-id",
)


# -- results -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PropertyFailure:
    """One finding, already redacted: the schemathesis failure code (or ours, OAI-*), its title and
    "Received / Expected" message, the operation and a curl reproducer."""

    klass: str
    code: str
    title: str
    message: str
    operation: str
    reproduce: str
    evidence: Evidence | None = None
    timeout: bool = False  # the provider did not answer (reported TIMEOUT, not FAIL)


@dataclass
class PropertyRun:
    """What the property run found; each PROP check reads one class."""

    operations: tuple[str, ...] = ()
    declined: tuple[str, ...] = ()  # capabilities the provider honestly declines (left out)
    failures: dict[str, list[PropertyFailure]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    judged: dict[str, int] = field(default_factory=dict)  # class -> how many answers it judged
    reached: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)  # our harness (or schemathesis) broke
    budget: str | None = None  # why the run stopped early, when a budget ran out
    unanswered: list[str] = field(default_factory=list)  # requests that got no answer in time
    blocked: str | None = None  # why the circuit breaker stopped requests (the provider went silent)
    skipped: str | None = None  # why nothing was run at all
    requests: int = 0
    duration_s: float = 0.0
    edge_cases: tuple[str, ...] = ()

    def add(self, failure: PropertyFailure) -> None:
        self.counts[failure.klass] = self.counts.get(failure.klass, 0) + 1
        kept = self.failures.setdefault(failure.klass, [])
        duplicate = any(f.code == failure.code and f.operation == failure.operation for f in kept)
        if len(kept) < MAX_KEPT and not duplicate:
            kept.append(failure)

    def judge(self, klass: str, count: int = 1) -> None:
        self.judged[klass] = self.judged.get(klass, 0) + count

    def judge_answer(self) -> None:
        """One answer went through schemathesis' status, content-type and schema checks."""
        for klass in (SCHEMA, STATUS, CONTENT_TYPE):
            self.judge(klass)


# -- the description -------------------------------------------------------------------------------------


@cache
def _parsed_spec() -> dict[str, Any]:
    text = (spec_dir() / SPEC_FILE).read_text(encoding="utf-8")
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(data, dict):
        raise ValueError(f"{SPEC_FILE} is not a mapping")
    return data


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


def _subset(spec: dict[str, Any], labels: set[str]) -> dict[str, Any]:
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
_MODEL_CAPABILITY: Final = {"chat": "chat", "completions": "completions", "embeddings": "embeddings", "edits": "edits"}
_TOKEN_CAPABILITIES: Final = ("chat", "completions", "edits")


def tiny_png(size: int = 2) -> bytes:
    """A valid, square, fully transparent RGBA PNG (image edits and variations need a real one)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\x00\x00\x00\x00" * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


TRAINING_JSONL: Final = (
    b'{"prompt": "Say hello ->", "completion": " hello\\n"}\n{"prompt": "Say bye ->", "completion": " bye\\n"}\n'
)
_FILE_FIELDS: Final[dict[str, Callable[[], bytes]]] = {
    "image": tiny_png,
    "mask": tiny_png,
    "file": lambda: TRAINING_JSONL,
}


def _is_multipart(operation: dict[str, Any]) -> bool:
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
    EdgeCase("chat max_tokens -1", "POST /chat/completions", "chat", lambda m, _: _chat(m, max_tokens=-1),
             "seed 002 max_tokens (llama.cpp reads -1 as unlimited)"),
    EdgeCase("chat max_tokens 0", "POST /chat/completions", "chat", lambda m, _: _chat(m, max_tokens=0),
             "OpenAI: integer_below_min_value"),
    EdgeCase("chat n 0", "POST /chat/completions", "chat", lambda m, t: _chat(m, n=0, max_tokens=t),
             "seed 002 n: how many completions to generate"),
    EdgeCase("completions logprobs 6", "POST /completions", "completions",
             lambda m, t: _completion(m, logprobs=6, max_tokens=t), "seed 002: the maximum value of logprobs is 5"),
    EdgeCase("completions max_tokens -1", "POST /completions", "completions",
             lambda m, _: _completion(m, max_tokens=-1), "seed 002 max_tokens"),
    EdgeCase("images n 11", "POST /images/generations", None, lambda _m, _t: {"prompt": "A red square.", "n": 11},
             "seed 002: n must be between 1 and 10"),
    EdgeCase("images size 999x999", "POST /images/generations", None,
             lambda _m, _t: {"prompt": "A red square.", "n": 1, "size": "999x999"},
             "seed 002: size must be one of 256x256, 512x512 or 1024x1024"),
)  # fmt: skip


# -- our own checks ----------------------------------------------------------------------------------------

_ENVELOPE_SHAPE: Final = 'Expected: {"error": {"message": "...", "type": "...", ...}}'


def envelope_problem(content: bytes) -> str | None:
    """Why a 4xx body is not the OpenAI error envelope (ERR-001's rule, on every operation), or None."""
    try:
        payload = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return f"Received: a body that is not JSON: {content[:120].decode('utf-8', 'replace')!r}\n{_ENVELOPE_SHAPE}"
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return f"Received: {json.dumps(payload)[:200]}\n{_ENVELOPE_SHAPE}"
    missing = [key for key in ("message", "type") if not isinstance(error.get(key), str)]
    if missing:
        return (
            f"Received: an error without string {' and '.join(missing)}: {json.dumps(error)[:200]}\n{_ENVELOPE_SHAPE}"
        )
    return None


def classify(code: str, message: str) -> str | None:
    """The class of a schemathesis failure code (None: judged by our own 5xx check instead)."""
    if code in ("ST101", "ST102"):
        return None
    if code == "ST203":
        return AUTH if "authorization" in message.lower() else INVALID_INPUT
    return _CODE_CLASS.get(code, STATUS)


# -- the run -----------------------------------------------------------------------------------------------


T = TypeVar("T")


class _Stop(Exception):
    """Raised from our hook to end the run: a budget is spent, or the provider stopped answering."""


class _Blocked(Exception):
    """Raised from our hook instead of sending to an endpoint whose circuit breaker is open."""


@dataclass
class _Sent:
    """A hand-built request and its answer (None: no answer)."""

    label: str
    kind: str  # "happy", "edge" or "auth"
    case: Case
    response: StResponse | None = None


class PropertyDriver:
    """One property run against one target."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        self.target = state.target
        self.client = state.client
        self.redact: Redactor = state.client.redact
        self.result = PropertyRun()
        self.lock = threading.Lock()
        self.allowance = 0
        self.spent = 0
        self.models: dict[str, str] = {}
        self.operations: dict[str, dict[str, Any]] = {}  # label -> operation of the description
        self.schema: Any = None
        self.sent: list[_Sent] = []
        self.hand_built: set[int] = set()  # ids of hand-built cases: charged, never reshaped
        self.auth_probed: set[str] = set()
        self.uploaded: list[str] = []
        # Requests in flight at once: half the run's concurrency limit, whose slots they hold (the rest
        # of the suite sends its probes beside the property run).
        self.workers = max(1, self.target.concurrency // 2)
        self._local = threading.local()  # the hand-built cases of the task a worker thread runs
        self._edges_sent: set[str] = set()

    # -- configuration ----------------------------------------------------------------------------

    def _choose_models(self) -> None:
        capabilities = {operation.get("x-capability") for operation in self.operations.values()}
        for capability in ("chat", "completions", "embeddings"):
            if capability in capabilities:
                model = self.target.models.get(capability)
                if model is None:
                    with contextlib.suppress(BudgetExhausted):
                        model = self.state.model_choice(capability).model
                if model:
                    self.models[capability] = model
        if "edits" in capabilities:
            # The suite has no flag for an edit model: take one GET /models lists.
            model = self.target.models.get("edits")
            if model is None:
                with contextlib.suppress(BudgetExhausted):
                    model = next((m for m in model_ids(self.state.listing()) if "edit" in m.lower()), None)
            if model:
                self.models["edits"] = model

    def _select(self, spec: dict[str, Any]) -> None:
        for path, method, operation in operations(spec):
            if claimed(self.target, operation):
                self.operations[f"{method} {path}"] = operation
        self._choose_models()
        for label, operation in list(self.operations.items()):
            capability = operation.get("x-capability", "")
            if capability in ("chat", "completions", "embeddings") and capability not in self.models:
                # No model for it: the hand-written checks report that SKIP or UNSUPPORTED.
                del self.operations[label]

    def config(self, labels: set[str]) -> Any:
        import schemathesis

        target = self.target
        checks: dict[str, Any] = {name: {"enabled": False} for name in DISABLED_CHECKS}
        # Any 4xx is a refusal; a 5xx is judged by our own check (the "invalid input" class).
        checks["negative_data_rejection"] = {"expected-statuses": ["4xx"]}
        if not target.api_key:
            # Without a key nothing shows whether the provider would enforce one.
            checks["ignored_auth"] = {"enabled": False}
            checks["missing_required_header"] = {"enabled": False}
        no_reuse = {"extra-data-sources": {"responses": False}}
        headers = {"User-Agent": "oai-conformance property tests"}
        if target.organization:
            headers["OpenAI-Organization"] = target.organization
        headers.update(dict(target.headers))
        data: dict[str, Any] = {
            "seed": SEED,
            "base-url": target.base_url,
            "request-timeout": target.timeout,
            "max-stream-events": MAX_STREAM_EVENTS,
            "tls-verify": target.verify_tls,
            "continue-on-failure": True,  # one finding must not hide the next (research §4.16)
            # One engine worker: with more, schemathesis 4.32 now and then generated no case at all for
            # an operation (POST /completions, reported a success) -- a run must not depend on timing.
            "workers": 1,
            "headers": headers,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "database": "none",
                "no-shrink": True,
                "with-security-parameters": False,
            },
            "phases": {
                "examples": {"enabled": False},
                # Coverage enumerates every boundary of every field: hundreds of requests per operation.
                # The documented boundaries are sent deliberately as EDGE_CASES instead.
                "coverage": {"enabled": False, **no_reuse},
                "fuzzing": no_reuse,
                "stateful": {"enabled": False},
            },
            "cache": {"enabled": False},
            "checks": checks,
            "output": {"sanitization": {"sensitive-markers": list(SENSITIVE_MARKERS)}},
            # Only schemathesis' CLI reads fail-on; in-process the reachability class is what fails a
            # run that only ever got 401/404 (missing_auth, missing_test_data).
            "warnings": {"fail-on": ["missing_auth", "missing_test_data"]},
        }
        multipart = sorted(
            op["operationId"] for label, op in self.operations.items() if label in labels and _is_multipart(op)
        )
        if multipart:
            # Every multipart field travels as text, so a negative case that changes a field's type
            # (n as an object) arrives as a valid string: only positive data means anything there.
            data["operations"] = [{"include-operation-id": multipart, "generation": {"mode": "positive"}}]
        if target.api_key:
            data["auth"] = {"openapi": {"ApiKeyAuth": {"bearer": target.api_key}}}
        return schemathesis.Config.from_dict(data)

    def _load(self, spec: dict[str, Any], labels: set[str]) -> Any:
        import schemathesis

        subset = _subset(spec, labels)
        subset[_RUN_KEY] = id(self)
        schema = schemathesis.openapi.from_dict(subset, config=self.config(labels))
        shape_files = self._shape_files

        # A map_body hook of this schema only; schemathesis annotates hook functions, which a bound
        # method does not allow.
        def map_body(context: Any, body: Any) -> Any:
            return shape_files(context, body)

        schema.hook(map_body)
        driver = self

        def after_call(context: Any, case: Case, response: Any) -> None:
            driver.after_call(case, answered=True)

        def after_network_error(context: Any, case: Case, request: Any) -> None:
            driver.after_call(case, answered=False)

        schema.hook(after_call)
        schema.hook(after_network_error)
        return schema

    # -- hooks ----------------------------------------------------------------------------------------

    def before_call(self, case: Case) -> None:
        """Charge the request to the budget and shape generated JSON bodies (schemathesis' worker thread)."""
        label = case.operation.label
        self._check_breaker(case.method, self._url(case))
        with self.lock:
            # The first authenticated 2xx of an operation makes ignored_auth send two probes (no key, a
            # wrong key) that pass no hook: keep room for them.
            reserve = 2 if self.target.api_key and label not in self.auth_probed else 0
            if self.spent + 1 + reserve > self.allowance:
                self.result.budget = f"the property run's share of the request budget ({self.allowance}) was spent"
                raise _Stop(self.result.budget)
            try:
                self.client.charge(case.method)
            except BudgetExhausted as exc:
                self.result.budget = str(exc)
                raise _Stop(str(exc)) from None
            self.spent += 1
        operation = self.operations.get(label, {})
        if id(case) in self.hand_built or not isinstance(case.body, dict) or _is_multipart(operation):
            return
        shape_body(case.body, operation.get("x-capability", ""), self.models, self.target.max_tokens)

    def _url(self, case: Case) -> str:
        return self.client.url(case.formatted_path.lstrip("/"))

    def _check_breaker(self, method: str, url: str) -> None:
        """The suite's circuit breaker governs these requests too: a provider that went silent costs a
        few timeouts, not one per generated case. Silent everywhere ends the run."""
        everywhere = self.client.breaker.blocked(CircuitBreaker.ANYWHERE)
        if everywhere:
            self.result.blocked = everywhere
            self.client.breaker_blocks(method, url)  # counted as not sent
            raise _Stop(everywhere)
        blocked = self.client.breaker_blocks(method, url)
        if blocked:
            self.result.blocked = blocked
            raise _Blocked(blocked)

    def after_call(self, case: Case, *, answered: bool) -> None:
        """Tell the circuit breaker whether a request got an answer in time (after_call hooks)."""
        self.client.answered(case.method, self._url(case), answered=answered)
        if not answered:
            with self.lock:
                self.result.unanswered.append(f"{case.operation.label}: no answer within {self.target.timeout:g} s")

    def _shape_files(self, context: Any, body: Any) -> Any:
        """Shape generated multipart bodies: real files instead of random bytes, and the same model and
        ``n`` limits as JSON bodies.

        It runs as map_body, when a case is generated and before schemathesis records whether it is
        valid: an edit in before_call makes it revalidate the body, and it calls every body holding
        binary data invalid (a positive case would turn negative). The coverage phase, which skips
        map_* hooks, is off.
        """
        from schemathesis.transport.serialization import Binary

        operation = getattr(context, "operation", None)
        spec = self.operations.get(operation.label, {}) if operation is not None else {}
        if not isinstance(body, dict) or not _is_multipart(spec):
            return body
        for name, make in _FILE_FIELDS.items():
            if isinstance(body.get(name), bytes | str):
                body[name] = Binary(make())
        shape_body(body, spec.get("x-capability", ""), self.models, self.target.max_tokens)
        return body

    # -- the run ----------------------------------------------------------------------------------------

    def run(self) -> PropertyRun:
        started = time.monotonic()
        try:
            self._run()
        except _Stop:
            pass
        except Exception as exc:  # a crash of schemathesis or of this module is ours, never the provider's
            self.result.errors.append(self.redact(f"{type(exc).__name__}: {exc}"))
        finally:
            _DRIVERS.pop(id(self), None)
            self._cleanup()
            self.result.duration_s = time.monotonic() - started
            self.result.requests = self.spent
        return self.result

    def _run(self) -> None:
        from schemathesis.engine.run.probes import PROBES

        spec = load_spec()
        self._select(spec)
        self.result.operations = tuple(self.operations)
        if not self.operations:
            self.result.skipped = "no claimed operation can be exercised (none claimed, or no model for them)"
            return
        remaining = self.target.max_requests - self.client.usage.requests
        self.allowance = min(remaining, int(self.target.max_requests * BUDGET_SHARE))
        if self.allowance < len(PROBES) + 2 * len(self.operations):
            self.result.skipped = f"the request budget leaves {max(self.allowance, 0)} requests for a property run"
            return
        _DRIVERS[id(self)] = self
        self.schema = self._load(spec, set(self.operations))
        declined: set[str] = set()
        try:
            self._happy_paths()
            declined = self._declined()
            self.result.declined = tuple(sorted(declined))
            fuzzed = {label for label, op in self.operations.items() if op.get("x-capability") not in declined}
            # The engine's two capability probes go out before any hook runs; they are paid up front.
            self.client.count_sent(len(PROBES))
            with self.lock:
                self.spent += len(PROBES)
            self._fuzz(self._load(spec, fuzzed))
            self._edge_cases(declined)
        except _Stop:
            pass  # the budget is spent: what was answered is still judged below
        with contextlib.suppress(_Stop):  # the auth probes of the happy paths may find the budget spent
            self._judge_sent(declined)
        if not self.result.budget:
            # A run cut short proves nothing about the operations it did not reach.
            self._reachability(declined)

    def _fuzz(self, schema: Any) -> None:
        from schemathesis.engine import events, from_schema

        stream = from_schema(schema).execute()
        # schemathesis sends with its own HTTP stack, one request at a time: it holds a slot of the
        # concurrency limit while it runs.
        with self.client.slots(1):
            for event in stream:
                if isinstance(event, events.ScenarioFinished):
                    self._scenario(event.recorder)
                elif isinstance(event, events.NonFatalError | events.FatalError):
                    error = event.value if isinstance(event, events.NonFatalError) else event.exception
                    if _caused_by(error, _Stop):
                        stream.stop()
                    elif _caused_by(error, _Blocked) or _is_network_error(error):
                        continue  # the provider's silence, booked by after_call and the breaker
                    else:
                        self.result.errors.append(self.redact(_describe(event)))
                if self.result.budget or self.client.breaker.blocked(CircuitBreaker.ANYWHERE):
                    stream.stop()

    # -- generated cases -----------------------------------------------------------------------------

    def _scenario(self, recorder: Any) -> None:
        """Judge one operation's generated answers and sort schemathesis' findings into classes."""
        check_probes = 0
        for case_id, interaction in recorder.interactions.items():
            node = recorder.cases.get(case_id)
            if node is None:
                continue
            case, response = node.value, interaction.response
            if node.parent_id is not None:
                # A request a check sent (ignored_auth's probes): it went around our hook.
                check_probes += 1
                self.auth_probed.add(case.operation.label)
            if response is None:
                continue
            self.result.judge_answer()
            self._judge(case, response, mode=_mode(case), kind="generated")
            self._after_answer(case, response)
        if check_probes:
            self.client.count_sent(check_probes)
            with self.lock:
                self.spent += check_probes
        for case_id, nodes in recorder.checks.items():
            interaction = recorder.interactions.get(case_id)
            response = interaction.response if interaction is not None else None
            if response is not None and response.status_code == 429:
                continue  # "later" says nothing about the rule a check was testing
            for check in nodes:
                info = check.failure_info
                klass = classify(info.failure.code, info.failure.message) if info is not None else None
                if info is None or klass is None or _judged_elsewhere(klass, response):
                    continue
                self.result.add(
                    PropertyFailure(
                        klass=klass,
                        code=info.failure.code,
                        title=self.redact(info.failure.title),
                        message=self.redact(info.failure.message),
                        operation=info.failure.operation or recorder.label,
                        reproduce=self.redact(info.code_sample),
                        evidence=self._interaction_evidence(interaction) if interaction is not None else None,
                    )
                )

    def _judge(self, case: Case, response: StResponse, *, mode: str | None, kind: str) -> None:
        """Our own checks on one answer: reachability, the error envelope, no 5xx for a client's mistake."""
        status = response.status_code
        if kind == "edge":
            self._judge_edge(case, response)
            return
        if 200 <= status < 300 and kind != "auth":
            self.result.reached.add(case.operation.label)
        if 400 <= status < 500:
            self.result.judge(ENVELOPE)
            problem = envelope_problem(response.content)
            if problem:
                self.result.add(
                    self._finding(ENVELOPE, "OAI-ENVELOPE", "4xx without the error envelope", problem, case, response)
                )
        if status == 429:
            return
        invalid = mode == "negative"
        self.result.judge(INVALID_INPUT if invalid else VALID_5XX)
        if status >= 500:
            if invalid:
                title, expected = "Server error for a client's mistake", "a 4xx naming the mistake"
            else:
                title, expected = "Server error on valid input", "a 2xx, or a documented 4xx"
            message = f"Received: {status}\nExpected: {expected}"
            klass = INVALID_INPUT if invalid else VALID_5XX
            self.result.add(self._finding(klass, "ST101", title, message, case, response))

    def _after_answer(self, case: Case, response: StResponse) -> None:
        """Book an answer: the tokens it billed, and a file it stored (deleted at the end of the run)."""
        if not 200 <= response.status_code < 300:
            return
        self._account(response)
        if case.operation.label == "POST /files":
            file_id = _json_field(response, "id")
            if file_id:
                self.uploaded.append(file_id)

    def _account(self, response: StResponse) -> None:
        """Add the tokens the provider billed (its own ``usage``) to the run's cost, as for every request."""
        media = (response.headers.get("content-type") or [""])[0].split(";", 1)[0].strip().lower()
        text = response.content.decode("utf-8", "replace")
        if media == "text/event-stream":
            payloads = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
        else:
            payloads = [text] if media.endswith("json") else []
        for payload in payloads:
            if payload.startswith("{"):
                with contextlib.suppress(ValueError):
                    self.client.account(json.loads(payload))

    # -- hand-built cases ----------------------------------------------------------------------------

    def _send(self, label: str, **kwargs: Any) -> StResponse | None:
        """Send one hand-built case (see ``_send_case``); its answer, None when the operation is not
        covered or got no answer."""
        sent = self._send_case(label, **kwargs)
        return sent.response if sent is not None else None

    def _send_case(
        self,
        label: str,
        *,
        kind: str = "happy",
        body: Any = None,
        media_type: str | None = None,
        path_parameters: dict[str, str] | None = None,
        query: dict[str, Any] | None = None,
        key: str | None = "",
    ) -> _Sent | None:
        """Send one hand-built case with its Authorization set explicitly ([auth.openapi] applies to
        generated cases only); 429/503 are retried as the rest of the suite does. None when the
        operation is not covered."""
        if label not in self.operations:
            return None
        method, path = label.split(" ", 1)
        extra: dict[str, Any] = {}
        if body is not None:
            extra = {"body": body, "media_type": media_type or "application/json"}
        case = self.schema[path][method].Case(path_parameters=path_parameters, query=query, **extra)
        self.hand_built.add(id(case))
        sent = _Sent(label=label, kind=kind, case=case)
        task_sent = getattr(self._local, "sent", None)
        (self.sent if task_sent is None else task_sent).append(sent)
        headers = self._auth(self.target.api_key if key == "" else key)
        for attempt in range(self.target.max_retries + 1):
            try:
                with self.client.slots():
                    sent.response = case.call(headers=headers, timeout=self.target.timeout)
            except Exception as exc:
                if _caused_by(exc, _Stop):
                    raise _Stop(self.result.budget or self.result.blocked or "stopped") from None
                if not _caused_by(exc, _Blocked) and not _is_network_error(exc):
                    raise
                return sent  # no answer, or not sent (the circuit breaker): reported as a timeout
            wait = self._retry_wait(sent.response, attempt)
            if wait is None:
                break
            time.sleep(wait)
        if sent.response is not None:
            self._after_answer(case, sent.response)
        return sent

    def _retry_wait(self, response: StResponse, attempt: int) -> float | None:
        if response.status_code not in (429, 503) or attempt >= self.target.max_retries:
            return None
        hint = retry_after({k.lower(): v[0] for k, v in response.headers.items() if v})
        wait = hint[0] if hint is not None else 0.5 * 2**attempt
        return wait if wait <= self.target.max_retry_wait else None

    def _auth(self, key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _in_parallel(self, tasks: Sequence[Callable[[], T]]) -> list[T]:
        """Run independent sequences of hand-built cases side by side, ``self.workers`` at a time.

        Each task sends its own cases in order; ``self.sent`` gets them in task order, as a sequential
        run would have, so what is judged and kept does not depend on timing. A task that raised
        (``_Stop``: a budget is spent) raises here once every task has ended.
        """
        if self.workers <= 1 or len(tasks) <= 1:
            return [task() for task in tasks]

        def run(task: Callable[[], T]) -> tuple[T | None, list[_Sent], Exception | None]:
            self._local.sent = sent = []
            try:
                return task(), sent, None
            except Exception as exc:
                return None, sent, exc
            finally:
                self._local.sent = None

        with ThreadPoolExecutor(self.workers, thread_name_prefix="oai-conformance-property") as pool:
            outcomes = list(pool.map(run, tasks))
        for _, sent, _ in outcomes:
            self.sent.extend(sent)
        failed = next((exc for _, _, exc in outcomes if exc is not None), None)
        if failed is not None:
            raise failed
        return [value for value, _, _ in outcomes]  # type: ignore[misc]

    def _happy_paths(self) -> None:
        """One valid request per operation; the file and fine-tune operations get ids from an upload.
        Independent operations go out side by side; the files and fine-tunes sequence in its order."""
        chat, completion, embed = (self.models.get(c) for c in ("chat", "completions", "embeddings"))
        tokens = self.target.max_tokens
        send = self._send
        tasks: list[Callable[[], Any]] = [lambda: send("GET /models")]
        if chat or completion or embed:
            model = str(chat or completion or embed)
            tasks.append(lambda: send("GET /models/{model}", path_parameters={"model": model}))
        if chat:
            chat_body = {"model": chat, "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": tokens}
            tasks.append(lambda: send("POST /chat/completions", body=chat_body))
            tasks.append(lambda: send("POST /chat/completions", body={**chat_body, "stream": True}))
        if completion:
            completion_body = {"model": completion, "prompt": "Say this is a test.", "max_tokens": tokens}
            tasks.append(lambda: send("POST /completions", body=completion_body))
            tasks.append(lambda: send("POST /completions", body={**completion_body, "stream": True}))
        if embed:
            embed_body = {"model": embed, "input": "The food was delicious.", "encoding_format": "float"}
            tasks.append(lambda: send("POST /embeddings", body=embed_body))
            # The other documented output, with the documented optional `user`.
            base64_body = {**embed_body, "encoding_format": "base64", "user": "oai-conformance"}
            tasks.append(lambda: send("POST /embeddings", body=base64_body))
        if "edits" in self.models:
            edit_body = {
                "model": self.models["edits"],
                "input": "What day of the wek is it?",
                "instruction": "Fix spelling.",
            }
            tasks.append(lambda: send("POST /edits", body=edit_body))
        tasks.append(lambda: send("POST /moderations", body={"input": "I want to hug them."}))
        image = {"prompt": "A small red square.", "n": 1, "size": "256x256"}
        tasks.append(lambda: send("POST /images/generations", body=image))
        tasks.append(lambda: send("POST /images/edits", body={**image, "image": tiny_png()}, media_type=MULTIPART))
        variation = {"image": tiny_png(), "n": 1, "size": "256x256"}
        tasks.append(lambda: send("POST /images/variations", body=variation, media_type=MULTIPART))
        tasks.append(self._engines)
        # The longest sequence first: the others fill the remaining workers while it runs.
        self._in_parallel([self._files_and_fine_tunes, *tasks])

    def _engines(self) -> None:
        engine = _first_id(self._send("GET /engines"))
        if engine:
            self._send("GET /engines/{engine_id}", path_parameters={"engine_id": engine})

    def _files_and_fine_tunes(self) -> None:
        upload = {"file": TRAINING_JSONL, "purpose": "fine-tune"}
        file_id = _json_field(self._send("POST /files", body=upload, media_type=MULTIPART), "id")
        self._send("GET /files")
        if file_id:
            path = {"file_id": file_id}
            self._send("GET /files/{file_id}", path_parameters=path)
            self._send("GET /files/{file_id}/content", path_parameters=path)
            self._fine_tunes(file_id)
            deleted = self._send("DELETE /files/{file_id}", path_parameters=path)
            if deleted is not None and 200 <= deleted.status_code < 300 and file_id in self.uploaded:
                self.uploaded.remove(file_id)
        else:
            self._send("GET /fine-tunes")

    def _fine_tunes(self, file_id: str) -> None:
        """Job A is cancelled at once (nothing trains), then read; job B is read until it has a model,
        which is deleted -- or, on a provider whose jobs really train, it is cancelled too."""
        first = _json_field(self._send("POST /fine-tunes", body={"training_file": file_id}), "id")
        self._send("GET /fine-tunes")
        if first:
            path = {"fine_tune_id": first}
            self._send("POST /fine-tunes/{fine_tune_id}/cancel", path_parameters=path)
            self._send("GET /fine-tunes/{fine_tune_id}", path_parameters=path)
            self._send("GET /fine-tunes/{fine_tune_id}/events", path_parameters=path)
            self._send("GET /fine-tunes/{fine_tune_id}/events", path_parameters=path, query={"stream": True})
        if "DELETE /models/{model}" not in self.operations:
            return
        second = _json_field(self._send("POST /fine-tunes", body={"training_file": file_id}), "id")
        if not second:
            return
        path = {"fine_tune_id": second}
        model = None
        for _ in range(FINE_TUNE_READS):
            model = _json_field(self._send("GET /fine-tunes/{fine_tune_id}", path_parameters=path), "fine_tuned_model")
            if model:
                break
        if model:
            self._send("DELETE /models/{model}", path_parameters={"model": model})
        else:
            self._send("POST /fine-tunes/{fine_tune_id}/cancel", path_parameters=path)

    def _declined(self) -> set[str]:
        """Capabilities the provider honestly declines: not declared by the user, and every hand-built
        request for them answered 404 or 501 with the error envelope (the hand-written checks report
        these UNSUPPORTED; the property run leaves them out)."""
        if getattr(self.target, "capabilities", None) is not None:
            return set()
        answers: dict[str, list[StResponse | None]] = {}
        for sent in self.sent:
            capability = self.operations[sent.label].get("x-capability", "")
            if capability in DECLARABLE_CAPABILITIES:
                answers.setdefault(capability, []).append(sent.response)
        return {
            capability
            for capability, responses in answers.items()
            if all(r is not None and r.status_code in (404, 501) and not envelope_problem(r.content) for r in responses)
        }

    def _edge_cases(self, declined: set[str]) -> None:
        tasks: list[Callable[[], Any]] = []
        for edge in EDGE_CASES:
            operation = self.operations.get(edge.label)
            if operation is None or operation.get("x-capability") in declined:
                continue
            model = self.models.get(edge.model_capability) if edge.model_capability else ""
            if model is None:
                continue
            tasks.append(lambda edge=edge, model=model: self._send_edge(edge, model))
        try:
            self._in_parallel(tasks)
        finally:
            self.result.edge_cases = tuple(edge.name for edge in EDGE_CASES if edge.name in self._edges_sent)

    def _send_edge(self, edge: EdgeCase, model: str) -> None:
        self._send(edge.label, kind="edge", body=edge.build(model, self.target.max_tokens))
        self._edges_sent.add(edge.name)

    def _judge_sent(self, declined: set[str]) -> None:
        """Our checks and schemathesis' answer checks on every hand-built case, and the auth probes."""
        to_probe: list[_Sent] = []
        for sent in list(self.sent):
            response, case = sent.response, sent.case
            if response is None or self.operations[sent.label].get("x-capability") in declined:
                continue
            self._judge(case, response, mode=None, kind=sent.kind)
            if sent.kind == "auth" or response.status_code == 429:
                continue
            if sent.kind == "happy":
                self.result.judge_answer()
            for code, title, message in self._answer_checks(case, response):
                klass = classify(code, message)
                if klass is None or _judged_elsewhere(klass, response):
                    continue
                klass = EDGE_VALUES if sent.kind == "edge" else klass
                self.result.add(self._finding(klass, code, title, message, case, response))
            if sent.kind == "happy" and 200 <= response.status_code < 300 and self._auth_unprobed(sent.label):
                to_probe.append(sent)
        # The auth probes of every operation go out side by side, and are judged in order.
        sent_probes = self._in_parallel([lambda happy=happy: self._send_auth_probes(happy) for happy in to_probe])
        for happy, (probes, _) in zip(to_probe, sent_probes, strict=True):
            self._judge_auth(happy, probes)
        stopped = next((stop for _, stop in sent_probes if stop is not None), None)
        if stopped is not None:
            raise stopped

    def _answer_checks(self, case: Case, response: StResponse) -> list[tuple[str, str, str]]:
        from schemathesis.checks import load_all_checks
        from schemathesis.core.failures import Failure, FailureGroup
        from schemathesis.specs.openapi import checks as st_checks

        load_all_checks()
        found: list[tuple[str, str, str]] = []
        for name in _ANSWER_CHECKS:
            try:
                case.validate_response(response, checks=[getattr(st_checks, name)])
            except FailureGroup as group:
                found.extend((f.code, f.title, f.message) for f in group.exceptions if isinstance(f, Failure))
            except Exception as exc:  # a crashing check is our error, never the provider's
                self.result.errors.append(self.redact(f"{name} crashed on {case.operation.label}: {exc}"))
        return found

    def _judge_edge(self, case: Case, response: StResponse) -> None:
        self.result.judge(EDGE_VALUES)
        status = response.status_code
        if 400 <= status < 500:
            problem = envelope_problem(response.content)
            if problem:
                self.result.add(
                    self._finding(
                        EDGE_VALUES, "OAI-ENVELOPE", "4xx without the error envelope", problem, case, response
                    )
                )
            return
        title = (
            "Server error for a documented invalid value" if status >= 500 else "A documented invalid value was served"
        )
        message = f"Received: {status}\nExpected: 400 with the error envelope"
        self.result.add(self._finding(EDGE_VALUES, "OAI-EDGE", title, message, case, response))

    def _auth_unprobed(self, label: str) -> bool:
        """An operation that served the key must refuse the same request without a key and with a wrong
        one: probed once per operation, for those the generated cases did not already probe."""
        if not self.target.api_key or label in self.auth_probed:
            return False
        self.auth_probed.add(label)
        return True

    def _send_auth_probes(self, happy: _Sent) -> tuple[list[tuple[str, _Sent]], _Stop | None]:
        """The happy case again without a key and with a wrong one; what was sent before a budget ran out."""
        case = happy.case
        sent: list[tuple[str, _Sent]] = []
        try:
            for scenario, key in (("without a key", None), ("with a wrong key", WRONG_KEY)):
                probe = self._send_case(
                    happy.label,
                    kind="auth",
                    body=_body(case),
                    media_type=case.media_type,
                    path_parameters=case.path_parameters or None,
                    query=case.query or None,
                    key=key,
                )
                if probe is not None:
                    sent.append((scenario, probe))
        except _Stop as stop:
            return sent, stop
        return sent, None

    def _judge_auth(self, happy: _Sent, sent: list[tuple[str, _Sent]]) -> None:
        label = happy.label
        self.result.judge(AUTH)
        for scenario, probe_sent in sent:
            response, probe = probe_sent.response, probe_sent.case
            if response is None:
                continue
            # A request without a valid key is a client's mistake: a 5xx to it is judged as one.
            self._judge(probe, response, mode="negative", kind="auth")
            if response.status_code not in (401, 403, 429):
                message = f"Received: {response.status_code} for {label} {scenario}\nExpected: 401 or 403"
                self.result.add(
                    self._finding(AUTH, "ST401", f"A request {scenario} was served", message, probe, response)
                )

    def _reachability(self, declined: set[str]) -> None:
        """Every covered operation answered 2xx at least once. An operation no valid request could be
        built for (a fine-tune needs an uploaded file) is not judged; a declined capability is left out."""
        for label, operation in self.operations.items():
            if operation.get("x-capability") in declined:
                continue
            tried = [s for s in self.sent if s.label == label and s.kind == "happy"]
            if not tried:
                continue
            self.result.judge(REACHABILITY)
            if label in self.result.reached:
                continue
            statuses = sorted({s.response.status_code for s in tried if s.response is not None})
            last = tried[-1]
            if not statuses:
                why = self.result.blocked or f"no answer within {self.target.timeout:g} s"
                message = f"Received: no answer to any valid request ({why})\nExpected: at least one 2xx"
                finding = self._finding(
                    REACHABILITY, "OAI-NO-ANSWER", "The operation did not answer", message, last.case
                )
                self.result.add(replace(finding, timeout=True))
                continue
            message = f"Received: only {', '.join(map(str, statuses))} to valid requests\nExpected: at least one 2xx"
            self.result.add(
                self._finding(
                    REACHABILITY, "OAI-UNREACHED", "The operation never answered 2xx", message, last.case, last.response
                )
            )

    def _cleanup(self) -> None:
        """Delete files we stored on the provider (the happy path deletes its own; generated uploads too)."""
        for file_id in list(self.uploaded):
            with contextlib.suppress(Exception):
                self.client.request("DELETE", f"files/{file_id}")

    # -- evidence ---------------------------------------------------------------------------------------

    def _finding(
        self,
        klass: str,
        code: str,
        title: str,
        message: str,
        case: Case,
        response: StResponse | None = None,
    ) -> PropertyFailure:
        reproduce = ""
        with contextlib.suppress(Exception):
            reproduce = case.as_curl_command(headers=self._auth(self.target.api_key))
        return PropertyFailure(
            klass=klass,
            code=code,
            title=self.redact(title),
            message=self.redact(message),
            operation=case.operation.label,
            reproduce=self.redact(reproduce),
            evidence=self._response_evidence(response) if response is not None else None,
        )

    def _interaction_evidence(self, interaction: Any) -> Evidence:
        request, response = interaction.request, interaction.response
        return self._evidence(
            method=request.method,
            url=request.uri,
            request_headers={k: ", ".join(v) for k, v in request.headers.items()},
            request_body=request.body,
            response=response,
        )

    def _response_evidence(self, response: StResponse) -> Evidence:
        request = response.request
        body = request.body.encode() if isinstance(request.body, str) else request.body
        return self._evidence(
            method=str(request.method),
            url=str(request.url),
            request_headers=dict(request.headers),
            request_body=body if isinstance(body, bytes) else None,
            response=response,
        )

    def _evidence(
        self,
        *,
        method: str,
        url: str,
        request_headers: dict[str, str],
        request_body: bytes | None,
        response: StResponse | None,
    ) -> Evidence:
        shown = ("content-type", "accept", "openai-organization")
        headers = {k.lower(): self.redact(v) for k, v in request_headers.items() if k.lower() in shown}
        if any(k.lower() == "authorization" for k in request_headers):
            headers["authorization"] = "Bearer [REDACTED]"
        excerpt = None
        response_headers: dict[str, str] = {}
        if response is not None:
            content = response.content
            excerpt = self.redact(content[:2000].decode("utf-8", "replace")) + ("…" if len(content) > 2000 else "")
            response_headers = {
                k.lower(): self.redact(", ".join(v)) for k, v in response.headers.items() if k.lower() in _SHOWN_HEADERS
            }
        body = self.redact(request_body[:2000].decode("utf-8", "replace")) if request_body else None
        return Evidence(
            method=method,
            url=self.redact(url),
            status=response.status_code if response is not None else None,
            request_headers=headers,
            request_body=body,
            response_headers=response_headers,
            body_excerpt=excerpt,
            elapsed_s=round(response.elapsed, 4) if response is not None else None,
        )


# -- helpers -----------------------------------------------------------------------------------------------


def _judged_elsewhere(klass: str, response: StResponse | None) -> bool:
    """One rule, one verdict: a 4xx body without the error envelope is the envelope class's finding,
    not also a schema violation; a 5xx is the 5xx classes' finding, not also an undocumented status."""
    if response is None:
        return False
    status = response.status_code
    if klass == SCHEMA and 400 <= status < 500:
        return envelope_problem(response.content) is not None
    return klass == STATUS and status >= 500


def _body(case: Case) -> Any:
    """The case's body, or None when it has none (schemathesis' NotSet)."""
    from schemathesis.core import NotSet

    return None if isinstance(case.body, NotSet) else case.body


def _mode(case: Case | None) -> str | None:
    meta = getattr(case, "meta", None)
    try:
        return "negative" if meta.generation.mode.is_negative else "positive"  # type: ignore[union-attr]
    except AttributeError:
        return None


def _json_field(response: StResponse | None, name: str) -> str | None:
    if response is None or not 200 <= response.status_code < 300:
        return None
    try:
        value = json.loads(response.content).get(name)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


def _first_id(response: StResponse | None) -> str | None:
    if response is None or not 200 <= response.status_code < 300:
        return None
    try:
        data = json.loads(response.content).get("data")
        return next(item["id"] for item in data if isinstance(item, dict) and isinstance(item.get("id"), str))
    except (ValueError, AttributeError, TypeError, StopIteration):
        return None


def _caused_by(error: BaseException | None, kind: type[BaseException]) -> bool:
    for _ in range(10):
        if error is None:
            return False
        if isinstance(error, kind):
            return True
        error = error.__cause__ or error.__context__
    return False


def _is_network_error(error: BaseException | None) -> bool:
    """No answer: a timeout, a refused or reset connection (the provider's silence, not our bug)."""
    import requests

    return _caused_by(error, requests.RequestException)


def _describe(event: Any) -> str:
    info = getattr(event, "info", None)
    if info is not None:
        return f"schemathesis: {getattr(info, 'title', '')}: {getattr(info, 'message', '')}"
    exception = getattr(event, "exception", None)
    return f"schemathesis: {type(exception).__name__}: {exception}"


# -- the hook and the fixture ------------------------------------------------------------------------------

_DRIVERS: dict[int, PropertyDriver] = {}
_HOOK_LOCK = threading.Lock()
_hook_installed = False


def _install_hook() -> None:
    """Register our ``before_call`` once per process. schemathesis dispatches ``before_call`` to global
    hooks only; ours acts on the schemas of a running PropertyDriver and leaves any other alone."""
    global _hook_installed
    with _HOOK_LOCK:
        if _hook_installed:
            return
        import schemathesis

        @schemathesis.hook("before_call")
        def _oai_conformance_before_call(context: Any, case: Case, kwargs: dict[str, Any]) -> None:
            raw = getattr(case.operation.schema, "raw_schema", None)
            key = raw.get(_RUN_KEY) if isinstance(raw, dict) else None
            driver = _DRIVERS.get(key) if isinstance(key, int) else None
            if driver is not None:
                driver.before_call(case)

        _hook_installed = True


@contextlib.contextmanager
def _hypothesis_home() -> Iterator[None]:
    """Keep Hypothesis' caches out of the user's working directory during the run.

    Hypothesis writes ``.hypothesis/`` (constants and unicode caches) into the cwd even with its
    example database off; a suite scoring a provider has no business there. Unless the user chose a
    place (HYPOTHESIS_STORAGE_DIRECTORY, or a home set in code), a per-user cache directory is used
    for the run and the previous setting is restored afterwards.
    """
    from hypothesis import configuration

    current = configuration.storage_directory(intent_to_write=False).home_directory
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY") or current != Path.cwd() / ".hypothesis":
        yield
        return
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    configuration.set_hypothesis_home_dir(cache_home / "oai-conformance" / "hypothesis")
    try:
        yield
    finally:
        configuration.set_hypothesis_home_dir(None)


def run_property_tests(state: RunState) -> PropertyRun:
    """The whole property run against ``state``'s target."""
    _install_hook()
    with _hypothesis_home():
        return PropertyDriver(state).run()


@probe(slow=True)
def property_run(run_state: RunState) -> PropertyRun:
    """One property run per suite run, shared by every PROP check."""
    return run_property_tests(run_state)
