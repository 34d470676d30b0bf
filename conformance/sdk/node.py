"""openai-node as an oracle: a subprocess (``sdk/sdk_node.mjs``) running the pinned ``openai`` npm package,
installed on first use into a cache folder.

Its requests go to a loopback :class:`~conformance.sdk.forwarder.Forwarder` that sends each one through
the run's one transport policy, so they obey the same budgets, slots, deadlines, caps, breaker and 429/503
backoff as every other request, and are recorded (by flow) and redacted by it. The script prints, per
flow, the value or the error the client produced; the exchanges are the policy's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.core.results import ProviderTimeout
from conformance.sdk.forwarder import FLOW_HEADER, REFUSED_HEADER, Forwarder
from conformance.sdk.outcomes import NODE, NodeError, SdkRun
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange
from conformance.transport.limits import BudgetExhausted

# The openai npm release the suite installs and runs. openai 7 declares node >= 22 but npm installs it on
# older nodes too (engines is advisory), which is what a user of that node gets from `npm install openai`.
NODE_OPENAI_VERSION = "7.57.0"
NODE_MIN_MAJOR = 18  # global fetch, which every openai-node release since 4.x relies on
NODE_INSTALL_TIMEOUT_S = 180.0
# No audit, funding or lockfile noise; --ignore-scripts: nothing from the registry runs at install time.
NPM_INSTALL_FLAGS = ("--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock", "--loglevel=error")
CACHE_ENV = "OAI_CONFORMANCE_CACHE"
NODE_SCRIPT = Path(__file__).resolve().parent / "sdk_node.mjs"

# Requests each openai-node flow makes (a flow the budget cannot cover whole is not started), and where.
NODE_FLOW_REQUESTS = {
    "models": 1,
    "chat": 1,
    "chat_stream": 1,
    "chat_tools": 1,
    "chat_tools_stream": 1,
    "chat_parse": 1,
    "embeddings": 2,
    "errors": 2,
    "responses_stream": 1,
}
NODE_FLOW_ENDPOINTS = {
    "models": ("GET", "models"),
    "chat": ("POST", "chat/completions"),
    "chat_stream": ("POST", "chat/completions"),
    "chat_tools": ("POST", "chat/completions"),
    "chat_tools_stream": ("POST", "chat/completions"),
    "chat_parse": ("POST", "chat/completions"),
    "embeddings": ("POST", "embeddings"),
    "errors": ("POST", "chat/completions"),
    "responses_stream": ("POST", "responses"),
}


@dataclass(frozen=True)
class NodeSetup:
    """Where the pinned openai-node is (``modules``), or why it cannot run (``reason``)."""

    node: str | None
    modules: Path | None
    version: str
    reason: str = ""
    install_s: float = 0.0


def cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "oai-conformance"


def _node_major(node: str) -> int | None:
    try:
        found = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.match(r"v?(\d+)\.", found.stdout.strip())
    return int(match.group(1)) if match else None


def prepare_node(version: str = NODE_OPENAI_VERSION) -> NodeSetup:
    """Find node and the pinned openai npm package, installing it into the cache folder on first use.

    The install goes to a private folder first and is renamed into place, so concurrent runs never see a
    half-installed package.
    """
    node = shutil.which("node")
    if node is None:
        return NodeSetup(None, None, version, "node is not on PATH, so openai-node was not run")
    major = _node_major(node)
    if major is None or major < NODE_MIN_MAJOR:
        return NodeSetup(node, None, version, f"node {major or '?'} is too old for openai-node (needs >= 18)")
    home = cache_dir() / f"node-openai-{version}"
    if (home / "node_modules" / "openai" / "package.json").is_file():
        return NodeSetup(node, home, version)
    npm = shutil.which("npm")
    if npm is None:
        return NodeSetup(node, None, version, f"npm is not on PATH, so openai@{version} could not be installed")
    staging = home.with_name(f".{home.name}.{os.getpid()}.partial")
    started = time.monotonic()
    try:
        staging.mkdir(parents=True, exist_ok=True)
        installed = subprocess.run(
            [npm, "install", "--prefix", str(staging), *NPM_INSTALL_FLAGS, f"openai@{version}"],
            capture_output=True,
            text=True,
            timeout=NODE_INSTALL_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        return NodeSetup(node, None, version, f"npm install openai@{version} failed: {type(exc).__name__}: {exc}")
    elapsed = time.monotonic() - started
    if installed.returncode != 0 or not (staging / "node_modules" / "openai" / "package.json").is_file():
        shutil.rmtree(staging, ignore_errors=True)
        tail = " ".join((installed.stderr or installed.stdout).split())[-300:]
        return NodeSetup(
            node, None, version, f"npm install openai@{version} failed (exit {installed.returncode}): {tail}"
        )
    try:
        staging.rename(home)
    except OSError:
        # Another run installed it meanwhile; theirs is as good as ours.
        shutil.rmtree(staging, ignore_errors=True)
    return NodeSetup(node, home, version, install_s=elapsed)


@dataclass
class NodeResults:
    """Every flow's run, by flow name; ``missing`` holds the flows without a result: (why, how to report)."""

    runs: dict[str, SdkRun] = field(default_factory=dict)
    # kind: "budget" (not run: SKIP), "timeout" (the script outlived its time: TIMEOUT), "crash" (ERROR)
    missing: dict[str, tuple[str, str]] = field(default_factory=dict)
    # The request a flow would have sent first, for the flows not run because the breaker found it dead.
    unsent: dict[str, Exchange] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def run_of(self, flow: str) -> SdkRun:
        """The flow's run; raises the outcome of a flow that has none."""
        if flow in self.runs:
            return self.runs[flow]
        kind, why = self.missing.get(flow, ("crash", "the flow was not run"))
        if kind == "budget":
            raise BudgetExhausted(why)
        if kind == "timeout":
            evidence = self.unsent.get(flow)
            raise ProviderTimeout(
                f"{NODE}: the script did not finish", expected="a result per flow", actual=why, evidence=evidence
            )
        raise RuntimeError(f"{NODE}: {why}")


