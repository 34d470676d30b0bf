"""Fault runs that re-send only what a fault can change: the meta-tests' engine, in-process.

The clean reference provider is scored once with every request labelled by the probe that sent it
(``x-oai-conformance-trace``, added by the transport policy); the reference app records which fault
*sites* each probe's requests passed through. A fault acts at one site, so for a fault only the
probes whose requests passed its site can answer differently. :func:`scoped_run` re-sends those
(with the probes that sent requests before them, so server-side state such as an uploaded file's id
comes from the faulty app, and the probes that read them), presets every other probe to its clean
value, and re-judges only the checks that read a re-sent probe. The others keep their clean
verdicts: checks are pure functions of their probes. ``tests/fixtures/fault_table.json`` (full runs
of every fault) guards that the scoping is exact.

Every request goes through the one transport policy, which adds the label (openai-python's flows run
in their probe's thread; openai-node's requests are forwarded, and the property run's hand-built
cases sent, under the probe that started them). The property run is judged only for the faults a
property requirement lists (see test_meta.py); the legal variations run it in the whole CLI runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.core.catalogue import load_catalogue
from conformance.core.results import CheckResult, Outcome, requirement_outcome
from conformance.engine import RunState, execute, select
from conformance.engine.deferral import defer
from conformance.engine.registry import PROBES, CheckDef
from conformance.reference import FAULTS, ReferenceServer
from conformance.target import Target
from tests.conftest import TEST_KEY
from tests.suite_runs import MODELS, PROPERTY, PROPERTY_FAULTS

# Sites every request passes (the app's policy, the outermost middleware): a fault there can change
# anything, so its run re-sends everything.
EVERYWHERE = frozenset({"policy", "asgi"})


def new_state(base_url: str, *, only: frozenset[str] | None = None, trace: bool = False) -> RunState:
    target = Target.build(base_url, api_key=TEST_KEY, env={}, name=base_url, **MODELS)
    state = RunState(target=target, catalogue=load_catalogue(), selected=only)
    if trace:
        state.client.policy.label = state.probes.label
    return state


@dataclass
class CleanRun:
    checks: list[CheckDef]
    results: dict[str, CheckResult]  # by check name
    values: dict[str, tuple[Any, BaseException | None]]  # by probe name
    sites: dict[str, frozenset[str]]  # the fault sites each probe's requests passed
    reads: dict[str, frozenset[str]]  # the probes each probe read (arguments and any it asked for)

    def upstream(self, names: set[str]) -> set[str]:
        """The probes ``names`` read, directly or not."""
        seen: set[str] = set()
        pending = [dep for name in names for dep in self.reads.get(name, ())]
        while pending:
            name = pending.pop()
            if name not in seen:
                seen.add(name)
                pending.extend(self.reads.get(name, ()))
        return seen


def clean_run(server: ReferenceServer) -> CleanRun:
    server.clear_traces()
    state = new_state(server.base_url, trace=True)
    checks = select(state)
    results: list[CheckResult] = []
    execute(state, checks, results)
    values = {name: got for name in PROBES if (got := state.probes.result(name)) is not None}
    state.close()
    sites = {name: server.traced_sites(name) for name in values}
    reads = {name: frozenset(state.probes.reads.get(name, ())) for name in values}
    return CleanRun(checks, {r.check: r for r in defer(results, state.catalogue)}, values, sites, reads)


def resent_for(clean: CleanRun, site: str, *, property_tests: bool) -> set[str]:
    """The probes a fault at ``site`` can change, and those that must be re-sent with them."""
    if site in EVERYWHERE:
        changed = set(clean.values)
    else:
        changed = {name for name, sites in clean.sites.items() if site in sites}
    if not property_tests:
        changed.discard("property_run")
    # The requests sent before a changed one (an upload before the read of its id) go to the faulty app
    # too, so that the state on the provider is the faulty app's own.
    changed |= {dep for dep in clean.upstream(changed) if clean.sites.get(dep)}
    # Every probe that reads a changed one, directly or not.
    grew = True
    while grew:
        readers = {n for n in clean.values if n not in changed and clean.reads.get(n, frozenset()) & changed}
        grew = bool(readers)
        changed |= readers
    return changed


def scoped_run(server: ReferenceServer, clean: CleanRun, fault: str) -> dict[str, CheckResult]:
    """The check results for ``fault``: clean ones where the fault cannot reach, re-judged elsewhere."""
    # The legal variations' property verdicts are judged by the whole runs of them through the CLI, a group
    # at a time (test_meta_end_to_end.py): in-process, a property run would cost each variation 5 s more.
    property_tests = fault in PROPERTY_FAULTS
    resent = resent_for(clean, FAULTS[fault].site, property_tests=property_tests)
    only = None if property_tests else frozenset(r.id for r in load_catalogue().active if r.id not in PROPERTY)
    state = new_state(server.fault_base_url(fault), only=only)
    # Probes that send nothing (the target, the client, the models) belong to the new run.
    pure = {n for n in clean.values if not clean.sites.get(n)}
    for name, (value, error) in clean.values.items():
        if name not in resent and name not in pure:
            state.probes.preset(name, value, error)
    checks = [c for c in clean.checks if only is None or c.requirement in only]
    rejudged = [c for c in checks if ({*c.argnames} | clean.upstream({*c.argnames})) & resent]
    results = dict(clean.results)
    fresh: list[CheckResult] = []
    execute(state, rejudged, fresh)
    state.close()
    results.update({r.check: r for r in fresh})
    merged = defer([results[c.name] for c in checks], state.catalogue)
    return {r.check: r for r in merged}


def outcomes(results: dict[str, CheckResult]) -> dict[str, Outcome]:
    by_requirement: dict[str, list[CheckResult]] = {}
    for result in results.values():
        by_requirement.setdefault(result.requirement, []).append(result)
    return {rid: requirement_outcome(found) for rid, found in by_requirement.items()}


def failing(results: dict[str, CheckResult]) -> set[str]:
    return {rid for rid, outcome in outcomes(results).items() if outcome.is_failure}
