"""The example GitHub Actions workflow: a job per target of the target file (fed by list-targets --json), a
job that merges their reports; checked by actionlint and zizmor (offline) like any workflow should be."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conformance.cli import main

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "examples" / "github-workflow.yml"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


def tool(name: str) -> str:
    """The linter installed with the test extras (beside this Python), else on PATH; skip when absent."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install '.[test]' installs it where a wheel exists)")
    try:
        subprocess.run([found, "--version"], capture_output=True, timeout=30, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"{name} cannot run on this platform: {exc}")
    return found


def test_the_workflow_runs_a_job_per_target_and_merges_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    jobs = workflow["jobs"]
    listing = " ".join(step.get("run", "") for step in jobs["targets"]["steps"])
    assert "oai-conformance list-targets --json" in listing
    assert jobs["score"]["strategy"]["matrix"] == "${{ fromJSON(needs.targets.outputs.matrix) }}"
    assert "--target" in " ".join(step.get("run", "") for step in jobs["score"]["steps"])
    assert "oai-conformance merge" in " ".join(step.get("run", "") for step in jobs["matrix"]["steps"])
    uses = [step["uses"] for job in jobs.values() for step in job["steps"] if "uses" in step]
    assert [u for u in uses if not PINNED.match(u)] == []  # every action pinned by commit SHA
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert [s["uses"] for s in action["runs"]["steps"] if "uses" in s and not PINNED.match(s["uses"])] == []
    # What the matrix reads is what list-targets --json prints: a "target" list and per-target details.
    config = tmp_path / "oai-conformance.yaml"
    config.write_text("targets:\n  a:\n    reference: {}\n  b:\n    base_url_env: B_URL\n    api_key_env: B_KEY\n")
    assert main(["list-targets", "--config", str(config), "--json"]) == 0
    matrix = json.loads(capsys.readouterr().out)
    assert matrix["target"] == ["a", "b"]
    assert {"target", "api_key_env", "base_url_env"} <= set(matrix["include"][1])


def test_actionlint_passes() -> None:
    done = subprocess.run(
        [tool("actionlint"), "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_passes_offline() -> None:
    argv = [tool("zizmor"), "--offline", "--no-progress", str(WORKFLOW), str(ROOT / "action.yml")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
