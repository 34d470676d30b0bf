"""plan → send → judge: the engine's one loop, and the frozen record of a run."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from conformance.builders import ModelChoice
from conformance.core.catalogue import Catalogue
from conformance.core.results import CheckResult
from conformance.engine.deferral import defer
from conformance.engine.judge import judge
from conformance.engine.registry import CheckDef, all_checks, reads_slow
from conformance.engine.state import RunState
from conformance.target import Target
from conformance.transport.exchange import Redactor


@dataclass(frozen=True)
class RunRecord:
    """What a run found, frozen: every report is a pure function of it."""

    target: Target
    catalogue: Catalogue
    selected: frozenset[str] | None
    results: tuple[CheckResult, ...]
    started: float
    finished: float
    models: Mapping[str, ModelChoice]
    usage: Mapping[str, int]
    redact: Redactor
    aborted: str | None = None
    teardown_errors: tuple[str, ...] = ()
    timings: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(
        cls,
        state: RunState,
        results: list[CheckResult],
        *,
        aborted: str | None = None,
        timings: dict[str, float] | None = None,
    ) -> RunRecord:
        client = state._client
        usage = client.usage.to_dict() if client else {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0}
        return cls(
            target=state.target,
            catalogue=state.catalogue,
            selected=state.selected,
            results=defer(results, state.catalogue),
            started=state.started,
            finished=state.finished or time.time(),
            models=MappingProxyType(state.choices),
            usage=MappingProxyType(usage),
            redact=client.redact if client else Redactor(list(state.target.secrets)),
            aborted=aborted,
            teardown_errors=tuple(state.probes.teardown_errors),
            timings=MappingProxyType(dict(timings or {})),
        )


def select(state: RunState, checks: list[CheckDef] | None = None) -> list[CheckDef]:
    """The checks this run judges, in order: the selection and profile applied, and the checks that
    read a slow probe (the property run, openai-node) last."""
    chosen = [c for c in (checks if checks is not None else all_checks()) if _selected(state, c.requirement)]
    return sorted(chosen, key=reads_slow)


def _selected(state: RunState, requirement_id: str) -> bool:
    return state.selected is None or requirement_id in state.selected


def execute(
    state: RunState,
    checks: list[CheckDef],
    results: list[CheckResult],
    *,
    extra_probes: tuple[str, ...] = (),
    on_result: Callable[[CheckResult], None] | None = None,
    timings: dict[str, float] | None = None,
) -> bool:
    """Send the probes ``checks`` read, then judge each into ``results`` (appended as they come, so an
    interrupted run keeps what it judged). Returns False when the run's time limit stopped it early."""
    state.collected = frozenset(c.requirement for c in checks)
    wanted = [name for c in checks for name in c.argnames]
    sending = time.perf_counter()
    state.probes.send([*wanted, *extra_probes], workers=state.workers())
    judging = time.perf_counter()
    deadline = state.client.run_deadline
    for definition in checks:
        if deadline is not None and time.monotonic() >= deadline:
            return False
        result = judge(state, definition)
        results.append(result)
        if on_result is not None:
            on_result(result)
    if timings is not None:
        timings.update(send_s=judging - sending, judge_s=time.perf_counter() - judging)
    return True
