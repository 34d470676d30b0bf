"""Benchmark a full default run: wall time, requests, billed completion tokens, peak memory.

Scenarios (each a fresh ``oai-conformance run`` process against a provider on 127.0.0.1):

* ``reference``          the built-in reference provider
* ``reference-latency``  the reference provider with 200 ms injected latency per request
* ``quick``              ``--quick`` (MUST requirements only, no property tests) against the reference
* ``schemathesis-stock`` stock ``schemathesis run`` over the official OpenAI description against the
                         reference provider, for comparison: its defaults, documented paths only
* ``schemathesis-5``     the same with ``--max-examples 5`` (a budget close to the suite's)
* ``llama``              llama.cpp's llama-server with a real model, when ``--llama-url`` is given
                         (``reports/peers/llama-server.sh start``), with the flags its peer script uses
* ``llama-schemathesis`` stock ``schemathesis run --max-examples 5`` against the same llama-server

Against the reference provider requests and completion tokens are counted at the provider (an ASGI
wrapper around the app), so both tools are measured the same way; against llama-server they are the
suite's own report and schemathesis' HAR report. Peak memory is the max RSS of the measured process.

    python bench/run.py --out bench/RESULTS.md            # every scenario that can run here
    python bench/run.py --scenario reference --repeat 3   # one scenario, median of 3
"""

from __future__ import annotations

import argparse
import contextlib
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
STOCK = ("schemathesis-stock", "schemathesis-5", "llama-schemathesis")
# What reports/peers/llama-server.sh passes: its key and model, what it serves, a longer per-request
# limit and two requests in flight (generation shares two CPU cores with everything else).
LLAMA_KEY = "sk-peer-llama"
LLAMA_ARGS = [
    "--api-key", LLAMA_KEY, "--capabilities", "chat,completions", "--chat-model", "gemma-3-270m",
    "--completion-model", "gemma-3-270m", "--timeout", "60", "--concurrency", "2",
]  # fmt: skip
# A guard, not a setting (--stock-max-seconds): stock schemathesis over every documented path of the
# official description does not finish in 15 minutes on this machine.
STOCK_MAX_SECONDS = 900


@dataclass
class Measurement:
    scenario: str
    wall_s: float
    requests: int
    completion_tokens: int
    peak_rss_mb: float
    exit_code: int
    note: str = ""
    runs: int = 1  # the median of this many runs is shown


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
        tokens = completion_tokens(bytes(buffer))
        with self.lock:
            self.completion_tokens += tokens


def completion_tokens(body: bytes) -> int:
    """The completion tokens a response body bills in its ``usage`` (every event of a stream)."""
    texts = [body]
    if body.startswith(b"data:") or b"\ndata:" in body[:200]:
        texts = [line[5:].strip() for line in body.splitlines() if line.startswith(b"data:")]
    billed = 0
    for text in texts:
        try:
            usage = json.loads(text).get("usage")
        except (ValueError, AttributeError):
            continue
        if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
            billed += usage["completion_tokens"]
    return billed


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


def stock_command(base_url: str, key: str, har: Path, cap: int, *extra: str) -> list[str]:
    """``schemathesis run`` as its documentation shows it: the official description, a key, the target."""
    return [
        sys.executable, "-m", "schemathesis.cli", "run", str(OFFICIAL_SPEC), "--url", base_url,
        "-H", f"Authorization: Bearer {key}", "--seed", "1", "--include-path-regex", DOCUMENTED,
        "--max-time", str(cap), "--report", "har", "--report-har-path", str(har), *extra,
    ]  # fmt: skip


def har_counts(har: Path) -> tuple[int, int]:
    """Requests in a HAR report, and the completion tokens its responses' ``usage`` billed."""
    entries = json.loads(har.read_text())["log"]["entries"]
    texts = (entry["response"].get("content", {}).get("text", "") for entry in entries)
    return len(entries), sum(completion_tokens(text.encode()) for text in texts)


def run_scenario(name: str, llama_url: str | None, cap: int = STOCK_MAX_SECONDS) -> Measurement:
    """One measured run; ``cap`` is stock schemathesis' --max-time."""
    with tempfile.TemporaryDirectory() as out:
        har = Path(out) / "schemathesis.har"
        if name in ("llama", "llama-schemathesis"):
            if not llama_url:
                raise SystemExit(f"--llama-url is needed for the {name} scenario")
            if name == "llama":
                wall, code, rss = measured([*suite_command(llama_url, out), *LLAMA_ARGS])
                report = json.loads((Path(out) / "report.json").read_text())
                usage = report["usage"]
                note = "counted by the suite's own report; " + " ".join(LLAMA_ARGS[2:])
                return Measurement(name, wall, usage["requests"], usage["completion_tokens"], rss, code, note)
            wall, code, rss = measured(stock_command(llama_url, LLAMA_KEY, har, cap, "--max-examples", "5"))
            requests, tokens = har_counts(har)
            note = "official description, documented paths, --max-examples 5; counted from its HAR report"
            return Measurement(name, wall, requests, tokens, rss, code, note)
        latency = 0.2 if name == "reference-latency" else 0.0
        server, counter, base_url = start_counted_reference(latency)
        try:
            if name == "schemathesis-stock":
                command = stock_command(base_url, KEY, har, cap)
                note = "official description, documented paths only, default phases, examples and checks"
            elif name == "schemathesis-5":
                command = stock_command(base_url, KEY, har, cap, "--max-examples", "5")
                note = "official description, documented paths only, --max-examples 5, default phases and checks"
            else:
                command = suite_command(base_url, out, *(["--quick"] if name == "quick" else []))
                note = "200 ms before every answer" if latency else ""
            counter.reset()
            wall, code, rss = measured(command)
            requests, tokens = counter.reset()
        finally:
            server.should_exit = True
        return Measurement(name, wall, requests, tokens, rss, code, note)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("oai-conformance", "schemathesis", "hypothesis", "httpx", "pytest", "starlette", "uvicorn"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def machine() -> str:
    """The CPU model, cores and memory of this machine, as /proc tells them (Linux)."""
    cpu = platform.processor() or platform.machine()
    memory = ""
    with contextlib.suppress(OSError):
        info = Path("/proc/cpuinfo").read_text()
        cpu = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), cpu)
    with contextlib.suppress(OSError, ValueError, IndexError):
        total_kb = int(Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1])
        memory = f", {total_kb / 1024 / 1024:.0f} GiB"
    return f"{cpu}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}"


