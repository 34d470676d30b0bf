"""The worker processes of a property run: the zygote, and the workers it forks.

The zygote (:func:`main`, started by :class:`~conformance.property.pool.Workers` as ``python -c`` with a
socket to the run) loads everything once, warms schemathesis and Hypothesis up by fuzzing one operation
with nothing sent, and forks a worker for each set of sockets the run hands it (see
:mod:`conformance.property.protocol`): the hand-built worker (:class:`~conformance.property.hand_run.
HandRun`), and the fuzzing workers, which run schemathesis' engine over one operation at a time
(:class:`OperationFuzz`), every request sent by the run (:mod:`conformance.property.relay`), every answer
judged here into plain findings.

Everything a fuzzing worker needs is loaded before it is forked: the constants of the local modules
loaded when Hypothesis generates are part of what it generates from, so the same set must be loaded for
every operation in every worker (a module loaded later is reported as the run's error). Each operation
gets an engine of its own over a schema of that operation alone, with one engine worker and no probing
phase (the hand-built worker sent the capability probes once, and the run says what they found);
schemathesis derives its seed from the run's seed and the operation's label, so its cases do not depend
on the worker or on what ran before it.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
import threading
import time
from typing import Any

import requests
import schemathesis
from requests.adapters import HTTPAdapter
from schemathesis.engine import events
from schemathesis.engine.core import Engine
from schemathesis.engine.run import Phase, PhaseName, PhaseSkipReason

from conformance.property.evidence import (
    case_mode,
    describe,
    interaction_evidence,
    is_network_error,
    judged_elsewhere,
    with_event_problem,
)
from conformance.property.hand_run import HandRun
from conformance.property.hooks import CaseHooks, hooked, unhooked
from conformance.property.protocol import (
    HAND,
    MAX_WIRES,
    PID,
    Fuzzed,
    HandSetup,
    Judge,
    Setup,
    recv_message,
    send_message,
)
from conformance.property.relay import RelayAdapter
from conformance.property.results import INVALID_INPUT, Fragment, PropertyFailure, classify
from conformance.property.spec import load_spec, officially_valid, operations, subset
from conformance.property.verdicts import Stop
from conformance.target import Target
from conformance.transport.exchange import Redactor

_WATCH_S = 0.5  # how often a worker looks whether its run is still there
_MAX_FDS = 1 + MAX_WIRES  # a worker's control socket and its wires


class OperationFuzz(CaseHooks):
    """The generated cases of one operation at a time, judged like the run judges its own."""

    def __init__(self, setup: Setup, spec: dict[str, Any], adapter: RelayAdapter) -> None:
        self.setup, self.spec, self.adapter = setup, spec, adapter
        self.target = setup.target
        self.redact = Redactor(list(setup.target.secrets))
        self.operations, self.models = setup.operations, setup.models
        self.lock = threading.Lock()
        self.hand_built: set[int] = set()
        self.result: Fragment = Fragment()
        self.auth_probed: set[str] = set()
        self.uploaded: list[str] = []
        hooked(self)

    def _adapter(self) -> RelayAdapter:
        return self.adapter

    def _admit(self, case: Any, reserve: int) -> None:
        self.adapter.admit(reserve)  # the run admits it when it gets the request

    def run(self, label: str) -> Fuzzed:
        self.result, self.auth_probed, self.uploaded = Fragment(), set(), []
        stopped = False
        try:
            schema = self._load(self.spec, {label})
            if self.setup.null_byte_refused:
                schema.adapt_to_null_byte_in_header_failure()
            if self.setup.unsafe_path_refused:
                schema.adapt_to_path_decoder_rejection()
            stopped = self._events(_NoProbes(schema).execute())
        except Stop:
            stopped = True
        except Exception as exc:  # a crash of schemathesis or of this module is ours, never the provider's
            self.result.errors.append(self.redact(f"{label}: {type(exc).__name__}: {exc}"))
        return Fuzzed(label, self.result, label in self.auth_probed, tuple(self.uploaded), stopped)

    def _events(self, stream: Any) -> bool:
        """Judge the engine's events; True when the run stopped it."""
        stopped = False
        for event in stream:
            if isinstance(event, events.ScenarioFinished):
                self._scenario(event.recorder)
            elif isinstance(event, events.NonFatalError | events.FatalError):
                error = event.value if isinstance(event, events.NonFatalError) else event.exception
                try:
                    self._refused(error)
                except Stop:
                    stopped = True
                    stream.stop()
                    continue
                if not is_network_error(error):
                    self.result.errors.append(self.redact(describe(event)))
                # else: the provider's silence, booked by the policy and its breaker
            if self.result.budget:
                stopped = True
                stream.stop()
        return stopped

    def _scenario(self, recorder: Any) -> None:
        """Judge one operation's generated answers and sort schemathesis' findings into classes."""
        legal: set[Any] = set()  # the negative cases the official description calls valid
        for case_id, interaction in recorder.interactions.items():
            node = recorder.cases.get(case_id)
            if node is None:
                continue
            case, response = node.value, interaction.response
            if node.parent_id is not None:
                # A request a check sent (ignored_auth's probes): it passed no hook.
                self.auth_probed.add(case.operation.label)
            if response is None:
                continue
            self.result.judge_answer()
            mode = case_mode(case)
            if mode == "negative" and officially_valid(case.operation.label, case.body):
                mode = "positive"  # invalid only by a tightening of ours: legal to the official description
                legal.add(case_id)
            self._judge(case, response, mode=mode, kind="generated")
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
                if klass == INVALID_INPUT and case_id in legal:
                    continue
                message = with_event_problem(info.failure.message, response)
                self.result.add(
                    PropertyFailure(
                        klass=klass,
                        code=info.failure.code,
                        title=self.redact(info.failure.title),
                        message=self.redact(message),
                        operation=info.failure.operation or recorder.label,
                        reproduce=self.redact(info.code_sample),
                        evidence=(
                            interaction_evidence(self.redact, self.target.api_key, interaction)
                            if interaction is not None
                            else None
                        ),
                    )
                )


