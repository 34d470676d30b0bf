"""Property tests: schemathesis runs ``spec/openapi.yaml`` against the target, once per suite run.

A run has three parts, all sent through schemathesis so that its checks judge every answer, all in
worker processes forked from one zygote (:mod:`conformance.property.pool`), every request of theirs sent
by this run's one transport policy (:mod:`conformance.property.relay`): this process orchestrates and
never loads schemathesis or Hypothesis itself.

1. **happy paths** -- one hand-built, valid request per operation (a file is uploaded and fine-tune
   jobs are created so that the file and fine-tune operations have real ids), so that "the operation
   works" never depends on luck, and so that a capability the provider honestly declines (every
   answer a 404 or 501 with the error envelope) is recognised and left out, as the hand-written
   checks report it UNSUPPORTED (:mod:`conformance.property.hand_run`, in the hand-built worker);
2. **generated cases** -- the schemathesis engine (the one its CLI drives) fuzzes every remaining
   operation with a fixed seed and a few examples each, positive and negative, with the built-in
   checks on except :data:`DISABLED_CHECKS`: an engine per operation (:mod:`conformance.property.worker`),
   several workers side by side, the findings taken in the order of the operations;
3. **edge values** -- the documented limits (:data:`EDGE_CASES`: ``max_tokens`` -1 and 0, ``n`` 0,
   ``logprobs`` 6, image ``n`` 11, an unknown image size), which random generation essentially never
   hits (shared/research/schemathesis.md §3.4, bug C); they go out beside the generated cases.

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
goes through; generated requests still answered 429 are not judged. A spent share or a provider gone
silent stops every worker.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

from conformance.builders import model_ids
from conformance.core.results import Evidence  # noqa: F401 - re-exported for the evidence of findings
from conformance.property.config import ENGINE_PROBES, hypothesis_storage
from conformance.property.pool import WorkerLost, Workers
from conformance.property.protocol import HandReady, HandSetup, Judge, Setup
from conformance.property.results import PropertyRun
from conformance.property.spec import claimed, load_spec, operations
from conformance.transport.breaker import ANYWHERE
from conformance.transport.limits import BudgetExhausted
from conformance.transport.policy import Share

if TYPE_CHECKING:
    from conformance.engine import RunState
    from conformance.transport.exchange import Redactor

BUDGET_SHARE: Final = 0.6
#: The model an operation's capability needs, where it is another capability's (stored responses: responses).
_MODEL_OF: Final = {"responses_store": "responses", "responses_background": "responses"}
# About what a worker spends generating, sending and judging one request of its engine (CPU, 2 cores):
# with answers this slow, a second worker per core keeps it busy while the first waits.
GENERATION_S: Final = 0.02


class PropertyDriver:
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
        self.auth_probed: set[str] = set()
        self.uploaded: list[str] = []
        # Requests in flight at once (hand-built ones, and the most fuzzing workers): the run's concurrency
        # limit. The rest of the suite sends its probes beside in the same slots; the property run is the
        # longest part of a run, so it waits for none of them.
        self.workers = max(1, self.target.concurrency)

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
        if "responses" in capabilities:
            # The Responses API is served by the chat model.
            model = self.target.models.get("chat")
            if model is None:
                with contextlib.suppress(BudgetExhausted):
                    model = self.state.model_choice("chat").model
            if model:
                self.models["responses"] = model
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
            needs_model = capability in ("chat", "completions", "embeddings", "responses", *_MODEL_OF)
            if needs_model and _MODEL_OF.get(capability, capability) not in self.models:
                # No model for it: the hand-written checks report that SKIP or UNSUPPORTED.
                del self.operations[label]

    # -- admission ---------------------------------------------------------------------------------------

    def _admission(self, method: str, url: str, reserve: int) -> str | None:
        """Why the run stops instead of sending a case (its share, with room for ``reserve`` requests its
        checks send after it, is spent; the provider went silent everywhere), or None to send it."""
        everywhere = self.client.breaker.dead_for(ANYWHERE)
        if everywhere:
            self.result.blocked = everywhere
            return everywhere
        with self.lock:
            if not self.share.room(1 + reserve):
                self.result.budget = self.share.why
                return self.result.budget
        return None

    def _stopped(self) -> bool:
        return bool(self.result.budget or self.client.breaker.dead_for(ANYWHERE))

    # -- the run ----------------------------------------------------------------------------------------

    def run(self) -> PropertyRun:
        started = time.monotonic()
        try:
            self._run()
        except Exception as exc:  # a crash of this module is ours, never the provider's
            self.result.errors.append(self.redact(f"{type(exc).__name__}: {exc}"))
        finally:
            self._cleanup()
            self.result.duration_s = time.monotonic() - started
            self.result.requests = self.share.spent
        return self.result

    def _run(self) -> None:
        # The workers' zygote starts first: it loads schemathesis while this run chooses its operations. The
        # hand-built worker has a wire per thread, and one for schemathesis' probes (they hold a slot).
        workers = Workers(self.client.policy, self._admission, hypothesis_storage(), hand_wires=self.workers + 1)
        try:
            self._run_with(workers)
        finally:
            workers.close()

    def _run_with(self, workers: Workers) -> None:
        spec = load_spec()
        self._select(spec)
        self.result.operations = tuple(self.operations)
        if not self.operations:
            self.result.skipped = "no claimed operation can be exercised (none claimed, or no model for them)"
            return
        remaining = self.target.max_requests - self.client.usage.requests
        allowance = min(remaining, int(self.target.max_requests * BUDGET_SHARE))
        self.share = Share(allowance, f"the property run's share of the request budget ({allowance}) was spent")
        if allowance < ENGINE_PROBES + 2 * len(self.operations):
            self.result.skipped = f"the request budget leaves {max(allowance, 0)} requests for a property run"
            return
        hand_setup = HandSetup(self.target, self.operations, self.models, self.workers)
        try:
            hand = workers.hand(hand_setup, self.share)
            ready = self._happy(hand.happy())
            if not ready.stopped and not self.result.budget:
                # The edge values go out beside the generated cases (neither depends on the other), or
                # after them when the run sends one request at a time.
                beside = self.workers > 1
                if beside:
                    hand.edges()
                self._fuzz(workers, ready)
                if not beside and not self.result.budget:
                    hand.edges()
            judge = Judge(
                frozenset(self.auth_probed), frozenset(self.result.reached), self.result.budget, self.result.blocked
            )
            done = hand.finish(judge)
        except WorkerLost as lost:
            self.result.errors.append(self.redact(str(lost)))
            return
        self.result.absorb(done.found)
        self.result.edge_cases = done.edge_cases
        self.uploaded.extend(done.uploaded)

    def _happy(self, ready: HandReady) -> HandReady:
        self.result.absorb(ready.found)
        self.result.declined = ready.declined
        # schemathesis' capability probes went around the policy (a session of their own): charged now.
        self.client.count_sent(ready.engine_probes)
        with self.lock:
            self.share.spent += ready.engine_probes
        return ready

    def _fuzz(self, workers: Workers, ready: HandReady) -> None:
        """The generated cases of every operation of a capability not declined, by as many workers as the
        provider's speed calls for; taken in the order of the operations."""
        labels = [label for label, op in self.operations.items() if op.get("x-capability") not in ready.declined]
        chosen = {label: self.operations[label] for label in labels}
        setup = Setup(self.target, chosen, self.models, ready.null_byte_refused, ready.unsafe_path_refused)
        count = self._fuzzers(ready.fastest_s)
        for fuzzed in workers.fuzz(setup, labels, self._stopped, count=count, share=self.share):
            self.result.absorb(fuzzed.found)
            if fuzzed.auth_probed:
                self.auth_probed.add(fuzzed.label)
            self.uploaded.extend(fuzzed.uploaded)

    def _fuzzers(self, latency: float) -> int:
        """How many workers fuzz side by side: one per core while generating cases keeps them busy, more
        the longer the provider takes to answer (``latency``: its quickest answer to a happy path), within
        :attr:`workers`. The cases are the same however many there are."""
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        return max(1, min(self.workers, max(cores, round(1 + latency / GENERATION_S))))

    def _cleanup(self) -> None:
        """Delete files we stored on the provider (the happy path deletes its own; generated uploads too),
        side by side."""
        policy = self.client.policy
        label = policy.current_label()  # sent for the property run's probe

        def delete(file_id: str) -> None:
            with contextlib.suppress(Exception), policy.labelled(label):
                self.client.request("DELETE", f"files/{file_id}")

        with ThreadPoolExecutor(self.workers, thread_name_prefix="oai-conformance-property-cleanup") as pool:
            list(pool.map(delete, self.uploaded))


def run_property_tests(state: RunState) -> PropertyRun:
    """The whole property run against ``state``'s target."""
    return PropertyDriver(state).run()
