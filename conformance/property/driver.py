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
(``conformance/checks/property.py``) reports one class.

Cost, for real providers: every request is charged to the run's request budget before it is sent,
and the property run may use at most :data:`BUDGET_SHARE` of it so that later checks keep theirs. The
``model`` of generated bodies is pinned to the model configured for the operation's capability,
``max_tokens`` clamped to the target's and ``n`` to :data:`MAX_N` -- only ever replacing a valid
value by another valid one, so a case stays positive or negative. schemathesis never reuses ids seen
in responses (it would cancel or delete real jobs and files), fine-tune jobs are cancelled before
they train, and uploaded files are deleted again. 429 and 503 answers to hand-built requests are
waited for and sent again by the run's one transport policy, which every request of the property run
goes through (:mod:`conformance.property.wire`); generated requests still answered 429 are not judged.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import TYPE_CHECKING, Any, Final

from conformance.builders import model_ids
from conformance.core.results import Evidence  # noqa: F401 - re-exported for the evidence of findings
from conformance.property.config import hypothesis_home, schemathesis_config
from conformance.property.evidence import (
    case_mode,
    describe,
    interaction_evidence,
    is_network_error,
    json_field,
    judged_elsewhere,
)
from conformance.property.hand_built import Sent, Stop
from conformance.property.judging import Judging
from conformance.property.results import (
    ENVELOPE,
    INVALID_INPUT,
    VALID_5XX,
    PropertyFailure,
    PropertyRun,
    classify,
    envelope_problem,
)
from conformance.property.spec import FILE_FIELDS, claimed, is_multipart, load_spec, operations, shape_body, subset
from conformance.property.wire import through_policy
from conformance.transport.breaker import ANYWHERE
from conformance.transport.limits import BudgetExhausted
from conformance.transport.policy import Share

if TYPE_CHECKING:
    from schemathesis.core.transport import Response as StResponse
    from schemathesis.generation.case import Case

    from conformance.engine import RunState
    from conformance.transport.exchange import Redactor

BUDGET_SHARE: Final = 0.6
_RUN_KEY: Final = "x-oai-conformance-run"


