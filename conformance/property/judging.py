"""How the answers to the hand-built cases are judged: our own checks and schemathesis' answer checks,
the auth probes, and every operation reaching a 2xx (the step of :class:`~conformance.property.hand_run.
HandRun` once the generated cases are done)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from conformance.expect import declines
from conformance.property.evidence import judged_elsewhere
from conformance.property.hand_built import HandBuilt, Sent
from conformance.property.results import AUTH, EDGE_VALUES, REACHABILITY, classify, envelope_problem

if TYPE_CHECKING:
    from schemathesis.core.transport import Response as StResponse
    from schemathesis.generation.case import Case

# The checks that judge one answer on its own, run on every hand-built case. ignored_auth would send
# its probes again (we probe once per operation ourselves); negative_data_rejection needs generation
# metadata a hand-built case does not have; 5xx are judged by our own check.
_ANSWER_CHECKS = (
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)


class Judging(HandBuilt):
    """Judging the hand-built cases' answers."""

    def _judge_sent(self, declined: set[str]) -> None:
        """Our checks and schemathesis' answer checks on every hand-built case, and the auth probes."""
        to_probe: list[Sent] = []
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
                if klass is None or judged_elsewhere(klass, response):
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

    def _judge_auth(self, happy: Sent, sent: list[tuple[str, Sent]]) -> None:
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
            answers = [s.response for s in tried if s.response is not None]
            if len(answers) == len(tried) and all(_not_offered(r) for r in answers):
                continue  # an endpoint the provider does not offer (see _not_offered)
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


def _not_offered(response: StResponse) -> bool:
    """One operation whose every valid request got 404/405/501 with the envelope is an endpoint the
    provider does not offer (the one rule, as MODELS-007 and SDK-PY-001 judge GET /models/{id}); a
    400/422 to valid requests of an operation the provider serves is a refusal of valid input, the
    finding of this requirement (a whole capability refused is left out by ``_declined``)."""
    return declines(response.status_code, not envelope_problem(response.content), refusable=True)
