"""``oai-conformance`` in-process: exit codes, report.json, selection, the embedded provider, listings."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest

import conformance.reference
from conformance.cli import main
from conformance.core.catalogue import load_catalogue
from conformance.reference import FAULTS, ReferenceServer
from conformance.report.json_report import validate_report
from tests.conftest import TEST_KEY

MODELS = ["--chat-model", "ref-chat", "--completion-model", "ref-instruct", "--embedding-model", "ref-embed"]
CATALOGUE = load_catalogue()
# One requirement or more per capability (streams, auth and errors included): a whole-catalogue run is the
# meta-tests' job (tests/test_meta.py); here each run only needs to exercise the path being tested.
SAMPLE = "MODELS-001,CHAT-002,CHAT-STREAM-003,CMPL-001,EMB-001,AUTH-001,AUTH-002,ERR-001"
ID_PATTERN = re.compile(r"\b[A-Z]+(?:-[A-Z]+)*-\d{3}\b")


@pytest.fixture(autouse=True)
def _no_sdk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own OPENAI_* settings must not change what the CLI targets."""
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def run_cli(base_url: str, out: Path, *extra: str) -> int:
    return main(["run", "--base-url", base_url, "--api-key", TEST_KEY, *MODELS, "--out", str(out), *extra])


def read_report(out: Path) -> dict[str, Any]:
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    validate_report(report)
    return report


def outcome_of(report: dict[str, Any], requirement: str) -> str:
    return next(row["outcome"] for row in report["results"] if row["id"] == requirement)