class PropertyDriver(Judging):
    """One property run against one target."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        self.target = state.target
        self.client = state.client
        self.redact: Redactor = state.client.redact
        self.result = PropertyRun()
        self.lock = threading.Lock()
        self.share = Share(0, "")  # the property run's part of the request budget, charged by the policy
        self.models: dict[str, str] = {}
        self.operations: dict[str, dict[str, Any]] = {}  # label -> operation of the description
        self.schema: Any = None
        self.sent: list[Sent] = []
        self.hand_built: set[int] = set()  # ids of hand-built cases: charged, never reshaped
        self.auth_probed: set[str] = set()
        self.uploaded: list[str] = []
        # Hand-built requests in flight at once: half the run's concurrency limit (the rest of the suite
        # sends its probes beside the property run); the policy holds a slot for each.
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

    def _load(self, spec: dict[str, Any], labels: set[str]) -> Any:
        import schemathesis

        selected = subset(spec, labels)
        selected[_RUN_KEY] = id(self)
        config = schemathesis_config(self.target, self.operations, labels)
        schema = schemathesis.openapi.from_dict(selected, config=config)
        shape_files = self._shape_files

        # A map_body hook of this schema only; schemathesis annotates hook functions, which a bound
        # method does not allow.
        def map_body(context: Any, body: Any) -> Any:
            return shape_files(context, body)

        schema.hook(map_body)
        driver = self

        def after_network_error(context: Any, case: Case, request: Any) -> None:
            with driver.lock:
                driver.result.unanswered.append(f"{case.operation.label}: no answer within {driver.target.timeout:g} s")

        schema.hook(after_network_error)
        # Every request of the schema goes through the run's policy (budget and share, breaker, backoff...).
        return through_policy(schema, self.client.policy, self.share)

    # -- hooks ----------------------------------------------------------------------------------------

    def before_call(self, case: Case) -> None:
        """Stop the run when the property run's share (with room for the probes its checks send) is spent or
        the provider went silent everywhere; shape generated JSON bodies (schemathesis' worker thread).
        The policy charges and sends the request."""
        label = case.operation.label
        everywhere = self.client.breaker.dead_for(ANYWHERE)
        if everywhere:
            self.result.blocked = everywhere
            raise Stop(everywhere)
        with self.lock:
            # The first authenticated 2xx of an operation makes ignored_auth send two probes (no key, a
            # wrong key) that pass no hook: keep room for them.
            reserve = 2 if self.target.api_key and label not in self.auth_probed else 0
            if not self.share.room(1 + reserve):
                self.result.budget = self.share.why
                raise Stop(self.result.budget)
        operation = self.operations.get(label, {})
        if id(case) in self.hand_built or not isinstance(case.body, dict) or is_multipart(operation):
            return
        shape_body(case.body, operation.get("x-capability", ""), self.models, self.target.max_tokens)

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
        if not isinstance(body, dict) or not is_multipart(spec):
            return body
        for name, make in FILE_FIELDS.items():
            if isinstance(body.get(name), bytes | str):
                body[name] = Binary(make())
        shape_body(body, spec.get("x-capability", ""), self.models, self.target.max_tokens)
        return body

    # -- the run ----------------------------------------------------------------------------------------

    def run(self) -> PropertyRun:
        started = time.monotonic()
        try:
            self._run()
        except Stop:
            pass
        except Exception as exc:  # a crash of schemathesis or of this module is ours, never the provider's
            self.result.errors.append(self.redact(f"{type(exc).__name__}: {exc}"))
        finally:
            _DRIVERS.pop(id(self), None)
            self._cleanup()
            self.result.duration_s = time.monotonic() - started
            self.result.requests = self.share.spent
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
        allowance = min(remaining, int(self.target.max_requests * BUDGET_SHARE))
        self.share = Share(allowance, f"the property run's share of the request budget ({allowance}) was spent")
        if allowance < len(PROBES) + 2 * len(self.operations):
            self.result.skipped = f"the request budget leaves {max(allowance, 0)} requests for a property run"
            return
        _DRIVERS[id(self)] = self
        self.schema = self._load(spec, set(self.operations))
        declined: set[str] = set()
        try:
            self._happy_paths()
            declined = self._declined()
            self.result.declined = tuple(sorted(declined))
            fuzzed = {label for label, op in self.operations.items() if op.get("x-capability") not in declined}
            # The engine's two capability probes go out on a session of its own, before any hook runs:
            # the one way around the policy, paid up front.
            self.client.count_sent(len(PROBES))
            with self.lock:
                self.share.spent += len(PROBES)
            self._fuzz(self._load(spec, fuzzed))
            self._edge_cases(declined)
        except Stop:
            pass  # the budget is spent: what was answered is still judged below
        with contextlib.suppress(Stop):  # the auth probes of the happy paths may find the budget spent
            self._judge_sent(declined)
        if not self.result.budget:
            # A run cut short proves nothing about the operations it did not reach.
            self._reachability(declined)

    def _fuzz(self, schema: Any) -> None:
        from schemathesis.engine import events, from_schema

        stream = from_schema(schema).execute()
        for event in stream:
            if isinstance(event, events.ScenarioFinished):
                self._scenario(event.recorder)
            elif isinstance(event, events.NonFatalError | events.FatalError):
                error = event.value if isinstance(event, events.NonFatalError) else event.exception
                try:
                    self._refused(error)
                except Stop:
                    stream.stop()
                    continue
                if not is_network_error(error):
                    self.result.errors.append(self.redact(describe(event)))
                # else: the provider's silence, booked by the policy and its breaker
            if self.result.budget or self.client.breaker.dead_for(ANYWHERE):
                stream.stop()

    # -- generated cases -----------------------------------------------------------------------------

    def _scenario(self, recorder: Any) -> None:
        """Judge one operation's generated answers and sort schemathesis' findings into classes."""
        for case_id, interaction in recorder.interactions.items():
            node = recorder.cases.get(case_id)
            if node is None:
                continue
            case, response = node.value, interaction.response
            if node.parent_id is not None:
                # A request a check sent (ignored_auth's probes): it went around our hook (not the policy).
                self.auth_probed.add(case.operation.label)
            if response is None:
                continue
            self.result.judge_answer()
            self._judge(case, response, mode=case_mode(case), kind="generated")
            self._after_answer(case, response)
        for case_id, nodes in recorder.checks.items():
            interaction = recorder.interactions.get(case_id)
            response = interaction.response if interaction is not None else None
            if response is not None and response.status_code == 429:
                continue  # "later" says nothing about the rule a check was testing
            for check in nodes:
                info = check.failure_info
                klass = classify(info.failure.code, info.failure.message) if info is not None else None
                if info is None or klass is None or judged_elsewhere(klass, response):
                    continue
                self.result.add(
                    PropertyFailure(
                        klass=klass,
                        code=info.failure.code,
                        title=self.redact(info.failure.title),
                        message=self.redact(info.failure.message),
                        operation=info.failure.operation or recorder.label,
                        reproduce=self.redact(info.code_sample),
                        evidence=None if interaction is None else interaction_evidence(self.client.policy, interaction),
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
        """Book a file an answer stored (deleted at the end of the run); the policy booked its tokens."""
        if not 200 <= response.status_code < 300:
            return
        if case.operation.label == "POST /files":
            file_id = json_field(response, "id")
            if file_id:
                self.uploaded.append(file_id)

    def _cleanup(self) -> None:
        """Delete files we stored on the provider (the happy path deletes its own; generated uploads too)."""
        for file_id in list(self.uploaded):
            with contextlib.suppress(Exception):
                self.client.request("DELETE", f"files/{file_id}")


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


def run_property_tests(state: RunState) -> PropertyRun:
    """The whole property run against ``state``'s target."""
    _install_hook()
    with hypothesis_home():
        return PropertyDriver(state).run()
