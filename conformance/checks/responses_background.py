"""RESP-BG-001..003: background responses, polled and cancelled (OpenAPI CreateResponse ``background``,
getResponse, cancelResponse: "Only responses created with the background parameter set to true can be
cancelled"; the background guide: cancelling twice is idempotent, later calls return the final response).

A provider may finish a background response before anyone looks: a create or a poll answered with a
finished response is as legal as one still ``queued`` or ``in_progress``, and a cancel that comes too late
may answer the finished response unchanged or refuse with a 4xx. What is judged is what a client reads
either way. A 4xx with the error envelope to ``background: true`` declines the feature (UNSUPPORTED,
capability ``responses_background``).
"""

from __future__ import annotations

from typing import Any, Final

from conformance import expect
from conformance.checks.responses import judge_output
from conformance.core.results import NotApplicable, ProviderTimeout, Unsupported, Violation
from conformance.engine import check
from conformance.probes.responses import Stored
from conformance.probes.responses_background import RUNNING, Cancelled, Polled, status_of
from conformance.transport.exchange import Exchange

POLLED = "RESP-BG-001"
FINISHED: Final = ("completed", "incomplete", "failed", "cancelled")
CANCEL_ANSWERS: Final = ("cancelled", "completed", "incomplete", "failed")


def background_created(exchange: Exchange, *, owner: str | None = None) -> dict[str, Any]:
    """The response object a ``background: true`` create was answered with; a decline is UNSUPPORTED."""
    expect.answered(exchange)
    if expect.declined(exchange):
        raise Unsupported(f"responses_background: the provider declined background: true ({exchange.status} "
                          "with an error envelope)")  # fmt: skip
    if owner is not None and not (exchange.status is not None and 200 <= exchange.status < 300):
        raise NotApplicable(f"the background response was not served (see {owner})", see=owner)
    expect.success(exchange, "POST /responses with background true")
    body = expect.json_object(exchange)
    if not isinstance(body.get("id"), str) or not body["id"] or body.get("status") not in (*RUNNING, *FINISHED):
        raise Violation(
            "A background response is not a response object a client can poll",
            pointer="/",
            expected=f"a string id and a status ({', '.join((*RUNNING, *FINISHED))})",
            actual=f"id {expect.short(body.get('id'))}, status {expect.short(body.get('status'))}",
            evidence=exchange,
        )
    return body


def _poll_answer(poll: Exchange, response_id: str) -> dict[str, Any]:
    expect.answered(poll)
    if not (poll.status is not None and 200 <= poll.status < 300):
        raise Violation(
            "A background response the provider accepted cannot be polled",
            expected=f"200 with the response {response_id!r} (queued, in_progress or finished)",
            actual=f"{poll.status} {poll.reason}; {expect.short(poll.text, 300)}",
            evidence=poll,
        )
    body = expect.json_object(poll)
    if body.get("id") != response_id or body.get("status") not in (*RUNNING, *FINISHED):
        raise Violation(
            "A poll of a background response answers another object",
            pointer="/",
            expected=f"the response {response_id!r} with a documented status",
            actual=f"id {expect.short(body.get('id'))}, status {expect.short(body.get('status'))}",
            evidence=poll,
        )
    return body


@check(POLLED, needs=("responses", "responses_background"))
def test_background_response_polled(responses_background_poll: Polled) -> None:
    polled = responses_background_poll
    body, seen = background_created(polled.created), polled.created
    if body["status"] in RUNNING:
        for poll in polled.polls:
            body, seen = _poll_answer(poll, str(polled.response_id)), poll
    if body["status"] in RUNNING:
        raise ProviderTimeout(
            "A background response did not finish within the time limit",
            expected="a 16-token background response finished (polled) within --timeout, as a request is answered",
            actual=f"still {body['status']!r} after {len(polled.polls)} polls",
            evidence=seen,
        )
    if body["status"] in ("failed", "cancelled"):
        raise Violation(
            f"A background response nobody cancelled ended {body['status']}",
            pointer="/status",
            expected='"completed" (or "incomplete"): the same request is served in the foreground',
            actual=f"status {body['status']!r}, error {expect.short(body.get('error'))}",
            evidence=seen,
        )
    judge_output(body, seen)


