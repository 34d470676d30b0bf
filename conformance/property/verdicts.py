"""Our own rules on one answer of a property run -- reachability, the error envelope, no 5xx for a client's
mistake, the documented edge values -- and what a refusal of the transport policy means for the run.

Both sides of a run judge with them: the run itself (:class:`~conformance.property.driver.PropertyDriver`,
the hand-built cases) and its worker processes (:mod:`conformance.property.worker`, the generated cases).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conformance.property.evidence import caused_by, finding, json_field
from conformance.property.results import (
    EDGE_VALUES,
    ENVELOPE,
    INVALID_INPUT,
    VALID_5XX,
    PropertyFailure,
    PropertyRun,
    envelope_problem,
)
from conformance.transport.limits import BudgetExhausted
from conformance.transport.policy import NotSent

if TYPE_CHECKING:
    from schemathesis.core.transport import Response as StResponse
    from schemathesis.generation.case import Case

    from conformance.target import Target
    from conformance.transport.exchange import Redactor


class Stop(Exception):
    """Raised to end the run: a budget is spent, or the provider stopped answering."""


class Verdicts:
    """Judging answers into :attr:`result`; the run and its workers provide the state below."""

    target: Target
    redact: Redactor
    result: PropertyRun
    uploaded: list[str]

    def _refused(self, exc: BaseException) -> None:
        """Note why the policy sent nothing or stopped: a spent budget ends the run (raises Stop); an open
        circuit breaker is the provider's silence."""
        if caused_by(exc, Stop):
            raise Stop(self.result.budget or self.result.blocked or "stopped") from None
        for link in _chain(exc):
            if isinstance(link, BudgetExhausted):
                self.result.budget = self.result.budget or str(link)
                raise Stop(self.result.budget) from None
            if isinstance(link, NotSent):
                self.result.blocked = str(link).removeprefix("not sent: circuit breaker open for ")

    def _auth(self, key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"} if key else {}

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

    def _after_answer(self, case: Case, response: StResponse) -> None:
        """Book a file an answer stored (deleted at the end of the run); the policy booked its tokens."""
        if not 200 <= response.status_code < 300:
            return
        if case.operation.label == "POST /files":
            file_id = json_field(response, "id")
            if file_id:
                self.uploaded.append(file_id)

    def _finding(
        self, klass: str, code: str, title: str, message: str, case: Case, response: StResponse | None = None
    ) -> PropertyFailure:
        return finding(self.redact, self.target.api_key, klass, code, title, message, case, response)


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(found) < 10 and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found
