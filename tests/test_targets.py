"""The target file (oai-conformance.yaml), run --target / --all-targets, list-targets, and the terminal output
people read: one screen for up to ten failures, no progress bar and a job summary in CI."""

from __future__ import annotations

import copy
import io
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from conformance.cli import build_parser, main
from conformance.multi_run import shares
from conformance.report.ci import plain_output, write_step_summary
from conformance.report.commands import _print_gate
from conformance.report.gates import evaluate
from conformance.report.json_report import validate_report
from conformance.report.terminal import render
from conformance.target_choice import target_from_args
from conformance.targets_file import load_target_file, target_settings

GOLDEN = Path(__file__).resolve().parent / "golden"

GOOD = """\
version: 1
concurrency: 4
defaults:
  api_key_env: SHARED_KEY
  limits:
    timeout: 20
    max_tokens: 8
  headers:
    X-Team: evals
targets:
  staging:
    base_url: https://llm.staging.example/v1
    models:
      chat: small-chat
    capabilities: [chat, -tools, embeddings]
    profile: core
    secret_headers:
      X-Gateway-Token: GATEWAY_TOKEN
    limits:
      max_tokens: 4
  prod:
    display_name: Production
    base_url_env: PROD_URL
    api_key_env: PROD_KEY
"""


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "GITHUB_STEP_SUMMARY", "CI"):
        monkeypatch.delenv(name, raising=False)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "oai-conformance.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_target_file_merges_defaults_and_reads_secrets_from_the_environment(tmp_path: Path) -> None:
    targets = load_target_file(write(tmp_path, GOOD))
    assert list(targets.targets) == ["staging", "prod"]
    assert targets.concurrency == 4
    env = {"SHARED_KEY": "sk-shared", "GATEWAY_TOKEN": "tok-1", "PROD_URL": "https://api.prod.example/v1"}
    staging = target_settings(targets.entry("staging"), tmp_path, env)
    assert staging["api_key"] == "sk-shared"
    assert staging["timeout"] == 20
    assert staging["max_tokens"] == 4  # the target's own limit wins over the defaults
    assert dict(staging["headers"]) == {"X-Team": "evals", "X-Gateway-Token": "tok-1"}
    assert staging["secret_headers"] == frozenset({"X-Gateway-Token"})
    with pytest.raises(ValueError, match="PROD_KEY is not set") as caught:
        target_settings(targets.entry("prod"), tmp_path, env)
    assert "sk-shared" not in str(caught.value)
    prod = target_settings(targets.entry("prod"), tmp_path, {**env, "PROD_KEY": "sk-prod"})
    assert (prod["base_url"], prod["api_key"], prod["name"]) == ("https://api.prod.example/v1", "sk-prod", "Production")


def test_flags_override_the_file_and_the_file_does_not_take_openai_api_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, GOOD)
    monkeypatch.setenv("SHARED_KEY", "sk-shared")
    monkeypatch.setenv("GATEWAY_TOKEN", "tok-1")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://elsewhere.example/v1")  # the file's target wins over it
    argv = ["run", "--config", str(path), "--target", "staging", "--max-tokens", "2", "--chat-model", "other"]
    target, server, baseline = target_from_args(build_parser().parse_args(argv))
    assert server is None
    assert baseline is None
    assert target.base_url == "https://llm.staging.example/v1"
    assert (target.max_tokens, target.timeout, target.models["chat"]) == (2, 20, "other")
    assert target.api_key == "sk-shared"
    assert target.capabilities is not None
    assert "tools" not in target.capabilities
    assert target.profile == "core"
    assert "tok-1" in target.secrets
    # Without --target the file is not read: the SDK's variables work alone, as before.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    alone, _, _ = target_from_args(build_parser().parse_args(["run"]))
    assert (alone.base_url, alone.api_key) == ("https://elsewhere.example/v1", "sk-env")


BAD_FILES = [
    ("targets:\n  a:\n    base_url: https://x.example/v1\n    timout: 3\n", ":4: targets.a.timout: unknown field"),
    ("targets:\n  a:\n    base_url: https://x.ex/v1\n    limits:\n      timeout: 0\n", ":5: targets.a.limits.timeout"),
    ("targets:\n  a:\n    api_key_env: KEY\n", ":2: targets.a: give exactly one of base_url, base_url_env, reference"),
    ("targets:\n  a:\n    base_url: x.example/v1\n", ":3: targets.a.base_url: must start with http:// or https://"),
    ("targets:\n  a:\n    base_url: https://x.example/v1\n    api_key: sk-secret\n", ":4: targets.a.api_key: unknown"),
    ("targets:\n  a b:\n    reference: {}\n", ":2: targets: a target's name may hold letters"),
    ("targets:\n  a:\n    reference: {}\n  a:\n    reference: {}\n", ":4: targets.a: given twice"),
    ("targets:\n  a:\n    reference: {faults: [x]\n", ":4: not valid YAML"),
    ("version: 1\n", ":1: (top level): 'targets' is a required property"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_FILES, ids=[e.split(": ")[1] for _, e in BAD_FILES])
def test_a_malformed_file_names_the_line_and_the_field_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["list-targets", "--config", str(path)]) == 2
    shown = "".join(capsys.readouterr().out.split())  # the terminal wraps a long path anywhere
    assert "".join(f"{path}{expected}".split()) in shown
    assert "sk-secret" not in shown