class NodeRun:
    """The node script for one run, started in the background so that it overlaps openai-python's flows.

    Its requests go through the policy as they are made, by way of the forwarder that lives as long as the
    script; :meth:`results` waits for the script once and reads what it printed.
    """

    def __init__(
        self,
        http: HttpClient,
        setup: NodeSetup,
        flows: list[str],
        *,
        models: dict[str, str],
        unknown_model: str,
        wrong_key: str,
    ) -> None:
        assert setup.node is not None
        assert setup.modules is not None
        self.http = http
        self._results = NodeResults()
        self._planned = self._plan(flows)
        self._process: subprocess.Popen[bytes] | None = None
        self._forwarder: Forwarder | None = None
        self._started = time.monotonic()
        target = http.target
        requests = sum(NODE_FLOW_REQUESTS[flow] for flow in self._planned)
        self._deadline = self._started + target.timeout * (requests + 1) + 15
        if not self._planned:
            return
        self._forwarder = Forwarder(http.policy)
        env = {
            # A clean environment: openai-node reads OPENAI_* variables (base URL, key, log level) itself.
            **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP")},
            "OAI_SDK_DIR": str(setup.modules),
            "OAI_BASE_URL": self._forwarder.base_url,
            "OAI_API_KEY": target.api_key or "none",
            "OAI_ORGANIZATION": target.organization or "",
            "OAI_HEADERS": json.dumps(dict(target.headers)),
            "OAI_CHAT_MODEL": models.get("chat", ""),
            "OAI_EMBEDDING_MODEL": models.get("embeddings", ""),
            "OAI_UNKNOWN_MODEL": unknown_model,
            "OAI_WRONG_KEY": wrong_key if target.api_key else "",
            "OAI_MAX_TOKENS": str(target.max_tokens),
            # The policy's deadline ends a request first (and the script reports it as node's timeout);
            # node's own only guards against a forwarder that never answers, queueing for a slot included.
            "OAI_TIMEOUT_MS": str(int((2 * max(target.timeout, target.max_stream_seconds) + 5) * 1000)),
            "OAI_FLOW_HEADER": FLOW_HEADER,
            "OAI_REFUSED_HEADER": REFUSED_HEADER,
            "OAI_FLOWS": ",".join(self._planned),
        }
        # Files, not pipes: the script never blocks on a full pipe while nobody reads it yet. They stay open
        # until results() or close() (a `with` block cannot span the two calls).
        self._stdout = tempfile.TemporaryFile()  # noqa: SIM115
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self._process = subprocess.Popen(
            [setup.node, str(NODE_SCRIPT)],
            stdin=subprocess.DEVNULL,
            stdout=self._stdout,
            stderr=self._stderr,
            env=env,
        )

    def _plan(self, flows: list[str]) -> list[str]:
        """The flows to run: those whose endpoint the breaker has not found dead, in order, as far as the
        request budget covers each whole (the policy charges every request as it is sent)."""
        http, planned, wanted_total = self.http, [], 0
        for position, flow in enumerate(flows):
            method, path = NODE_FLOW_ENDPOINTS[flow]
            blocked = http.dead(method, http.url(path))
            if blocked is not None:
                why = f"not sent: circuit breaker open for {blocked}"
                self._results.missing[flow] = ("timeout", why)
                unsent = Exchange(method, http.url(path), {}, None, error="timeout", error_detail=why, not_sent=True)
                self._results.unsent[flow] = unsent
                continue
            wanted = NODE_FLOW_REQUESTS[flow] - (1 if flow == "errors" and not http.target.api_key else 0)
            if http.usage.requests + wanted_total + wanted > http.target.max_requests:
                why = f"request budget of {http.target.max_requests} spent (raise it with --max-requests)"
                self._results.missing.update({name: ("budget", why) for name in flows[position:]})
                break
            wanted_total += wanted
            planned.append(flow)
        return planned

    def results(self) -> NodeResults:
        """Wait for the script (once) and read every flow's run; flows without one are in ``missing``."""
        process, results = self._process, self._results
        if process is None:
            return results
        self._process = None
        timed_out = False
        try:
            code: int | None = process.wait(timeout=max(self._deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code, timed_out = None, True
        self._stop_forwarder()
        results.elapsed_s = time.monotonic() - self._started
        self._stdout.seek(0)
        self._stderr.seek(0)
        stdout = self._stdout.read().decode("utf-8", errors="replace")
        stderr = self._stderr.read().decode("utf-8", errors="replace")
        self._stdout.close()
        self._stderr.close()
        for line in stdout.splitlines():
            if line.startswith("{"):
                self._read(json.loads(line))
        for flow in self._planned:
            if flow not in results.runs:
                why = self.http.redact(" ".join(stderr.split())[-400:]) or f"exit code {code}"
                if timed_out:
                    why = f"no result within {self._deadline - self._started:.0f} s"
                kind = "timeout" if timed_out else "crash"
                results.missing[flow] = (kind, f"the openai-node script gave no result for this flow ({why})")
        return results

    def _read(self, record: dict[str, Any]) -> None:
        flow = str(record.get("flow"))
        run = SdkRun(client=NODE, what=str(record.get("what") or flow), value=record.get("value"))
        assert self._forwarder is not None
        run.exchanges = self._forwarder.exchanges.get(flow, [])
        if not record.get("ok"):
            run.error = NodeError(record.get("error") or {})
        self._results.runs[flow] = run

    def _stop_forwarder(self) -> None:
        if self._forwarder is not None:
            self._forwarder.stop()

    def close(self) -> None:
        """Stop a script nobody waited for (a run interrupted before the node checks)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
            self._stdout.close()
            self._stderr.close()
        self._process = None
        self._stop_forwarder()


def run_node(
    http: HttpClient,
    setup: NodeSetup,
    flows: list[str],
    *,
    models: dict[str, str],
    unknown_model: str,
    wrong_key: str,
) -> NodeResults:
    """Run the script for ``flows`` to its end and read its results."""
    node = NodeRun(http, setup, flows, models=models, unknown_model=unknown_model, wrong_key=wrong_key)
    try:
        return node.results()
    finally:
        node.close()