class _NoProbes(Engine):
    """schemathesis' engine without its probing phase: the run sends the capability probes once."""

    __slots__ = ()

    def _create_execution_plan(self) -> Any:
        plan = super()._create_execution_plan()
        plan.phases = [
            Phase(name=PhaseName.PROBING, is_enabled=False, skip_reason=PhaseSkipReason.DISABLED)
            if phase.name == PhaseName.PROBING
            else phase
            for phase in plan.phases
        ]
        return plan


def _local_modules() -> frozenset[str]:
    return frozenset(name for name in sys.modules if name == "conformance" or name.startswith("conformance."))


class _Unplugged(RelayAdapter):
    """The warm-up's adapter: no request leaves, every one gets no answer."""

    def __init__(self) -> None:
        HTTPAdapter.__init__(self)
        self._admission = threading.local()

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        raise requests.ConnectionError("warming up: nothing is sent", request=request)


def _warm_up(spec: dict[str, Any]) -> None:
    """Fuzz one operation with nothing sent, so that what schemathesis and Hypothesis load or compute on
    first use (lazy imports, the constants of the local modules) is done once, here, before any fork."""
    label = "POST /chat/completions"
    chosen = {f"{method} {path}": op for path, method, op in operations(spec) if f"{method} {path}" == label}
    target = Target.build("http://127.0.0.1:9/v1", api_key="sk-warm-up", env={}, chat_model="warm-up")
    fuzz = OperationFuzz(Setup(target, chosen, {"chat": "warm-up"}, True, False), spec, _Unplugged())
    try:
        fuzz.run(label)
    finally:
        unhooked(fuzz)


def _watch(parent: int) -> None:
    """End this process when the process that started it is gone (killed, or crashed)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_WATCH_S)
        os._exit(70)

    threading.Thread(target=watch, name="oai-conformance-worker-watch", daemon=True).start()


def main(zygote_fd: int, run_pid: int) -> None:
    """The zygote of the run ``run_pid``: load everything once, then fork a worker for each set of sockets
    the run sends (its pid goes back); it ends, and its workers with it, when the run closes its socket or
    is gone. It starts no thread, so forking it is safe.

    A worker asked for at once (the hand-built one, which generates nothing) is forked before the warm-up,
    so that it starts while the zygote warms up for the fuzzing workers."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the workers
    zygote = socket.socket(fileno=zygote_fd)
    spec = load_spec()
    try:
        while select.select([zygote], [], [], 0)[0] and _fork(zygote, spec, frozenset()):
            pass
        _warm_up(spec)
        loaded = _local_modules()
        while os.getppid() == run_pid:
            if select.select([zygote], [], [], _WATCH_S)[0] and not _fork(zygote, spec, loaded):
                break  # the run closed its end
    except OSError:
        pass
    if os.getpgrp() == os.getpid():  # a session of its own (see Workers): its workers go with it
        os.killpg(0, signal.SIGKILL)
    os._exit(0)


def _fork(zygote: socket.socket, spec: dict[str, Any], loaded: frozenset[str]) -> bool:
    """Fork the worker the run asks for, and tell it the pid (0: refused); False when the run closed its end."""
    role, fds, _, _ = socket.recv_fds(zygote, 16, _MAX_FDS)
    if not role:
        return False
    pid = 0  # refused: no sockets came, or a thread would not survive the fork
    if len(fds) >= 2 and threading.active_count() == 1:
        pid = os.fork()
        if pid == 0:
            zygote.close()
            _worker(role, fds, spec, loaded)
    for fd in fds:
        os.close(fd)
    zygote.sendall(PID.pack(pid))
    return True


def _worker(role: bytes, fds: list[int], spec: dict[str, Any], loaded: frozenset[str]) -> None:
    """A forked worker: its part of the run (fuzzing, or the hand-built cases), until the run says stop."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _watch(os.getppid())
        control, wires = socket.socket(fileno=fds[0]), [socket.socket(fileno=fd) for fd in fds[1:]]
        if role == HAND:
            # Forked before the warm-up: load what reading a schema needs while the run chooses its setup.
            schemathesis.openapi.from_dict(subset(spec, {"GET /models"}))
        setup = recv_message(control)
        if isinstance(setup, HandSetup):
            _hand_built(control, HandRun(setup, RelayAdapter(wires)), spec)
        elif isinstance(setup, Setup):
            _fuzzing(control, OperationFuzz(setup, spec, RelayAdapter(wires)), loaded)
    except (EOFError, OSError):
        pass  # the run closed its end: nothing left to do
    finally:
        # Nothing to clean up (Hypothesis writes its caches atomically); the interpreter's own shutdown
        # would cost the run a second.
        os._exit(0)


def _fuzzing(control: socket.socket, fuzz: OperationFuzz, loaded: frozenset[str]) -> None:
    while (label := recv_message(control)) is not None:
        fuzzed = fuzz.run(label)
        late = sorted(_local_modules() - loaded)
        if late:
            fuzzed.found.errors.append(f"the property worker loaded {', '.join(late)} while fuzzing {label}")
        send_message(control, fuzzed)


def _hand_built(control: socket.socket, hand: HandRun, spec: dict[str, Any]) -> None:
    send_message(control, hand.happy(spec))
    while (message := recv_message(control)) is not None:
        if message == "edges":
            hand.edges()
        elif isinstance(message, Judge):
            send_message(control, hand.finish(message))
