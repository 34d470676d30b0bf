"""Property tests: schemathesis runs ``spec/openapi.yaml`` against the target, once per suite run.

A run has three parts, all sent through schemathesis so that its checks judge every answer:

1. **happy paths** -- one hand-built, valid request per operation (a file is uploaded and fine-tune
   jobs are created so that the file and fine-tune operations have real ids), so that "the operation
   works" never depends on luck, and so that a capability the provider honestly declines (every
   answer a 404 or 501 with the error envelope) is recognised and left out, as the hand-written
   checks report it UNSUPPORTED;
2. **generated cases** -- the schemathesis engine (the one its CLI drives) fuzzes every remaining
   operation with a fixed seed and a few examples each, positive and negative, with the built-in
   checks on except :data:`DISABLED_CHECKS`: an engine per operation, in worker processes side by
   side (:mod:`conformance.property.pool`, :mod:`conformance.property.worker`), every request sent
   by this run's policy (:mod:`conformance.property.relay`), the findings taken in the order of the
   operations;
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
A spent share or a provider gone silent stops every worker.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import TYPE_CHECKING, Any, Final

from conformance.builders import model_ids
from conformance.core.results import Evidence  # noqa: F401 - re-exported for the evidence of findings
from conformance.property.config import hypothesis_storage
from conformance.property.hand_built import Sent
from conformance.property.hooks import hooked, unhooked
from conformance.property.judging import Judging
from conformance.property.pool import Workers
from conformance.property.protocol import Setup
from conformance.property.results import PropertyRun
from conformance.property.spec import claimed, load_spec, operations
from conformance.property.verdicts import Stop
from conformance.property.wire import PolicyAdapter
from conformance.transport.limits import BudgetExhausted, CircuitBreaker
from conformance.transport.policy import Share

if TYPE_CHECKING:
    from schemathesis.generation.case import Case

    from conformance.engine import RunState
    from conformance.transport.exchange import Redactor

BUDGET_SHARE: Final = 0.6
# About what a worker spends generating, sending and judging one request of its engine (CPU, 2 cores):
# with answers this slow, a second worker keeps a core busy while the first waits.
GENERATION_S: Final = 0.02


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
        # Hand-built requests in flight at once: the run's concurrency limit but one slot, left for the
        # probes the rest of the suite sends beside; the policy holds a slot for each.
        self.workers = max(1, self.target.concurrency - 1)
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

    # -- admission ---------------------------------------------------------------------------------------

    def _adapter(self) -> PolicyAdapter:
        return PolicyAdapter(self.client.policy, self.share)

    def _admit(self, case: Case, reserve: int) -> None:
        stopped = self._admission(case.method, self.client.url(case.formatted_path.lstrip("/")), reserve)
        if stopped is not None:
            raise Stop(stopped)

    def _admission(self, method: str, url: str, reserve: int) -> str | None:
        """Why the run stops instead of sending a case (its share, with room for ``reserve`` requests its
        checks send after it, is spent; the provider went silent everywhere), or None to send it."""
        everywhere = self.client.breaker.blocked(CircuitBreaker.ANYWHERE)
        if everywhere:
            self.result.blocked = everywhere
            self.client.breaker_blocks(method, url)
            return everywhere
        with self.lock:
            if not self.share.room(1 + reserve):
                self.result.budget = self.share.why
                return self.result.budget
        return None

    def _stopped(self) -> bool:
        return bool(self.result.budget or self.client.breaker.blocked(CircuitBreaker.ANYWHERE))

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
            unhooked(self)
            self._cleanup()
            self.result.duration_s = time.monotonic() - started
            self.result.requests = self.share.spent
        return self.result

    def _run(self) -> None:
        # The workers' zygote starts first: it loads schemathesis while this run chooses its operations
        # and sends its hand-built cases.
        workers = Workers(self.client.policy, self._admission, hypothesis_storage())
        try:
            self._run_with(workers)
        finally:
            workers.close()

    def _run_with(self, workers: Workers) -> None:
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
        hooked(self)
        declined: set[str] = set()
        try:
            self.schema = self._load(spec, set(self.operations))
            self._happy_paths()
            declined = self._declined()
            self.result.declined = tuple(sorted(declined))
            fuzzed = [label for label, op in self.operations.items() if op.get("x-capability") not in declined]
            null_byte, unsafe_path = self._engine_probes()
            chosen = {label: self.operations[label] for label in fuzzed}
            setup = Setup(self.target, chosen, self.models, null_byte, unsafe_path)
            # The edge values go out beside the generated cases: neither depends on the other.
            self._beside(lambda: self._fuzz(workers, setup, fuzzed), lambda: self._edge_cases(declined))
        except Stop:
            pass  # the budget is spent: what was answered is still judged below
        with contextlib.suppress(Stop):  # the auth probes of the happy paths may find the budget spent
            self._judge_sent(declined)
        if not self.result.budget:
            # A run cut short proves nothing about the operations it did not reach.
            self._reachability(declined)

    def _engine_probes(self) -> tuple[bool, bool]:
        """Send schemathesis' two capability probes once (its engine's probing phase): whether the provider
        refuses a NUL byte in a header, and unsafe characters in a path. They go out on a session of their
        own, around the policy, paid up front and in a slot of the concurrency limit."""
        from schemathesis.engine.context import EngineContext
        from schemathesis.engine.run import probes

        self.client.count_sent(len(probes.PROBES))
        with self.lock:
            self.share.spent += len(probes.PROBES)
        context = EngineContext(schema=self.schema, stop_event=threading.Event())
        with self.client.policy.slots():
            found = probes.run(context)
        refused = {type(run.probe) for run in found if run.is_failure}
        return probes.NullByteInHeader in refused, probes.UnsafePathDecoder in refused

    def _fuzz(self, workers: Workers, setup: Setup, labels: list[str]) -> None:
        """The generated cases of every operation in ``labels``, by the workers; taken in that order."""
        for fuzzed in workers.fuzz(setup, labels, self._stopped, count=self._fuzzers(), share=self.share):
            self.result.absorb(fuzzed.found)
            if fuzzed.auth_probed:
                self.auth_probed.add(fuzzed.label)
            self.uploaded.extend(fuzzed.uploaded)
        if self.result.budget:
            raise Stop(self.result.budget)

    def _fuzzers(self) -> int:
        """How many workers fuzz side by side: one while generating cases keeps a worker busy, more the
        longer the provider takes to answer (the fastest hand-built answer tells), within the run's
        concurrency limit but one slot, left for the probes the rest of the suite sends beside. The
        cases are the same however many there are."""
        elapsed = [sent.response.elapsed for sent in self.sent if sent.response is not None]
        latency = min(elapsed, default=0.0)
        return max(1, min(self.target.concurrency - 1, round(1 + latency / GENERATION_S)))

    def _cleanup(self) -> None:
        """Delete files we stored on the provider (the happy path deletes its own; generated uploads too),
        side by side."""

        def delete(file_id: str) -> None:
            with contextlib.suppress(Exception):
                self.client.request("DELETE", f"files/{file_id}")

        with contextlib.suppress(Exception):
            self._in_parallel([lambda file_id=file_id: delete(file_id) for file_id in self.uploaded])


def run_property_tests(state: RunState) -> PropertyRun:
    """The whole property run against ``state``'s target."""
    return PropertyDriver(state).run()