def _poll_failed(polled: Polled) -> bool:
    """Whether RESP-BG-001 judged a poll that was not served: it polls only a response still running (one
    that finished at once, as a provider without background may answer, is not read back)."""
    served = all(poll.status is not None and 200 <= poll.status < 300 for poll in polled.polls)
    return status_of(polled.created) in RUNNING and not served


def _cancel_offered(cancel: Cancelled) -> None:
    """UNSUPPORTED when the cancel of a background response was declined: 404, 405 or 501 with the error
    envelope (the provider has no cancel at all)."""
    first = cancel.cancelled
    if first is not None and expect.declined(first, refusable=True):
        raise Unsupported(f"responses_background: the provider does not offer cancel ({first.status} with an "
                          "error envelope)")  # fmt: skip


def _cancel_problem(body: dict[str, Any], response_id: str) -> str | None:
    if body.get("id") != response_id or body.get("object", "response") != "response":
        return "the answer is not the cancelled response object"
    if body.get("status") not in CANCEL_ANSWERS:
        return f"its status is {expect.short(body.get('status'))}, not cancelled (or the status it finished with)"
    return None


@check("RESP-BG-002", needs=("responses", "responses_background"))
def test_background_response_cancelled(
    responses_background_cancel: Cancelled, responses_background_poll: Polled
) -> None:
    cancel = responses_background_cancel
    background_created(cancel.created, owner=POLLED)
    if _poll_failed(responses_background_poll):
        raise NotApplicable(f"a background response could not be read back (see {POLLED})", see=POLLED)
    first, again = cancel.cancelled, cancel.again
    if first is None or again is None or cancel.response_id is None:  # the create was served: both went out
        raise NotApplicable(f"no background response to cancel (see {POLLED})", see=POLLED)
    expect.answered(first)
    if not (first.status is not None and 200 <= first.status < 300):
        _cancel_offered(cancel)
        if first.status is not None and 400 <= first.status < 500:
            raise NotApplicable(f"the cancel was refused ({first.status}): the response may have finished first, "
                                "which the contract allows")  # fmt: skip
        expect.success(first, "POST /responses/{id}/cancel")
    body = expect.json_object(first)
    problem = _cancel_problem(body, cancel.response_id)
    if problem:
        raise Violation(
            f"A cancel of a background response is not answered with it: {problem}",
            pointer="/status",
            expected=f'the response {cancel.response_id!r} with status "cancelled" (or, had it finished, its own)',
            actual=expect.short(body),
            evidence=first,
        )
    expect.answered(again)
    repeated = expect.json_object(again) if again.status == 200 else None
    if repeated is None or repeated.get("id") != body.get("id") or repeated.get("status") != body.get("status"):
        raise Violation(
            "Cancelling a background response again is not idempotent",
            expected=f"200 with the same final response (status {body.get('status')!r}): later cancels return it",
            actual=f"{again.status} {again.reason}; {expect.short(again.text, 300)}",
            evidence=[first, again],
        )


@check("RESP-BG-003", needs=("responses", "responses_store", "responses_background"))
def test_foreground_cancel_refused(responses_stored: Stored, responses_background_cancel: Cancelled) -> None:
    background_created(responses_background_cancel.created, owner=POLLED)
    exchange = responses_stored.foreground_cancel
    if exchange is None:
        raise NotApplicable("responses_background is declared absent: no cancel was sent")
    _cancel_offered(responses_background_cancel)  # a refusal by a provider without cancel proves nothing
    expect.answered(exchange)
    if not (exchange.status is not None and 400 <= exchange.status < 500):
        raise Violation(
            "A response not created in the background was cancelled",
            expected="a 4xx: only a response created with background true can be cancelled",
            actual=f"{exchange.status} {exchange.reason}; {expect.short(exchange.text, 300)}",
            evidence=exchange,
        )
