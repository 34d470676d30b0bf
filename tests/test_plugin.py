"""The suite as a pytest plugin: ``pytest --pyargs conformance --oai-base-url URL ...`` via pytester."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.reference import ReferenceServer
from conformance.report.json_report import validate_report
from tests.conftest import TEST_KEY

MODELS = ["--oai-chat-model=ref-chat", "--oai-completion-model=ref-instruct", "--oai-embedding-model=ref-embed"]


@pytest.fixture(autouse=True)
def _no_sdk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


# One requirement or more per capability (streams, auth and errors included): a whole-catalogue run is the
# meta-tests' job (tests/test_meta.py); here each run only needs to exercise the path being tested.
SAMPLE = "MODELS-001,CHAT-002,CHAT-STREAM-003,CMPL-001,EMB-001,AUTH-001,AUTH-002,ERR-001"


def run_suite(pytester: pytest.Pytester, base_url: str, *extra: str) -> pytest.RunResult:
    return pytester.runpytest(
        "--pyargs",
        "conformance",
        "--oai-base-url",
        base_url,
        "--oai-api-key",
        TEST_KEY,
        *MODELS,
        "-p",
        "no:cacheprovider",
        *extra,
    )


def read_report(path: Path) -> dict[str, Any]:
    report = json.loads(path.read_text(encoding="utf-8"))
    validate_report(report)
    return report


def test_clean_provider_passes_and_writes_a_valid_report(
    pytester: pytest.Pytester, reference_server: ReferenceServer, tmp_path: Path
) -> None:
    path = tmp_path / "out" / "report.json"
    result = run_suite(pytester, reference_server.base_url, "--oai-requirements", SAMPLE, "--oai-report", str(path))
    assert result.ret == pytest.ExitCode.OK
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) > 0
    assert "failed" not in outcomes
    assert "errors" not in outcomes
    report = read_report(path)
    assert {row["id"]: row["outcome"] for row in report["results"]} == dict.fromkeys(SAMPLE.split(","), "PASS")
    assert report["summary"]["verdicts"]["client_compatible"] is True


def test_fault_fails_in_pytest_and_in_the_report(
    pytester: pytest.Pytester, reference_server: ReferenceServer, tmp_path: Path
) -> None:
    path = tmp_path / "report.json"
    selection = "CHAT-STREAM-001,CHAT-STREAM-003,ERR-001"
    url = reference_server.fault_base_url("stream-no-done")
    result = run_suite(pytester, url, "--oai-requirements", selection, "--oai-report", str(path))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert result.parseoutcomes().get("failed", 0) >= 1
    result.stdout.fnmatch_lines(["*FAILED *::test_*"])
    report = read_report(path)
    assert next(row for row in report["results"] if row["id"] == "CHAT-STREAM-003")["outcome"] == "FAIL"


def test_oai_requirements_selects_checks(
    pytester: pytest.Pytester, reference_server: ReferenceServer, tmp_path: Path
) -> None:
    path = tmp_path / "report.json"
    result = run_suite(
        pytester, reference_server.base_url, "--oai-requirements", "ERR-001,MODELS-006", "--oai-report", str(path)
    )
    assert result.ret == pytest.ExitCode.OK
    assert sorted(row["id"] for row in read_report(path)["results"]) == ["ERR-001", "MODELS-006"]


def test_key_never_appears_in_pytest_output(pytester: pytest.Pytester, reference_server: ReferenceServer) -> None:
    # A failing check with the longest tracebacks pytest can print: every local's full repr.
    result = run_suite(
        pytester,
        reference_server.fault_base_url("stream-no-done"),
        "--oai-requirements",
        "CHAT-STREAM-003",
        "-vv",
        "-l",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = "\n".join(result.outlines + result.errlines)
    assert "CHAT-STREAM" in output or "stream" in output
    assert TEST_KEY not in output


def test_without_a_base_url_the_suite_says_to_pass_one(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--pyargs", "conformance", "-p", "no:cacheprovider", "-x")
    assert result.ret != pytest.ExitCode.OK
    assert "--oai-base-url" in result.stdout.str() + result.stderr.str()


# -- a user's own checks: every probe is a session fixture ------------------------------------------------------

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "test_my_gateway.py"


def run_example(pytester: pytest.Pytester, base_url: str) -> pytest.RunResult:
    """examples/test_my_gateway.py as its docstring says to run it: no ``-p``, the plugin autoloads."""
    (pytester.path / EXAMPLE.name).write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    return pytester.runpytest(
        EXAMPLE.name, "--oai-base-url", base_url, "--oai-api-key", TEST_KEY, "--oai-chat-model=ref-chat",
        "-p", "no:cacheprovider", "-v",
    )  # fmt: skip


def test_the_users_own_checks_read_probes_and_pass_on_the_reference_provider(
    pytester: pytest.Pytester, reference_server: ReferenceServer
) -> None:
    result = run_example(pytester, reference_server.base_url)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.assert_outcomes(passed=2)  # the example's own tests only: no check of the suite was collected
    result.stdout.fnmatch_lines(["*test_gateway_sets_a_request_id PASSED*", "*test_the_chat_model_is_listed PASSED*"])


def test_the_users_own_checks_see_what_the_provider_really_answers(
    pytester: pytest.Pytester, reference_server: ReferenceServer
) -> None:
    # GET /models answers a bare array: the user's listing test fails, the request-id test still passes.
    result = run_example(pytester, reference_server.fault_base_url("models-bare-array"))
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_the_chat_model_is_listed FAILED*"])