@pytest.fixture
def free_port() -> int:
    """A 127.0.0.1 port with nothing listening on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def started_servers(monkeypatch: pytest.MonkeyPatch) -> list[ReferenceServer]:
    """Every reference server the CLI starts (to read its key and check it was stopped)."""
    started: list[ReferenceServer] = []

    class Spy(ReferenceServer):
        def start(self) -> ReferenceServer:
            started.append(self)
            return super().start()

    monkeypatch.setattr(conformance.reference, "ReferenceServer", Spy)
    return started


# -- exit codes ------------------------------------------------------------------------------------


def test_clean_provider_exits_0_with_a_valid_report(reference_server: ReferenceServer, tmp_path: Path) -> None:
    assert run_cli(reference_server.base_url, tmp_path, "--quiet", "--requirements", SAMPLE) == 0
    report = read_report(tmp_path)
    assert report["summary"]["verdicts"]["client_compatible"] is True
    assert {row["outcome"] for row in report["results"]} == {"PASS"}
    assert report["run"]["aborted"] is None


def test_must_failure_exits_1(reference_server: ReferenceServer, tmp_path: Path) -> None:
    # CHAT-STREAM-002 is a MUST (openai-python's JSONDecodeError); a missing [DONE] is only a SHOULD now
    selection = "CHAT-STREAM-001,CHAT-STREAM-002,ERR-001"
    assert (
        run_cli(
            reference_server.fault_base_url("stream-non-json-event"), tmp_path, "--quiet", "--requirements", selection
        )
        == 1
    )
    report = read_report(tmp_path)
    assert outcome_of(report, "CHAT-STREAM-002") == "FAIL"
    assert report["summary"]["verdicts"]["client_compatible"] is False


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--base-url", "ftp://x"], "http:// or https://"),
        (["--base-url", "http://127.0.0.1:9/v1?api-version=1"], "query string"),
        (["--base-url", "http://127.0.0.1:9/v1", "--fault", "stream-no-done"], "--fault"),
        (["--base-url", "http://127.0.0.1:9/v1", "--requirements", "NOPE-999"], "NOPE-999"),
        (["--base-url", "http://127.0.0.1:9/v1", "--max-requests", "0"], "--max-requests"),
        (["--base-url", "http://127.0.0.1:9/v1", "--max-tokens", "0"], "--max-tokens"),
        (["--fault", "no-such-fault"], "no-such-fault"),
        # rich markup in a user-supplied value is printed, not interpreted (nor a crash)
        (["--base-url", "ftp://a/[/x]"], "ftp://a/[/x]"),
    ],
)
def test_usage_error_exits_2_without_a_report(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", *argv, "--out", str(tmp_path), "--quiet"]) == 2
    assert message in " ".join(capsys.readouterr().out.split())  # rich may wrap the line
    assert not (tmp_path / "report.json").exists()


def test_usage_error_does_not_leave_the_embedded_provider_running(
    started_servers: list[ReferenceServer], tmp_path: Path
) -> None:
    assert main(["run", "--max-requests", "0", "--out", str(tmp_path)]) == 2
    assert all(server._thread is None for server in started_servers)


def test_unreachable_target_exits_3_and_still_writes_the_report(free_port: int, tmp_path: Path) -> None:
    assert run_cli(f"http://127.0.0.1:{free_port}/v1", tmp_path, "--quiet") == 3
    report = read_report(tmp_path)
    assert report["run"]["aborted"]
    assert "unreachable" in report["run"]["aborted"]
    assert {row["outcome"] for row in report["results"]} == {"SKIP"}
    assert len(report["results"]) == len(CATALOGUE.active)


# -- selection and output --------------------------------------------------------------------------


def test_requirements_option_runs_exactly_those(reference_server: ReferenceServer, tmp_path: Path) -> None:
    assert run_cli(reference_server.base_url, tmp_path, "--quiet", "--requirements", "CHAT-STREAM-003, ERR-001") == 0
    report = read_report(tmp_path)
    assert sorted(row["id"] for row in report["results"]) == ["CHAT-STREAM-003", "ERR-001"]
    assert report["run"]["selected"] == ["CHAT-STREAM-003", "ERR-001"]
    assert {row["outcome"] for row in report["results"]} == {"PASS"}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PYTEST_ADDOPTS", "--collect-only"),
        ("PYTEST_PLUGINS", "no_such_plugin_module_7f3a"),
    ],
)
def test_the_callers_pytest_environment_does_not_change_the_run(
    reference_server: ReferenceServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    assert run_cli(reference_server.base_url, tmp_path, "--quiet", "--requirements", "ERR-001,CHAT-002") == 0
    assert {row["outcome"] for row in read_report(tmp_path)["results"]} == {"PASS"}


def test_quiet_prints_only_the_summary(
    reference_server: ReferenceServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(reference_server.base_url, tmp_path, "--quiet", "--requirements", "ERR-001") == 0
    out = capsys.readouterr().out
    assert "client-compatible yes" in out
    assert "spec-conformant yes" in out
    # The terminal wraps a long path at any character: compare without whitespace.
    assert f"report:{tmp_path / 'report.json'}" in "".join(out.split())
    assert "requirement" not in out  # no tables
    # nor the inner pytest's own lines ("." progress, "1 passed, 50 deselected in 0.1s")
    assert not re.search(r"^\.+\s|\d+ (passed|failed|deselected)", out, re.MULTILINE), out


def test_full_output_lists_each_requirement(
    reference_server: ReferenceServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --all: every row; by default only the failures (none here) are listed.
    assert run_cli(reference_server.base_url, tmp_path, "--requirements", "ERR-001,CHAT-002", "--all") == 0
    out = capsys.readouterr().out
    assert {"ERR-001", "CHAT-002"} <= set(ID_PATTERN.findall(out))
    assert "client-compatible yes" in out


def test_base_url_and_key_come_from_the_sdk_environment(
    reference_server: ReferenceServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", reference_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
    assert main(["run", *MODELS, "--out", str(tmp_path), "--quiet", "--requirements", "AUTH-002"]) == 0
    report = read_report(tmp_path)
    assert report["target"]["base_url"] == reference_server.base_url
    assert report["target"]["api_key_set"] is True


# -- the embedded reference provider ---------------------------------------------------------------------


def test_run_without_base_url_scores_the_embedded_provider(
    started_servers: list[ReferenceServer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--requirements", SAMPLE, "--out", str(tmp_path)]) == 0
    [server] = started_servers
    key = server.api_key
    assert key is not None
    assert key.startswith("sk-ref-")
    report_text = (tmp_path / "report.json").read_text(encoding="utf-8")
    out = capsys.readouterr().out
    assert key not in report_text
    assert key not in out
    assert not re.search(r"sk-ref-[0-9a-f]{8}", report_text + out)
    assert json.loads(report_text)["target"]["api_key_set"] is True
    assert server._thread is None  # stopped


def test_run_with_a_fault_fails_its_requirement(tmp_path: Path) -> None:
    # a MUST fault (CHAT-002, the fault chat-wrong-object, is a SHOULD: no client breaks on it)
    argv = ["run", "--fault", "chat-json-as-text-plain", "--requirements", "CHAT-001,CHAT-002", "--out", str(tmp_path)]
    assert main([*argv, "--quiet"]) == 1
    report = read_report(tmp_path)
    assert (outcome_of(report, "CHAT-001"), outcome_of(report, "CHAT-002")) == ("FAIL", "PASS")
    assert "chat-json-as-text-plain" in report["target"]["name"]


# -- listings -------------------------------------------------------------------------------------------


def test_list_prints_every_requirement(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    assert set(ID_PATTERN.findall(capsys.readouterr().out)) == {r.id for r in CATALOGUE.active}


@pytest.mark.parametrize("level", ["MUST", "SHOULD"])
def test_list_level_prints_only_that_level(level: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--level", level]) == 0
    expected = {r.id for r in CATALOGUE.active if r.level.value == level}
    assert expected
    assert set(ID_PATTERN.findall(capsys.readouterr().out)) == expected


def test_list_capability_prints_only_that_capability(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--capability", "embeddings"]) == 0
    expected = {r.id for r in CATALOGUE.active if r.capability == "embeddings"}
    assert expected
    assert set(ID_PATTERN.findall(capsys.readouterr().out)) == expected


def test_list_feature_prints_its_tagged_requirements(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--capability", "responses_background"]) == 0
    assert set(ID_PATTERN.findall(capsys.readouterr().out)) == {"RESP-BG-001", "RESP-BG-002", "RESP-BG-003"}


def test_serve_list_faults_names_every_fault(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--list-faults"]) == 0
    words = set(re.findall(r"[\w:+.-]+", capsys.readouterr().out))
    missing = sorted(set(FAULTS) - words)
    assert not missing, f"fault names cut or missing in the listing: {missing}"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("oai-conformance ")


def test_unknown_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
