"""Integration: score a real third-party server, llmock, and compare with its reviewed baseline.

llmock (PyPI, pinned) is the lightest of the servers in reports/peers/: it installs in seconds and
starts in about one. The test installs it into a temporary venv, starts it on a free 127.0.0.1 port
with the checked-in configuration, runs the whole suite against it and requires that

* the run completes and no requirement is ERROR (an ERROR is always a bug in the suite), and
* its outcomes match reports/llmock/baseline.yaml: the failures published there, and nothing else
  (the property-based PROP-* requirements are left out to keep the test under a minute).

So a regression in the suite (a check that now fails a correct answer, or misses a known deviation)
or a change in the server is noticed. Marked ``peer``; deselect with ``pytest -m "not peer"``. It
skips, saying so, when PyPI cannot be reached.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.core.catalogue import load_catalogue
from conformance.report.baseline import load_baseline
from conformance.report.gates import evaluate
from conformance.runner import run
from conformance.target import Target

pytestmark = pytest.mark.peer

ROOT = Path(__file__).resolve().parent.parent
LLMOCK = "llmock==0.2.2"  # keep in sync with reports/peers/llmock.sh
CONFIG = ROOT / "reports" / "peers" / "config" / "llmock.yaml"
BASELINE = ROOT / "reports" / "llmock" / "baseline.yaml"
# The same flags reports/peers/llmock.sh gives `oai-conformance run`.
SETTINGS = {
    "chat_model": "gpt-4o",
    "embedding_model": "text-embedding-3-small",
    "capabilities": "chat,embeddings,images,files",
}
INSTALL_LIMIT_S = 240
START_LIMIT_S = 30


def _pypi_reachable() -> bool:
    try:
        with socket.create_connection(("pypi.org", 443), timeout=5):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _install(venv: Path) -> Path:
    """A venv with llmock; reuses the one reports/peers/llmock.sh installed when its stamp says so."""
    peers = Path(os.environ.get("OAI_PEERS_DIR", Path.home() / ".cache" / "oai-conformance" / "peers"))
    cached = peers / "llmock" / "venv"
    stamp = cached / ".oai-peer-installed"
    if stamp.is_file() and stamp.read_text().strip() == LLMOCK and (cached / "bin" / "llmock").exists():
        return cached / "bin" / "llmock"
    if not _pypi_reachable():
        pytest.skip("PyPI is not reachable: cannot install llmock for the peer integration test")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    done = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", LLMOCK],
        capture_output=True,
        text=True,
        timeout=INSTALL_LIMIT_S,
        check=False,
    )
    assert done.returncode == 0, f"pip install {LLMOCK} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return venv / "bin" / "llmock"


@pytest.fixture(scope="module")
def llmock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a running llmock; stopped (its own process group) afterwards."""
    work = tmp_path_factory.mktemp("llmock")
    binary = _install(work / "venv")
    port = _free_port()
    log = (work / "server.log").open("wb")
    process = subprocess.Popen(
        [str(binary), "serve", "-h", "127.0.0.1", "-p", str(port), "--config", str(CONFIG)],
        cwd=work,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("LLMOCK_")},
    )
    try:
        deadline = time.monotonic() + START_LIMIT_S
        while True:
            assert process.poll() is None, f"llmock exited: {(work / 'server.log').read_text()[-2000:]}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            assert time.monotonic() < deadline, f"llmock not ready after {START_LIMIT_S} s"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


def test_llmock_matches_its_baseline(llmock: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    target = Target.build(llmock, name="llmock 0.2.2", timeout=20.0, max_requests=400, env={}, **SETTINGS)
    # Everything but the property-based tests (PROP-*: schemathesis, about 30 s), to stay well under a minute.
    selection = [req.id for req in load_catalogue().active if not req.id.startswith("PROP-")]
    result = run(target, out_dir=tmp_path, only=selection)
    report = result.report
    assert report["run"]["aborted"] is None, report["run"]["aborted"]
    errors = [f"{row['id']}: {row['message']}" for row in report["results"] if row["outcome"] == "ERROR"]
    assert not errors, "ERROR outcomes are bugs in the suite:\n" + "\n".join(errors)
    gate = evaluate(report, fail_on="should", baseline=load_baseline(BASELINE))
    assert gate.passed, (
        "llmock's outcomes differ from reports/llmock/baseline.yaml (a suite regression or a server change; "
        f"report: {tmp_path / 'report.json'}):\n" + "\n".join(gate.reasons)
    )
