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


def judges_property(base_url: str) -> bool:
    """Whether a run against this (multiplexed) reference URL should include the property tests."""
    from conformance.reference import FAULTS
    from conformance.reference.server import FAULT_PREFIX

    path = base_url.split("://", 1)[-1].partition("/")[2]
    if not ("/" + path).startswith(FAULT_PREFIX):
        return True
    names = ("/" + path)[len(FAULT_PREFIX) :].split("/", 1)[0].split("+")
    return all(FAULTS[name].legal for name in names if name in FAULTS) or bool(PROPERTY_FAULTS & set(names))


def score(base_url: str, api_key: str, **limits: Any) -> dict[str, Any]:
    target = Target.build(base_url, api_key=api_key, env={}, name=base_url, **MODELS, **limits)
    return run(target, out_dir=None).report


def cached_report(base_url: str, api_key: str, *, property_tests: bool | None = None) -> dict[str, Any]:
    """The report of one run, cached. ``property_tests=False`` runs every requirement but the property
    ones; by default they run where they are judged (:func:`judges_property`)."""
    if property_tests is None:
        property_tests = judges_property(base_url)
    return _cached_report(base_url, api_key, property_tests)


@cache
def _cached_report(base_url: str, api_key: str, property_tests: bool) -> dict[str, Any]:
    if property_tests:
        return score(base_url, api_key)
    target = Target.build(base_url, api_key=api_key, env={}, name=base_url, **MODELS)
    only = [r.id for r in load_catalogue().active if r.id not in PROPERTY]
    return run(target, out_dir=None, only=only).report


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {row["id"]: row["outcome"] for row in report["results"]}


def failing(report: dict[str, Any]) -> set[str]:
    return {row["id"] for row in report["results"] if row["outcome"] in ("FAIL", "TIMEOUT")}
