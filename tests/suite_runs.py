"""Run the conformance suite against the reference provider (clean or with faults) and cache reports.

The meta-tests score the reference provider many times; each run goes through the real runner
(in-process pytest, the plugin, report building and schema validation), exactly as the CLI does.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from conformance.runner import run
from conformance.target import Target

MODELS = {"chat_model": "ref-chat", "completion_model": "ref-instruct", "embedding_model": "ref-embed"}


def score(base_url: str, api_key: str, **limits: Any) -> dict[str, Any]:
    target = Target.build(base_url, api_key=api_key, env={}, name=base_url, **MODELS, **limits)
    return run(target, out_dir=None).report


@cache
def cached_report(base_url: str, api_key: str) -> dict[str, Any]:
    return score(base_url, api_key)


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {row["id"]: row["outcome"] for row in report["results"]}


def failing(report: dict[str, Any]) -> set[str]:
    return {row["id"] for row in report["results"] if row["outcome"] in ("FAIL", "TIMEOUT")}
