"""The two adapters over the engine agree: ``pytest --pyargs conformance`` gives every requirement the
outcome ``oai-conformance run`` gives it, on the same target (one with a fault)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.reference import ReferenceServer
from tests.conftest import TEST_KEY
from tests.suite_runs import outcomes, score

MODELS = ["--oai-chat-model=ref-chat", "--oai-completion-model=ref-instruct", "--oai-embedding-model=ref-embed"]


@pytest.fixture
def own_server() -> Iterator[ReferenceServer]:
    """A provider of this test's own: the two runs create files and jobs on it, which the session's
    shared server must not see (other tests count its requests)."""
    server = ReferenceServer(api_key=TEST_KEY, multiplex=True, stream_delay=0.001).start()
    try:
        yield server
    finally:
        server.stop()


# One run each, against a provider with one fault: every requirement is compared, the failing one and
# the passing ones alike, and so is the exit code (a clean run of its own added 20 s and compared nothing
# the passing rows here do not).
@pytest.mark.parametrize("fault", ["stream-no-done"])
def test_pytest_and_the_cli_give_the_same_outcomes(own_server: ReferenceServer, tmp_path: Path, fault: str) -> None:
    url = own_server.fault_base_url(fault)
    path = tmp_path / "report.json"
    # pytest in a process of its own, with this environment (pytester would change HOME, where the
    # node oracle's package cache lives, and leave state behind in this process).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "OPENAI_"))}
    command = [
        sys.executable, "-m", "pytest", "--pyargs", "conformance", "--oai-base-url", url, "--oai-api-key", TEST_KEY,
        *MODELS, "-p", "no:cacheprovider", "-q", "--oai-report", str(path),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    via_pytest = outcomes(json.loads(path.read_text(encoding="utf-8")))
    via_cli = outcomes(score(url, TEST_KEY))
    assert via_pytest == via_cli
    failing = sum(1 for outcome in via_cli.values() if outcome in ("FAIL", "TIMEOUT"))
    assert failing > 0
    assert done.returncode == 1, done.stdout[-2000:]
