"""Run the conformance suite against the reference provider (clean or with faults) and cache reports.

The meta-tests score the reference provider many times; each run goes through the real runner
(in-process pytest, the plugin, report building and schema validation), exactly as the CLI does.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from conformance.core.catalogue import load_catalogue
from conformance.runner import run
from conformance.target import Target

MODELS = {"chat_model": "ref-chat", "completion_model": "ref-instruct", "embedding_model": "ref-embed"}
# The property requirements (schemathesis over spec/openapi.yaml): one run of them costs about a hundred
# requests and a few seconds, and the meta-tests score the reference provider once per fault (~150
# runs), so a fault run includes them only where they are judged: the clean provider, the legal
# variations (which must pass them) and the faults a property requirement lists (see test_meta.py).
PROPERTY = frozenset(r.id for r in load_catalogue().active if "property" in r.tags)
PROPERTY_FAULTS = frozenset(fault for r in load_catalogue().active if r.id in PROPERTY for fault in r.faults)

# The faults of a whole provider that is slow, stalled or hung (reference/faults/timing.py) run with short
# delays and limits, so that each costs seconds: the fault as named in the URL (with its parameters), and
# the run's limits. Every whole run of them -- the fault table, the CLI runs, the hostile tests -- uses these.
TIMING_RUNS: dict[str, tuple[str, dict[str, float]]] = {
    "serial-runaway-max-completion-tokens": (
        "serial-runaway-max-completion-tokens",
        {"timeout": 2.0, "breaker_cooldown": 1.0},
    ),
    # A 3 s limit: at 1 s, a multipart image request re-sent after the stall on a loaded 2-core CI machine
    # sometimes took longer than the limit by itself (IMG-007 TIMEOUT in one run of two).
    "transport-stall": ("transport-stall;after=60;seconds=4", {"timeout": 3.0, "breaker_cooldown": 2.0}),
    "transport-every-post-unanswered": ("transport-every-post-unanswered", {"timeout": 1.0, "breaker_cooldown": 1.0}),
    "transport-every-stream-endless": (
        "transport-every-stream-endless;interval=0.05",
        {"timeout": 1.0, "max_stream_seconds": 2.0, "breaker_cooldown": 1.0},
    ),
}


def _hostile(module: str) -> list[str]:
    from conformance.reference import FAULTS

    return sorted(name for name, fault in FAULTS.items() if fault.apply.__module__.endswith(module))


def _legal(name: str) -> bool:
    from conformance.reference import FAULTS

    return FAULTS[name].legal


# The hostile faults (hangs, trickles, resets, huge bodies): each acts on the one request of its TRANSPORT
# check (reference/faults/transport.py) and is run whole, once, by tests/test_hostile.py, which also holds
# it to its row of the fault table; and the whole providers that are slow, stalled or hung on every request
# (reference/faults/timing.py), run whole through the CLI by tests/test_meta_end_to_end.py (with the
# hostile variations, which are legal and so also judged by the property run).
HOSTILE_ONE_REQUEST = [
    name for name in _hostile(".faults.transport") if name.startswith("transport-") and not _legal(name)
]
WHOLE_PROVIDER = _hostile(".faults.timing")


def fault_spec(fault: str) -> str:
    """The fault as the reference URL names it in the project's runs (a timing fault with its short delays)."""
    return TIMING_RUNS.get(fault, (fault, {}))[0]


def fault_limits(fault: str | None) -> dict[str, float]:
    """The run's limits for a fault (a timing fault's short ones; none for the others)."""
    return dict(TIMING_RUNS.get(fault or "", ("", {}))[1])


def limit_flags(limits: dict[str, float]) -> list[str]:
    """``{"breaker_cooldown": 1.0}`` → ``["--breaker-cooldown", "1"]`` (the CLI's spelling of a limit)."""
    flags = {"max_stream_seconds": "--max-stream-seconds", "breaker_cooldown": "--breaker-cooldown"}
    return [arg for key, value in limits.items() for arg in (flags.get(key, f"--{key}"), f"{value:g}")]


def judges_property(base_url: str) -> bool:
    """Whether a run against this (multiplexed) reference URL should include the property tests."""
    from conformance.reference import FAULTS
    from conformance.reference.server import FAULT_PREFIX

    path = base_url.split("://", 1)[-1].partition("/")[2]
    if not ("/" + path).startswith(FAULT_PREFIX):
        return True
    specs = ("/" + path)[len(FAULT_PREFIX) :].split("/", 1)[0].split("+")
    names = {spec.split(";", 1)[0] for spec in specs}
    return all(FAULTS[name].legal for name in names if name in FAULTS) or bool(PROPERTY_FAULTS & names)


def score(base_url: str, api_key: str, *, property_tests: bool = True, **limits: Any) -> dict[str, Any]:
    """One run, not cached; ``property_tests=False``: every requirement but the property ones."""
    target = Target.build(base_url, api_key=api_key, env={}, name=base_url, **MODELS, **limits)
    only = None if property_tests else [r.id for r in load_catalogue().active if r.id not in PROPERTY]
    return run(target, out_dir=None, only=only).report


def cached_report(
    base_url: str, api_key: str, *, property_tests: bool | None = None, limits: dict[str, float] | None = None
) -> dict[str, Any]:
    """The report of one run, cached. ``property_tests=False`` runs every requirement but the property
    ones; by default they run where they are judged (:func:`judges_property`)."""
    if property_tests is None:
        property_tests = judges_property(base_url)
    return _cached_report(base_url, api_key, property_tests, tuple(sorted((limits or {}).items())))


def fault_report(server: Any, fault: str, api_key: str) -> dict[str, Any]:
    """The report of a whole run against one fault (a timing fault with its short delays and limits)."""
    return cached_report(server.fault_base_url(fault_spec(fault)), api_key, limits=fault_limits(fault))


@cache
def _cached_report(
    base_url: str, api_key: str, property_tests: bool, limits: tuple[tuple[str, float], ...]
) -> dict[str, Any]:
    return score(base_url, api_key, property_tests=property_tests, **dict(limits))


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {row["id"]: row["outcome"] for row in report["results"]}


def failing(report: dict[str, Any]) -> set[str]:
    return {row["id"] for row in report["results"] if row["outcome"] in ("FAIL", "TIMEOUT")}
