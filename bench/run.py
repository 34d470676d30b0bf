"""Benchmark a full default run: wall time, requests, billed completion tokens, peak memory.

Scenarios (each a fresh ``oai-conformance run`` process against a provider on 127.0.0.1):

* ``reference``          the built-in reference provider
* ``reference-latency``  the reference provider with 200 ms injected latency per request
* ``quick``              ``--quick`` (MUST requirements only, no property tests) against the reference
* ``llama``              llama.cpp's llama-server, when ``--llama-url`` is given (see reports/peers/)
* ``schemathesis-stock`` stock ``schemathesis run`` over the official OpenAI description against the
                         reference provider, for comparison

Requests and completion tokens are counted at the provider (an ASGI wrapper around the reference
app), so both tools are measured the same way. Peak memory is the max RSS of the measured process.

    python bench/run.py --out bench/RESULTS.md            # every scenario that can run here
    python bench/run.py --scenario reference --repeat 3   # one scenario, median of 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OFFICIAL_SPEC = ROOT.parent / "shared" / "reference" / "openai-openapi-current.yaml"
KEY = "sk-bench-0123456789abcdef"
MODELS = ["--chat-model", "ref-chat", "--completion-model", "ref-instruct", "--embedding-model", "ref-embed"]
# The documented endpoints of the source documents (seed 002), as paths of the official description.
DOCUMENTED = r"^/(models|chat/completions|completions|embeddings|images/|moderations|files|fine_tuning|edits|engines)"
TARGETS = {"reference": 20.0, "reference-latency": 60.0, "quick": 5.0}


@dataclass
class Measurement:
    scenario: str
    wall_s: float
    requests: int
    completion_tokens: int
    peak_rss_mb: float
    exit_code: int
    note: str = ""


class Counter:
    """ASGI wrapper counting requests and the completion tokens the provider reports in its usage."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0
        self.completion_tokens = 0
        self.lock = threading.Lock()

    def reset(self) -> tuple[int, int]:
        with self.lock:
            counts = (self.requests, self.completion_tokens)
            self.requests = self.completion_tokens = 0
        return counts

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with self.lock:
            self.requests += 1
        buffer = bytearray()

        async def counting_send(message: Any) -> None:
            if message["type"] == "http.response.body" and len(buffer) < 4_000_000:
                buffer.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, counting_send)
        self._count_tokens(bytes(buffer))

    def _count_tokens(self, body: bytes) -> None:
        texts = [body]
        if body.startswith(b"data:") or b"\ndata:" in body[:200]:
            texts = [line[5:].strip() for line in body.splitlines() if line.startswith(b"data:")]
        for text in texts:
            try:
                usage = json.loads(text).get("usage")
            except (ValueError, AttributeError):
                continue
            if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
                with self.lock:
                    self.completion_tokens += usage["completion_tokens"]


def start_counted_reference(latency: float) -> tuple[Any, Counter, str]:
    import socket

    import uvicorn

    from conformance.reference import create_app

    counter = Counter(create_app(api_key=KEY, latency=latency))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(counter, host="127.0.0.1", port=port, log_level="critical", lifespan="off"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, counter, f"http://127.0.0.1:{port}/v1"


def measured(command: list[str]) -> tuple[float, int, float]:
    """Run ``command``; return wall seconds, exit code and the child's peak RSS in MB."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    return wall, os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024


def suite_command(base_url: str, out: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "conformance.cli",
        "run",
        "--base-url",
        base_url,
        "--api-key",
        KEY,
        *MODELS,
        "--out",
        out,
        "--quiet",
        *extra,
    ]


def run_scenario(name: str, llama_url: str | None) -> Measurement:
    with tempfile.TemporaryDirectory() as out:
        if name == "llama":
            if not llama_url:
                raise SystemExit("--llama-url is needed for the llama scenario")
            command = [sys.executable, "-m", "conformance.cli", "run", "--base-url", llama_url, "--out", out, "--quiet"]
            wall, code, rss = measured(command)
            report = json.loads((Path(out) / "report.json").read_text())
            return Measurement(
                name,
                wall,
                report["usage"]["requests"],
                report["usage"]["completion_tokens"],
                rss,
                code,
                "counts from the suite's own report (no counting proxy in front of llama.cpp)",
            )
        latency = 0.2 if name == "reference-latency" else 0.0
        server, counter, base_url = start_counted_reference(latency)
        try:
            if name == "schemathesis-stock":
                command = [
                    sys.executable,
                    "-m",
                    "schemathesis.cli",
                    "run",
                    str(OFFICIAL_SPEC),
                    "--url",
                    base_url,
                    "-H",
                    f"Authorization: Bearer {KEY}",
                    "--max-examples",
                    "5",
                    "--seed",
                    "1",
                    "--include-path-regex",
                    DOCUMENTED,
                    "--request-timeout",
                    "10",
                ]
                note = "official description, documented paths only, --max-examples 5, default phases and checks"
            else:
                command = suite_command(base_url, out, *(["--quick"] if name == "quick" else []))
                note = ""
            counter.reset()
            wall, code, rss = measured(command)
            requests, tokens = counter.reset()
        finally:
            server.should_exit = True
        return Measurement(name, wall, requests, tokens, rss, code, note)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("oai-conformance", "schemathesis", "httpx", "pytest", "starlette", "uvicorn"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def markdown(results: list[Measurement], repeat: int) -> str:
    lines = [
        "# Benchmark: a full default run",
        "",
        f"Measured by `python bench/run.py` (median of {repeat}) on {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}; " + ", ".join(f"{k} {v}" for k, v in versions().items()) + ".",
        "Requests and completion tokens are counted at the provider; peak memory is the measured process' max RSS.",
        "",
        "| scenario | wall (s) | target | requests | completion tokens | peak RSS (MB) | exit | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for m in results:
        target = f"< {TARGETS[m.scenario]:g} s" if m.scenario in TARGETS else "—"
        lines.append(
            f"| {m.scenario} | {m.wall_s:.1f} | {target} | {m.requests} | {m.completion_tokens} | "
            f"{m.peak_rss_mb:.0f} | {m.exit_code} | {m.note} |"
        )
    lines += [
        "",
        "Targets: full default profile < 20 s against the reference provider, < 60 s with 200 ms latency, "
        "at most 400 requests and 4,000 completion tokens per run; `--quick` < 5 s.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", action="append", choices=[*TARGETS, "llama", "schemathesis-stock"])
    parser.add_argument("--repeat", type=int, default=1, help="runs per scenario; the median is reported")
    parser.add_argument("--llama-url", help="base URL of a running llama-server (adds the llama scenario)")
    parser.add_argument("--out", help="write the Markdown table here (default: print it)")
    args = parser.parse_args(argv)
    scenarios = args.scenario or [*TARGETS, *(["llama"] if args.llama_url else []), "schemathesis-stock"]
    results = []
    for name in scenarios:
        runs = [run_scenario(name, args.llama_url) for _ in range(args.repeat)]
        wall = statistics.median(m.wall_s for m in runs)
        best = min(runs, key=lambda m: abs(m.wall_s - wall))
        results.append(best)
        print(
            f"{name}: {best.wall_s:.1f} s, {best.requests} requests, {best.completion_tokens} tokens, "
            f"{best.peak_rss_mb:.0f} MB, exit {best.exit_code}",
            file=sys.stderr,
        )
    text = markdown(results, args.repeat)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
