"""The hand-built part of a property run, in the run's hand-built worker process (forked from the same
zygote as the fuzzing workers, so the run's own process never loads schemathesis or Hypothesis).

It sends and judges what a sequential run did, in the same steps, each on the run's word
(:mod:`conformance.property.protocol`): the happy paths and schemathesis' two capability probes
(:meth:`HandRun.happy`), the edge values (:meth:`HandRun.edges`, beside the generated cases), then, with
what the generated cases found, the judging of every hand-built answer, the auth probes and
reachability (:meth:`HandRun.finish`). Its requests go to the run through the relay, several at once.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from conformance.property.hand_built import Sent
from conformance.property.hooks import hooked
from conformance.property.judging import Judging
from conformance.property.protocol import HandDone, HandReady, HandSetup, Judge
from conformance.property.relay import RelayAdapter
from conformance.property.results import Fragment
from conformance.property.verdicts import Stop
from conformance.transport.exchange import Redactor


class HandRun(Judging):
    """The hand-built cases of one run."""

    def __init__(self, setup: HandSetup, adapter: RelayAdapter) -> None:
        self.target = setup.target
        self.redact = Redactor(list(setup.target.secrets))
        self.operations, self.models = setup.operations, setup.models
        self.workers = setup.threads
        self.adapter = adapter
        self.result = Fragment()
        self.lock = threading.Lock()
        self.schema: Any = None
        self.sent: list[Sent] = []
        self.hand_built: set[int] = set()  # ids of hand-built cases: charged, never reshaped
        self.auth_probed: set[str] = set()
        self.uploaded: list[str] = []
        self.declined: set[str] = set()
        self._local = threading.local()  # the hand-built cases of the task a thread runs
        self._edges_sent: set[str] = set()
        self._probes: tuple[int, bool, bool] = (0, False, False)  # sent, NUL byte refused, unsafe path refused
        hooked(self)

    def _adapter(self) -> RelayAdapter:
        return self.adapter

    def _admit(self, case: Any, reserve: int) -> None:
        self.adapter.admit(reserve)  # the run admits the case when it gets the request

    def happy(self, spec: dict[str, Any]) -> HandReady:
        """The happy paths and the engine's capability probes; which capabilities are declined."""
        stopped = False
        try:
            self.schema = self._load(spec, set(self.operations))
            self._happy_paths(self._engine_probes)
            self.declined = self._declined()
        except Stop:
            stopped = True  # a budget is spent: what was answered is still judged at the end
        except Exception as exc:  # a crash of schemathesis or of this module is ours, never the provider's
            self.result.errors.append(self.redact(f"{type(exc).__name__}: {exc}"))
            stopped = True
        found, self.result = self.result, Fragment()
        elapsed = [sent.response.elapsed for sent in self.sent if sent.response is not None]
        sent, null_byte, unsafe_path = self._probes
        return HandReady(
            found=found,
            declined=tuple(sorted(self.declined)),
            stopped=stopped,
            engine_probes=sent,
            null_byte_refused=null_byte,
            unsafe_path_refused=unsafe_path,
            fastest_s=min(elapsed, default=0.0),
        )

    def _engine_probes(self) -> None:
        """schemathesis' two capability probes (its engine's probing phase, which the fuzzing workers skip):
        whether the provider refuses a NUL byte in a header, and unsafe characters in a path. They go out
        on a session of their own, around the policy, in a slot of the concurrency limit; the run charges
        them."""
        from schemathesis.engine.context import EngineContext
        from schemathesis.engine.run import probes

        with self.adapter.slot():
            found = probes.run(EngineContext(schema=self.schema, stop_event=threading.Event()))
        refused = {type(run.probe) for run in found if run.is_failure}
        self._probes = (len(found), probes.NullByteInHeader in refused, probes.UnsafePathDecoder in refused)

    def edges(self) -> None:
        with contextlib.suppress(Stop):
            self._edge_cases(self.declined)

    def finish(self, judge: Judge) -> HandDone:
        """Judge every hand-built answer (sending the auth probes the generated cases did not) and every
        operation's reachability, knowing what the generated cases found."""
        self.auth_probed |= judge.auth_probed
        self.result.reached |= judge.reached
        self.result.budget = self.result.budget or judge.budget
        self.result.blocked = self.result.blocked or judge.blocked
        try:
            with contextlib.suppress(Stop):  # the auth probes may find the budget spent
                self._judge_sent(self.declined)
            if not self.result.budget:
                # A run cut short proves nothing about the operations it did not reach.
                self._reachability(self.declined)
        except Exception as exc:  # ours, never the provider's
            self.result.errors.append(self.redact(f"{type(exc).__name__}: {exc}"))
        return HandDone(self.result, tuple(self.uploaded), self.result.edge_cases)