def verdicts(m: Measurement) -> list[str]:
    """The issue's targets this measurement is held to, each with whether it was met."""
    found = []
    if m.scenario in TARGETS:
        found.append(f"wall < {TARGETS[m.scenario]:g} s: {'met' if m.wall_s < TARGETS[m.scenario] else 'MISSED'}")
    if m.scenario in ("reference", "reference-latency"):
        found.append(f"≤ 400 requests: {'met' if m.requests <= 400 else 'MISSED'}")
        found.append(f"≤ 4,000 tokens: {'met' if m.completion_tokens <= 4000 else 'MISSED'}")
    return found


NOTES_MARKER = "<!-- Written by hand below this line; bench/run.py keeps it. -->"


def row(m: Measurement) -> str:
    return (
        f"| {m.scenario} | {m.runs} | {m.wall_s:.1f} | {m.requests} | {m.completion_tokens} | {m.peak_rss_mb:.0f} | "
        f"{m.exit_code} | {'; '.join(verdicts(m)) or '—'} | {m.note} |"
    )


def markdown(rows: list[str]) -> str:
    lines = [
        "# Benchmark: a full default run",
        "",
        f"Measured by `python bench/run.py` on {time.strftime('%Y-%m-%d')}: {machine()}; each row shows the "
        "median run of the runs it counts.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()) + ".",
        "",
        "Against the reference provider, requests and completion tokens are counted at the provider (an ASGI "
        "wrapper), the same way for both tools. Peak RSS is the measured process' maximum resident memory. "
        "Each run is a fresh process, so wall time includes start-up, imports and writing the report.",
        "",
        "| scenario | runs | wall (s) | requests | completion tokens | peak RSS (MB) | exit | targets | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
        *rows,
    ]
    lines += [
        "",
        "Targets (issue 10): the full default profile in under 20 s against the reference provider and under "
        "60 s with 200 ms injected latency, at most 400 requests and 4,000 completion tokens per full run; "
        "`--quick` under 5 s.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", action="append", choices=[*TARGETS, *STOCK, "llama"])
    parser.add_argument("--repeat", type=int, default=1, help="runs per scenario; the median is reported")
    parser.add_argument("--llama-url", help="base URL of a running llama-server (adds the llama scenario)")
    parser.add_argument(
        "--out",
        help="write the Markdown table here (default: print it); rows of scenarios not measured now, and "
        "the notes below its marker, are kept from the file",
    )
    parser.add_argument(
        "--stock-max-seconds",
        type=int,
        default=STOCK_MAX_SECONDS,
        help="schemathesis' --max-time (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    cap = args.stock_max_seconds
    llama = ["llama", "llama-schemathesis"] if args.llama_url else []
    scenarios = args.scenario or [*TARGETS, "schemathesis-stock", "schemathesis-5", *llama]
    results = []
    for name in scenarios:
        runs = [run_scenario(name, args.llama_url, cap) for _ in range(args.repeat)]
        wall = statistics.median(m.wall_s for m in runs)
        best = min(runs, key=lambda m: abs(m.wall_s - wall))
        if best.scenario in STOCK and best.wall_s >= cap:
            best.note += f"; stopped by its --max-time {cap} s, unfinished"
        best.runs = len(runs)
        results.append(best)
        print(
            f"{name}: {best.wall_s:.1f} s, {best.requests} requests, {best.completion_tokens} tokens, "
            f"{best.peak_rss_mb:.0f} MB, exit {best.exit_code}",
            file=sys.stderr,
        )
    rows = {m.scenario: row(m) for m in results}
    notes = ""
    if args.out and Path(args.out).exists():
        old = Path(args.out).read_text(encoding="utf-8")
        before, _, notes = old.partition(NOTES_MARKER)
        kept = {line.split("|")[1].strip(): line for line in before.splitlines() if line.startswith("| ")}
        order = [*TARGETS, "llama", *STOCK]
        rows = {name: rows.get(name) or kept[name] for name in order if name in rows or name in kept}
    text = markdown(list(rows.values()))
    if args.out:
        Path(args.out).write_text(text + "\n" + NOTES_MARKER + (notes or "\n"), encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
