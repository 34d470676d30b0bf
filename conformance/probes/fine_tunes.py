"""Probes of the fine-tune checks and model delete: two tiny jobs (one cancelled at once, one polled
three times and cancelled if unfinished), their reads, events and the deletion of a tuned model."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from conformance import builders
from conformance.core.results import NotApplicable
from conformance.engine import probe
from conformance.probes.endpoints import Deletion
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange, StreamExchange

if TYPE_CHECKING:
    pass

from conformance.probes.endpoints import (
    FINE_TUNE_POLLS,
    FINE_TUNE_SUFFIX,
    FINISHED,
    UNKNOWN_FINE_TUNE,
    body_object,
    created_id,
    quote,
    succeeded,
)

# -- fine-tunes ---------------------------------------------------------------------------------------


@dataclass
class Jobs:
    """Fine-tune jobs the run created, and whether each is known to have finished; the unfinished ones
    are cancelled when the session ends, so a real provider does not train on for nothing."""

    created: list[str] = field(default_factory=list)
    finished: set[str] = field(default_factory=set)

    def note(self, job_id: str, exchange: Exchange) -> str | None:
        body = body_object(exchange)
        status = body.get("status") if body else None
        if status in FINISHED:
            self.finished.add(job_id)
        return status if isinstance(status, str) else None


@probe
def fine_tune_jobs(fine_tunes_client: HttpClient) -> Iterator[Jobs]:
    jobs = Jobs()
    yield jobs
    for job_id in jobs.created:
        if job_id not in jobs.finished:
            with contextlib.suppress(Exception):
                fine_tunes_client.request("POST", f"fine-tunes/{quote(job_id)}/cancel")


def create_fine_tune(client: HttpClient, jobs: Jobs, training_file: str) -> Exchange:
    exchange = client.request(
        "POST", "fine-tunes", json_body={"training_file": training_file, "suffix": FINE_TUNE_SUFFIX}
    )
    body = body_object(exchange)
    if body and isinstance(body.get("id"), str):
        jobs.created.append(body["id"])
    return exchange


@probe
def fine_tune_job(fine_tunes_client: HttpClient, fine_tune_jobs: Jobs, training_file_id: str) -> Exchange:
    """The job the fine-tune checks inspect; it is cancelled by the cancel probe."""
    return create_fine_tune(fine_tunes_client, fine_tune_jobs, training_file_id)


@probe
def fine_tune_id(fine_tune_job: Exchange) -> str:
    return created_id(fine_tune_job, "POST /fine-tunes", "FT-001")


@probe
def fine_tune_retrieve(fine_tunes_client: HttpClient, fine_tune_id: str) -> Exchange:
    return fine_tunes_client.request("GET", f"fine-tunes/{quote(fine_tune_id)}")


@probe
def fine_tunes_listing(fine_tunes_client: HttpClient, fine_tune_id: str) -> Exchange:
    return fine_tunes_client.request("GET", "fine-tunes")


# The job is read (and listed) before it is cancelled, as a user would see it: running, not cancelled.
@probe(after=("fine_tune_retrieve", "fine_tunes_listing", "fine_tune_unknown"))
def fine_tune_cancel(fine_tunes_client: HttpClient, fine_tune_jobs: Jobs, fine_tune_id: str) -> Exchange:
    exchange = fine_tunes_client.request("POST", f"fine-tunes/{quote(fine_tune_id)}/cancel")
    if succeeded(exchange):
        fine_tune_jobs.finished.add(fine_tune_id)  # cancelled: nothing left to clean up
    return exchange


def cancelled_job(fine_tune_id: str, fine_tune_cancel: Exchange) -> str:
    """The job id once the cancellation was accepted: its event stream must then end at once."""
    if not succeeded(fine_tune_cancel):
        raise NotApplicable("the job could not be cancelled (see FT-005), so it may still be running")
    return fine_tune_id


@probe
def fine_tune_after_cancel(fine_tunes_client: HttpClient, fine_tune_id: str, fine_tune_cancel: Exchange) -> Exchange:
    return fine_tunes_client.request("GET", f"fine-tunes/{quote(cancelled_job(fine_tune_id, fine_tune_cancel))}")


@probe
def fine_tune_events(fine_tunes_client: HttpClient, fine_tune_id: str, fine_tune_cancel: Exchange) -> Exchange:
    return fine_tunes_client.request("GET", f"fine-tunes/{quote(cancelled_job(fine_tune_id, fine_tune_cancel))}/events")


@probe
def fine_tune_event_stream(
    fine_tunes_client: HttpClient, fine_tune_id: str, fine_tune_cancel: Exchange
) -> StreamExchange:
    job = quote(cancelled_job(fine_tune_id, fine_tune_cancel))
    return fine_tunes_client.stream("GET", f"fine-tunes/{job}/events?stream=true")


@probe
def fine_tune_unknown(fine_tunes_client: HttpClient, fine_tune_id: str) -> Exchange:
    return fine_tunes_client.request("GET", f"fine-tunes/{UNKNOWN_FINE_TUNE}")


@dataclass(frozen=True)
class FinishedJob:
    """A second job, polled until it finishes (or FINE_TUNE_POLLS times): the source of a fine-tuned model."""

    created: Exchange
    polls: tuple[Exchange, ...]
    status: str | None
    model: str | None


@probe
def finished_fine_tune(fine_tunes_client: HttpClient, fine_tune_jobs: Jobs, training_file_id: str) -> FinishedJob:
    created = create_fine_tune(fine_tunes_client, fine_tune_jobs, training_file_id)
    job_id = created_id(created, "POST /fine-tunes", "FT-001")
    polls: list[Exchange] = []
    status: str | None = None
    for _ in range(FINE_TUNE_POLLS):
        poll = fine_tunes_client.request("GET", f"fine-tunes/{quote(job_id)}")
        polls.append(poll)
        status = fine_tune_jobs.note(job_id, poll)
        if status in FINISHED:
            break
    last = body_object(polls[-1]) if polls else None
    model = last.get("fine_tuned_model") if last else None
    return FinishedJob(created, tuple(polls), status, model if isinstance(model, str) and model else None)


# -- model delete ---------------------------------------------------------------------------------------


@probe
def unknown_model_delete(client: HttpClient) -> Exchange:
    return client.request("DELETE", f"models/{builders.UNKNOWN_MODEL}")


@probe
def model_deletion(fine_tunes_client: HttpClient, finished_fine_tune: FinishedJob) -> Deletion:
    model = finished_fine_tune.model
    if finished_fine_tune.status != "succeeded" or model is None:
        seen = finished_fine_tune.status or "no status"
        raise NotApplicable(
            f"no fine-tuned model to delete: the job created for it did not succeed within "
            f"{FINE_TUNE_POLLS} polls ({seen})"
        )
    deleted = fine_tunes_client.request("DELETE", f"models/{quote(model)}")
    after = fine_tunes_client.request("GET", f"models/{quote(model)}")
    return Deletion(finished_fine_tune.created, deleted, after, model)