def test_list_targets_json_feeds_a_ci_matrix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list-targets", "--config", str(write(tmp_path, GOOD)), "--json"]) == 0
    matrix = json.loads(capsys.readouterr().out)
    assert matrix["target"] == ["staging", "prod"]
    assert matrix["include"][1] == {
        "target": "prod",
        "display_name": "Production",
        "reference": False,
        "api_key_env": "PROD_KEY",
        "base_url_env": "PROD_URL",
        "secret_header_envs": [],
    }


def test_one_concurrency_and_one_budget_are_shared_between_targets() -> None:
    assert shares(3, 8, 900) == (3, 2, 300)  # 3 runs × 2 slots ≤ 8 in flight; 300 requests each
    assert shares(10, 4, None) == (4, 1, None)  # 4 at a time, one request in flight each
    with pytest.raises(ValueError, match="cannot be split"):
        shares(3, 8, 2)


MULTI = """\
concurrency: 6
targets:
  clean:
    reference: {}
  no-done:
    reference: {faults: [stream-no-done]}
  flat-errors:
    display_name: flat errors
    reference: {faults: [error-flat-body]}
"""


def test_all_targets_run_side_by_side_into_reports_and_a_matrix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The one end-to-end run of several targets: three reference providers on three ports, a tiny selection."""
    config = write(tmp_path, MULTI)
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    out = tmp_path / "out"
    argv = ["run", "--config", str(config), "--all-targets", "--out", str(out), "--format", "md,junit"]
    code = main([*argv, "--requirements", "MODELS-001,CHAT-STREAM-003,ERR-001"])
    shown = capsys.readouterr().out
    assert code == 1, shown  # ERR-001 is a MUST: flat-errors fails its gate
    outcomes = {}
    for name in ("clean", "no-done", "flat-errors"):
        report = json.loads((out / name / "report.json").read_text(encoding="utf-8"))
        validate_report(report)
        assert (out / name / "report.md").is_file()
        assert (out / name / "junit.xml").is_file()
        outcomes[name] = {row["id"]: row["outcome"] for row in report["results"]}
    assert outcomes["clean"] == {"MODELS-001": "PASS", "CHAT-STREAM-003": "PASS", "ERR-001": "PASS"}
    assert outcomes["no-done"]["CHAT-STREAM-003"] == "FAIL"
    assert outcomes["flat-errors"]["ERR-001"] == "FAIL"
    matrix = (out / "matrix.md").read_text(encoding="utf-8")
    assert "(3 providers)" in matrix
    assert "flat errors" in matrix
    assert "<html" in (out / "matrix.html").read_text(encoding="utf-8").lower()
    assert summary.read_text(encoding="utf-8") == matrix
    assert "sk-ref-" not in shown + matrix


def fake_failures(count: int) -> dict[str, Any]:
    """The golden report with ``count`` failing MUST requirements (copies of a real failing row)."""
    report = copy.deepcopy(json.loads((GOLDEN / "report.json").read_text(encoding="utf-8")))
    failing = next(row for row in report["results"] if row["outcome"] == "FAIL" and row["breaks"])
    report["results"] = [r for r in report["results"] if r["outcome"] not in ("FAIL", "TIMEOUT", "ERROR")]
    for index in range(count):
        row = copy.deepcopy(failing)
        row.update(id=f"FAKE-{index:03d}", level="MUST", title=f"A requirement with a long title, number {index} " * 2)
        report["results"].append(row)
    return report


@pytest.mark.parametrize("width", [80, 120])
def test_ten_failures_fit_on_one_screen(width: int) -> None:
    report = fake_failures(10)
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None)
    render(report, console, report_path="conformance-report/report.json")
    _print_gate(evaluate(report), console)
    lines = out.getvalue().splitlines()
    assert len(lines) <= 50, "\n".join(lines)
    assert max(len(line) for line in lines) <= width
    for index in range(10):
        assert any(line.startswith(f"FAIL FAKE-{index:03d} MUST") for line in lines)
    assert any(line.startswith("  - MUST requirements failed: FAKE-000, FAKE-001") for line in lines)
    assert any(line.strip().startswith("why:") for line in lines)
    assert any(line.strip().startswith("breaks:") for line in lines)
    every = io.StringIO()
    render(report, Console(file=every, width=width, color_system=None), show_all=True)
    assert all(row["id"] in every.getvalue() for row in report["results"])  # --all: every row


def test_ci_runs_print_no_progress_and_write_the_job_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Console(file=io.StringIO(), force_terminal=True)
    assert not plain_output(terminal)
    monkeypatch.setenv("CI", "true")
    assert plain_output(terminal)
    assert plain_output(Console(file=io.StringIO()))  # not a terminal
    assert write_step_summary("# hi") is None  # no GITHUB_STEP_SUMMARY: nothing written
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    write_step_summary("# one")
    write_step_summary("# two\n")
    assert (tmp_path / "summary.md").read_text(encoding="utf-8") == "# one\n# two\n"


def test_a_setting_the_target_refuses_is_reported_at_its_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "targets:\n  one:\n    reference: {}\n  two:\n    reference: {}\n    capabilities: [chat, gpu]\n"
    path = write(tmp_path, text)
    assert main(["run", "--config", str(path), "--target", "two", "--out", str(tmp_path / "out")]) == 2
    shown = "".join(capsys.readouterr().out.split())  # the terminal wraps a long path anywhere
    assert f"{path}:4:targets.two:unknowncapabilitygpu" in shown
    assert not (tmp_path / "out").exists()
