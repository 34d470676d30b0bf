"""The two adapters over the engine agree: ``pytest --pyargs conformance`` gives every requirement the
outcome ``oai-conformance run`` gives it, on the same target (clean, and with a fault)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.reference import ReferenceServer
from tests.conftest import TEST_KEY
from tests.suite_runs import cached_report, outcomes

MODELS = ["--oai-chat-model=ref-chat", "--oai-completion-model=ref-instruct", "--oai-embedding-model=ref-embed"]


@pytest.fixture(autouse=True)
def _no_sdk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.mark.parametrize("fault", [None, "stream-no-done"])
def test_pytest_and_the_cli_give_the_same_outcomes(
    pytester: pytest.Pytester, reference_server: ReferenceServer, tmp_path: Path, fault: str | None
) -> None:
    url = reference_server.base_url if fault is None else reference_server.fault_base_url(fault)
    path = tmp_path / "report.json"
    result = pytester.runpytest(
        "--pyargs", "conformance", "--oai-base-url", url, "--oai-api-key", TEST_KEY, *MODELS,
        "-p", "no:cacheprovider", "--oai-report", str(path),
    )  # fmt: skip
    via_pytest = outcomes(json.loads(path.read_text(encoding="utf-8")))
    via_cli = outcomes(cached_report(url, TEST_KEY, property_tests=True))
    assert via_pytest == via_cli
    counts = result.parseoutcomes()
    failing = sum(1 for outcome in via_cli.values() if outcome in ("FAIL", "TIMEOUT"))
    assert (counts.get("failed", 0) > 0) == (failing > 0)
