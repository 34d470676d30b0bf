"""Legacy fine-tunes (``/v1/fine-tunes``): jobs that move through their statuses as they are read.

The lifecycle is deterministic and driven by the client, so a test can reach every state without
waiting:

* ``POST /fine-tunes`` creates a job in ``pending`` (one "Job enqueued" event);
* each ``GET /fine-tunes/{id}`` moves it one step: ``pending`` → ``running`` → ``succeeded``.
  Success registers the fine-tuned model (``<base>:ft-oai-conformance[:<suffix>]-<date>``, listed by
  ``GET /models``, deletable by ``DELETE /models/{id}``) and a result file (purpose
  ``fine-tune-results``) in the file store;
* ``POST /fine-tunes/{id}/cancel`` moves a ``pending`` or ``running`` job to ``cancelled`` (a
  finished job cannot be cancelled: 400);
* ``GET /fine-tunes/{id}/events`` lists the events so far and changes nothing; with ``stream=true``
  the job runs to its end (the stream only ends when the job is finished, seed 002), every event is
  sent as ``data: <event>`` and the stream ends with ``data: [DONE]``;
* listing (``GET /fine-tunes``) changes nothing.

Event times are ``created_at`` plus the step number, so a job's events are strictly ordered.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .catalog import COMPLETIONS, find_model
from .errors import ApiError, invalid_request, missing_parameter
from .files import FileStore
from .params import (
    BodyReader,
    Reject,
    as_array,
    as_bool,
    as_number,
    as_str,
    int_in,
    invalid_type,
    invalid_value,
)
from .sse import new_id, now

__all__ = ["FineTuneStore", "Job", "TunedModels", "fine_tune_not_found", "validate_fine_tune"]

ORGANIZATION: Final = "org-oai-conformance"
#: Base models seed 002 documents (the default is "curie"); the reference serves them all alike.
LEGACY_BASES: Final = ("ada", "babbage", "curie", "davinci")
DEFAULT_BASE: Final = "ref-instruct"
MAX_JOBS: Final = 128
MAX_TUNED_MODELS: Final = 64
TERMINAL: Final = ("succeeded", "failed", "cancelled")


def fine_tune_not_found(job_id: str) -> ApiError:
    return invalid_request(f"No fine-tune job: {job_id}", param="fine_tune_id", code="fine_tune_not_found", status=404)


@dataclass(frozen=True, slots=True)
class FineTuneRequest:
    training_file: str
    validation_file: str | None
    model: str
    suffix: str | None
    hyperparams: dict[str, Any]


def _positive_number(value: Any, param: str) -> float:
    number = as_number(value, param)
    if number <= 0:
        raise invalid_value(param, f"expected a value > 0, but got {value} instead.", "decimal_below_min_value")
    return number


def _not_negative(value: Any, param: str) -> float:
    number = as_number(value, param)
    if number < 0:
        raise invalid_value(param, f"expected a value >= 0, but got {value} instead.", "decimal_below_min_value")
    return number


def _suffix(value: Any, param: str) -> str:
    text = as_str(value, param)
    if not 1 <= len(text) <= 40:
        raise invalid_value(param, "the suffix must be 1 to 40 characters long.", "invalid_value")
    return text


def _betas(value: Any, param: str) -> list[float]:
    return [as_number(beta, f"{param}[{i}]") for i, beta in enumerate(as_array(value, param))]


def validate_fine_tune(body: Any, files: FileStore) -> FineTuneRequest | ApiError:
    try:
        if not isinstance(body, Mapping):
            raise invalid_type("body", "an object", body)
        if body.get("training_file") is None:
            raise Reject(missing_parameter("training_file"))
        training_file = as_str(body["training_file"], "training_file")
        if files.get(training_file) is None:
            raise Reject(invalid_request(f"No such File object: {training_file}", "training_file", "invalid_file"))
        reader = BodyReader(body, strict=True)
        validation_file = reader.optional("validation_file", as_str, None)
        if validation_file is not None and files.get(validation_file) is None:
            raise Reject(invalid_request(f"No such File object: {validation_file}", "validation_file", "invalid_file"))
        model = reader.optional("model", as_str, DEFAULT_BASE)
        known = find_model(model)
        if model not in LEGACY_BASES and (known is None or known.endpoint != COMPLETIONS):
            raise Reject(invalid_request(f"Invalid base model: {model} (fine-tune a completion model)", "model"))
        hyperparams = {
            # Seed 002 documents lower bounds only, so only those are enforced.
            "batch_size": reader.optional("batch_size", int_in(1, None), 1),
            "learning_rate_multiplier": reader.optional("learning_rate_multiplier", _positive_number, 0.1),
            "n_epochs": reader.optional("n_epochs", int_in(1, None), 4),
            "prompt_loss_weight": reader.optional("prompt_loss_weight", _not_negative, 0.01),
        }
        # Classification options are validated and echoed; the toy trainer ignores them.
        if reader.optional("compute_classification_metrics", as_bool, False):
            hyperparams["compute_classification_metrics"] = True
        for name, parse in (
            ("classification_n_classes", int_in(1, None)),
            ("classification_positive_class", as_str),
        ):
            if (value := reader.optional(name, parse, None)) is not None:
                hyperparams[name] = value
        reader.optional("classification_betas", _betas, None)
        suffix = reader.optional("suffix", _suffix, None)
    except Reject as rejected:
        return rejected.error
    return FineTuneRequest(training_file, validation_file, model, suffix, hyperparams)


@dataclass
class Job:
    id: str
    model: str
    created_at: int
    hyperparams: dict[str, Any]
    training_files: list[dict[str, Any]]
    validation_files: list[dict[str, Any]]
    suffix: str | None
    status: str = "pending"
    updated_at: int = 0
    fine_tuned_model: str | None = None
    result_files: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def log(self, message: str) -> None:
        # One second per step keeps the events strictly ordered and the times plausible.
        self.updated_at = self.created_at + len(self.events)
        self.events.append(
            {"object": "fine-tune-event", "created_at": self.updated_at, "level": "info", "message": message}
        )

    def card(self, *, with_events: bool = True) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": self.id,
            "object": "fine-tune",
            "model": self.model,
            "created_at": self.created_at,
            "events": [dict(event) for event in self.events],
            "fine_tuned_model": self.fine_tuned_model,
            "hyperparams": dict(self.hyperparams),
            "organization_id": ORGANIZATION,
            "result_files": [dict(f) for f in self.result_files],
            "status": self.status,
            "validation_files": [dict(f) for f in self.validation_files],
            "training_files": [dict(f) for f in self.training_files],
            "updated_at": self.updated_at,
        }
        if not with_events:
            # The list answer of seed 002 leaves the events out.
            del payload["events"]
        return payload


class TunedModels:
    """The fine-tuned models the jobs produced: listed, retrievable and deletable."""

    def __init__(self) -> None:
        self._cards: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, model_id: str, created: int) -> None:
        with self._lock:
            self._cards[model_id] = {"id": model_id, "object": "model", "created": created, "owned_by": ORGANIZATION}
            while len(self._cards) > MAX_TUNED_MODELS:
                self._cards.popitem(last=False)

    def cards(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(card) for card in self._cards.values()]

    def get(self, model_id: str) -> dict[str, Any] | None:
        with self._lock:
            card = self._cards.get(model_id)
            return None if card is None else dict(card)

    def delete(self, model_id: str) -> bool:
        with self._lock:
            return self._cards.pop(model_id, None) is not None


class FineTuneStore:
    """The jobs of one app instance (at most :data:`MAX_JOBS`; the oldest go first)."""

    def __init__(self, files: FileStore, models: TunedModels) -> None:
        self.files = files
        self.models = models
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.RLock()

    def create(self, request: FineTuneRequest) -> Job:
        def file_cards(file_id: str | None) -> list[dict[str, Any]]:
            stored = self.files.get(file_id) if file_id else None
            return [stored.card()] if stored else []

        created = now()
        job = Job(
            id=new_id("ft"),
            model=request.model,
            created_at=created,
            updated_at=created,
            hyperparams=request.hyperparams,
            training_files=file_cards(request.training_file),
            validation_files=file_cards(request.validation_file),
            suffix=request.suffix,
        )
        job.log("Job enqueued. Waiting for jobs ahead to complete. Queue number: 0.")
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > MAX_JOBS:
                self._jobs.popitem(last=False)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def advance(self, job: Job) -> None:
        """One step of the lifecycle: pending → running → succeeded; finished jobs stay as they are."""
        with self._lock:
            if job.status == "pending":
                job.status = "running"
                job.log("Job started.")
            elif job.status == "running":
                self._succeed(job)

    def run_to_end(self, job: Job) -> None:
        with self._lock:
            while job.status not in TERMINAL:
                self.advance(job)

    def cancel(self, job: Job) -> ApiError | None:
        with self._lock:
            if job.status in TERMINAL:
                return invalid_request(f"Cannot cancel a job that has already {job.status}.", "fine_tune_id")
            job.status = "cancelled"
            job.log("Job cancelled.")
            return None

    def _succeed(self, job: Job) -> None:
        model_id = self._model_name(job)
        self.models.add(model_id, job.created_at)
        job.fine_tuned_model = model_id
        job.log(f"Uploaded snapshot: {model_id}.")
        results = self.files.add("compiled_results.csv", "fine-tune-results", b"step,elapsed_tokens,training_loss\n")
        job.result_files = [results.card()]
        job.log(f"Uploaded result files: {results.id}.")
        job.status = "succeeded"
        job.log("Job succeeded.")

    def _model_name(self, job: Job) -> str:
        # Seed 002's form: "curie:ft-acmeco-2021-03-03-21-44-20", with ":<suffix>" when one was given.
        stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(job.created_at))
        base = f"{job.model}:ft-oai-conformance{':' + job.suffix if job.suffix else ''}-{stamp}"
        name, number = base, 1
        while self.models.get(name) is not None or find_model(name) is not None:
            number += 1
            name = f"{base}-{number}"
        return name
