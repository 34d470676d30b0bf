"""Hostile and broken providers: the suite never hangs, crashes or leaks.

* the HTTP layer against raw sockets that hang, trickle or stall (hard deadlines inside every read, the
  circuit breaker), against scripted 429/503 answers (bounded, Retry-After-aware backoff) and under its
  budgets (requests, tokens, run time, concurrency); a 512 MiB body read in bounded memory;
* every hostile fault of the reference provider: a bounded run, a clear FAIL or TIMEOUT with evidence,
  no ERROR; all of them at once under tight limits;
* the CLI: a provider that never answers finishes within --timeout; one that answers GET but never a
  POST costs a few timeouts (the breaker), and --run-timeout bounds the whole run; SIGINT and SIGTERM
  write the partial report and exit 130 / 143;
* the secret-leak test: a provider that echoes the key (and a header marked secret) in every error, and
  no output of the run -- terminal, log records, report.json, Markdown, HTML, JUnit, badge -- has it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import resource
import signal
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import conformance.cli
from conformance.cli import main
from conformance.core.catalogue import load_catalogue
from conformance.reference import FAULTS, ReferenceServer
from conformance.reference.faults.auth import echo_key_in_errors
from conformance.report.json_report import validate_report
from conformance.runner import run
from conformance.target import Target
from conformance.transport.client import HttpClient
from conformance.transport.limits import BudgetExhausted, retry_after
from tests.conftest import TEST_KEY
from tests.suite_runs import HOSTILE_ONE_REQUEST, cached_report, failing, score

CATALOGUE = load_catalogue()
HOSTILE = sorted(name for name, fault in FAULTS.items() if name.startswith("transport-") and not fault.legal)
# Those that act on the one request of their TRANSPORT check (reference/faults/transport.py), not on the whole
# provider (reference/faults/timing.py: every POST unanswered, every stream endless, a stall). Their one
# whole run each is here (the meta-tests do not run them again): it is also held to the fault table.
ONE_REQUEST = HOSTILE_ONE_REQUEST
TABLE: dict[str, list[str]] = json.loads(
    (Path(__file__).parent / "fixtures" / "fault_table.json").read_text(encoding="utf-8")
)
OWNER = {fault: r.id for r in CATALOGUE.active for fault in r.faults if fault in HOSTILE}
MODEL_FLAGS = ["--chat-model", "ref-chat", "--completion-model", "ref-instruct", "--embedding-model", "ref-embed"]
KEY = "sk-hostile-secret-0123456789abcdef"


@pytest.fixture(autouse=True)
def _no_sdk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


# -- raw socket servers: what no ASGI app can do (hang before the status line, trickle the headers) ---------

Behaviour = Callable[[socket.socket, threading.Event], None]


class RawServer:
    """A socket server on 127.0.0.1; each connection is handled by ``behave(conn, stopped)`` in a thread."""

    def __init__(self, behave: Behaviour) -> None:
        self.behave = behave
        self.stopped = threading.Event()
        self.connections = 0
        self._threads: list[threading.Thread] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(32)
        self._sock.settimeout(0.05)
        self.port = self._sock.getsockname()[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> RawServer:
        thread = threading.Thread(target=self._serve, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(0.05)
            with contextlib.suppress(OSError):
                self.behave(conn, self.stopped)


def _until_closed(conn: socket.socket, stopped: threading.Event) -> None:
    """Read (and ignore) until the client hangs up or the server stops."""
    while not stopped.is_set():
        try:
            if conn.recv(65536) == b"":
                return
        except TimeoutError:
            continue


def silent(conn: socket.socket, stopped: threading.Event) -> None:
    """Accept, read, never answer."""
    _until_closed(conn, stopped)


def slow_status_line(conn: socket.socket, stopped: threading.Event) -> None:
    """The status line and an endless header, one byte every 50 ms: every read succeeds, none ends."""
    conn.sendall(b"H")
    for byte in b"TTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
        if stopped.wait(0.05):
            return
        conn.sendall(bytes([byte]))


def stalled_stream(conn: socket.socket, stopped: threading.Event) -> None:
    """Headers and one event, then silence with the connection open."""
    conn.sendall(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\na\r\ndata: {}\n\n\r\n"
    )
    _until_closed(conn, stopped)


def run_cli(base_url: str, out: Path, *extra: str, key: str = TEST_KEY) -> int:
    return main(["run", "--base-url", base_url, "--api-key", key, *MODEL_FLAGS, "--out", str(out), *extra])


def _target(base_url: str, **limits: Any) -> Target:
    return Target.build(base_url, api_key=KEY, env={}, **limits)


# -- hard deadlines ----------------------------------------------------------------------------------------


def test_a_status_line_trickled_a_byte_at_a_time_is_cut_at_the_total_deadline() -> None:
    # Each byte arrives well within the 10 s read timeout: only the request's own deadline can stop it.
    with RawServer(slow_status_line) as server, HttpClient(_target(server.base_url, read_timeout=10)) as client:
        started = time.monotonic()
        exchange = client.request("GET", "models", timeout=1.0)
        elapsed = time.monotonic() - started
    assert (exchange.status, exchange.error) == (None, "timeout")
    assert "within 1 s" in exchange.error_detail
    # Sent twice (a request without an answer is sent again, as openai-python does), each cut at 1 s, after a
    # pause as long as the silence (the provider answered nothing meanwhile).
    assert exchange.attempts == ["no answer within 1 s; sent again"]
    assert 2.8 < elapsed < 4.5


def test_a_stream_that_stalls_is_cut_at_its_duration_limit() -> None:
    with RawServer(stalled_stream) as server, HttpClient(_target(server.base_url, read_timeout=10)) as client:
        exchange = client.stream("POST", "chat/completions", json_body={}, max_seconds=0.8)
    assert (exchange.status, exchange.cut_short, exchange.error) == (200, "duration", "duration")
    assert len(exchange.events) == 1
    assert exchange.elapsed_s < 1.5


# -- the circuit breaker -------------------------------------------------------------------------------------


def test_a_silent_endpoint_costs_a_few_timeouts_and_two_trials_then_the_breaker_answers() -> None:
    target = _target("http://127.0.0.1:1/v1", timeout=0.4, breaker_cooldown=0.2)
    with RawServer(silent) as server, HttpClient(replace(target, base_url=server.base_url)) as client:
        started = time.monotonic()
        sent = [client.request("POST", "chat/completions", json_body={}) for _ in range(5)]
        elapsed = time.monotonic() - started
        # Every request that goes is sent twice (no answer: sent again). After two the endpoint is open: the
        # second attempts wait and prove nothing (those requests went unanswered before); the third and
        # fourth requests go as trials after the cool-down, get no answer, and the breaker is dead.
        assert server.connections == 7
    assert [e.error for e in sent] == ["timeout"] * 5
    assert [e.not_sent for e in sent] == [False, False, False, False, True]
    assert sent[3].attempts[-1].startswith("no answer within 0.4 s; not sent again: circuit breaker open for POST")
    assert "2 trial requests alone after a 0.2 s cool-down got no answer either" in sent[4].error_detail
    assert elapsed < 7 * 0.4 + 6 * 0.2 + 1.0
    usage = client.usage
    # Opened: the endpoint, then POST requests (each counts its consecutive misses).
    assert (usage.requests, usage.resent, usage.not_sent, usage.breaker_trips) == (7, 3, 2, 2)


# -- bounded, Retry-After-aware backoff ----------------------------------------------------------------------


def scripted(*answers: httpx.Response) -> tuple[Callable[[httpx.Request], httpx.Response], list[float]]:
    """A handler answering the scripted responses in turn (the last one forever), noting when each came."""
    times: list[float] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        times.append(time.monotonic())
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler, times


def mock_client(handler: Callable[[httpx.Request], httpx.Response], **limits: Any) -> HttpClient:
    return HttpClient(_target("http://api.example/v1", **limits), transport=httpx.MockTransport(handler))


def test_429_is_retried_after_the_wait_it_asks_for() -> None:
    handler, times = scripted(httpx.Response(429, headers={"retry-after-ms": "150"}), httpx.Response(200, json={}))
    with mock_client(handler) as client:
        exchange = client.request("GET", "models")
    assert exchange.status == 200
    assert exchange.attempts == ["429, waited 0.15 s (retry-after-ms)"]
    assert times[1] - times[0] >= 0.14
    assert (client.usage.requests, client.usage.retries) == (2, 1)


def test_503_without_a_hint_backs_off_exponentially_and_gives_up() -> None:
    handler, times = scripted(httpx.Response(503))
    with mock_client(handler, max_retries=2, max_retry_wait=0.05) as client:
        exchange = client.request("GET", "models")
    assert exchange.status == 503
    assert len(times) == 3
    assert all("exponential backoff" in note for note in exchange.attempts)
    assert times[-1] - times[0] < 0.5


def test_a_retry_after_longer_than_the_maximum_wait_is_not_waited_for() -> None:
    handler, times = scripted(httpx.Response(429, headers={"retry-after": "3600"}))
    with mock_client(handler, max_retry_wait=10) as client:
        started = time.monotonic()
        exchange = client.request("GET", "models")
    assert (exchange.status, len(times)) == (429, 1)
    assert "longer than --max-retry-wait" in exchange.attempts[0]
    assert time.monotonic() - started < 0.5


def test_a_retry_is_never_sent_beyond_the_request_budget() -> None:
    handler, times = scripted(httpx.Response(429, headers={"retry-after": "0"}))
    with mock_client(handler, max_requests=1) as client:
        exchange = client.request("GET", "models")
    assert (exchange.status, len(times)) == (429, 1)
    assert "request budget" in exchange.attempts[0]


@pytest.mark.parametrize("status", [400, 500, 502])
def test_other_errors_are_not_retried(status: int) -> None:
    handler, times = scripted(httpx.Response(status))
    with mock_client(handler) as client:
        client.request("GET", "models")
    assert len(times) == 1


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250", "retry-after": "9"}, (0.25, "retry-after-ms")),
        ({"retry-after": "2"}, (2.0, "Retry-After")),
        ({"retry-after": "-5"}, (0.0, "Retry-After")),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_reading(headers: dict[str, str], expected: Any) -> None:
    assert retry_after(headers) == expected


def test_retry_after_as_an_http_date() -> None:
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    hint = retry_after({"retry-after": when})
    assert hint is not None
    assert 25 < hint[0] <= 31


# -- budgets -------------------------------------------------------------------------------------------------


def test_the_token_budget_stops_posts_once_the_provider_billed_it() -> None:
    def bill(request: httpx.Request) -> httpx.Response:
        usage = {"prompt_tokens": 10, "completion_tokens": 10} if request.method == "POST" else None
        return httpx.Response(200, json={"usage": usage})

    with mock_client(bill, token_budget=30) as client:
        client.request("POST", "chat/completions", json_body={})
        client.request("POST", "chat/completions", json_body={})
        with pytest.raises(BudgetExhausted, match="--token-budget"):
            client.request("POST", "chat/completions", json_body={})
        assert client.request("GET", "models").status == 200  # costs no tokens
    assert client.usage.prompt_tokens + client.usage.completion_tokens == 40


def test_nothing_is_sent_after_the_run_time_limit() -> None:
    with mock_client(lambda request: httpx.Response(200), max_run_seconds=0.2) as client:
        client.request("GET", "models")
        time.sleep(0.25)
        with pytest.raises(BudgetExhausted, match="run time limit"):
            client.request("GET", "models")


def test_a_request_cut_by_the_run_time_limit_is_not_run_not_failed() -> None:
    with RawServer(silent) as server, HttpClient(_target(server.base_url, max_run_seconds=0.5)) as client:
        started = time.monotonic()
        with pytest.raises(BudgetExhausted, match="run time limit"):
            client.request("GET", "models")
    assert time.monotonic() - started < 1.2


def test_no_more_requests_are_in_flight_than_the_concurrency_limit() -> None:
    lock, active, peak = threading.Lock(), [0], [0]

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return httpx.Response(200)

    with mock_client(handler, concurrency=2) as client:
        threads = [threading.Thread(target=client.request, args=("GET", "models")) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert peak[0] == 2
    assert client.usage.requests == 8


# -- memory ----------------------------------------------------------------------------------------------------


def test_a_512_mib_body_is_read_in_bounded_memory(reference_server: ReferenceServer) -> None:
    url = reference_server.fault_base_url("transport-huge-body")
    target = Target.build(url, api_key=TEST_KEY, env={}, max_body_bytes=1024 * 1024)
    with HttpClient(target) as client:
        tracemalloc.start()
        try:
            started = time.monotonic()
            exchange = client.request("GET", "models", headers={"x-oai-conformance-probe": "TRANSPORT-004"})
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert exchange.headers["content-length"] == str(512 * 1024 * 1024)
    assert (exchange.error, len(exchange.body)) == ("too-large", 1024 * 1024)
    # The whole process (client and the in-process server) stayed within a few times the 1 MiB cap.
    assert peak < 16 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"
    assert elapsed < 5


# -- every hostile fault: bounded, clear, no crash -------------------------------------------------------------

# What a hostile provider may cost one check: its own short limit (3 s for a cheap request; a stream that
# does not end is cut at its event cap within moments), plus slack for a loaded machine. The whole run is
# only held to a sanity bound: on a busy CI box the ~200 checks alone take a while.
CHECK_BOUND_S = 3.0 + 2.0
RUN_SANITY_S = 120.0


def _transport_durations(report: dict[str, Any]) -> dict[str, float]:
    return {
        row["id"]: sum(check["duration_s"] for check in row["checks"])
        for row in report["results"]
        if row["id"].startswith("TRANSPORT-")
    }


@pytest.mark.parametrize("fault", ONE_REQUEST)  # the whole-provider ones: tests/test_meta_end_to_end.py
def test_a_hostile_fault_gives_a_bounded_run_with_a_clear_failure(
    reference_server: ReferenceServer, fault: str
) -> None:
    report = cached_report(reference_server.fault_base_url(fault), TEST_KEY)
    assert sorted(failing(report)) == TABLE[fault], "the run fails exactly the fault's row of the table"
    assert report["run"]["duration_s"] < RUN_SANITY_S
    slow = {rid: seconds for rid, seconds in _transport_durations(report).items() if seconds > CHECK_BOUND_S}
    assert not slow, f"{fault} cost these checks more than {CHECK_BOUND_S} s: {slow}"
    errors = {row["id"]: row["message"] for row in report["results"] if row["outcome"] == "ERROR"}
    assert not errors, f"{fault} crashed checks: {errors}"
    row = next(row for row in report["results"] if row["id"] == OWNER[fault])
    assert row["outcome"] in ("FAIL", "TIMEOUT")
    violation = next(c["violation"] for c in row["checks"] if c["outcome"] == row["outcome"])
    assert violation["expected"]
    assert violation["actual"]
    assert violation["evidence"]


def test_every_hostile_fault_at_once_under_tight_limits(reference_server: ReferenceServer) -> None:
    url = reference_server.fault_base_url(*ONE_REQUEST)
    limits = {"timeout": 2.0, "max_stream_seconds": 3.0, "max_body_bytes": 2 * 1024 * 1024, "breaker_cooldown": 1.0}
    report = score(url, TEST_KEY, property_tests=False, **limits)  # the property run would only add time
    validate_report(report)
    outcomes = {row["id"]: row["outcome"] for row in report["results"]}
    owners = {OWNER[fault] for fault in ONE_REQUEST}
    assert {rid: outcomes[rid] for rid in owners if outcomes[rid] not in ("FAIL", "TIMEOUT")} == {}
    assert "ERROR" not in outcomes.values()
    # All of them together: two 2 s timeouts (then the breaker answers for GET /models) and moments for the rest.
    assert sum(_transport_durations(report).values()) < 2 * 2.0 + 4.0
    assert report["run"]["duration_s"] < RUN_SANITY_S
    limits = report["target"]["limits"]
    assert (limits["timeout_s"], limits["max_stream_seconds"]) == (2.0, 3.0)


# -- the CLI against providers that never answer -----------------------------------------------------------------


def test_cli_against_a_provider_that_never_answers_finishes_within_its_timeout(tmp_path: Path) -> None:
    with RawServer(silent) as server:
        started = time.monotonic()
        code = main(["run", "--base-url", server.base_url, "--api-key", KEY, "--timeout", "2", "--out", str(tmp_path)])
        elapsed = time.monotonic() - started
    assert code == 3
    assert elapsed < 3 * 2 + 3  # GET /models sent twice, a pause as long as its silence between; start-up and report
    report = json.loads((tmp_path / "report.json").read_text())
    validate_report(report)
    assert report["run"]["aborted"].startswith("target unreachable: timeout")


class HangPosts:
    """GET is served; every POST is taken in and never answered (and counted)."""

    def __init__(self) -> None:
        self.hung = 0
        self.hung_ours = 0  # sent by the suite's own client (its user agent), not by an SDK or schemathesis

    def __call__(self, app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["method"] == "POST":
                self.hung += 1
                agent = dict(scope.get("headers", [])).get(b"user-agent", b"")
                self.hung_ours += agent.startswith(b"oai-conformance/")
                while (await receive())["type"] != "http.disconnect":
                    pass
                return
            await app(scope, receive, send)

        return middleware


class WrappedServer(ReferenceServer):
    """The reference provider with an extra ASGI wrapper outside everything."""

    def __init__(self, wrap: Callable[[ASGIApp], ASGIApp], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.wrap = wrap

    def _app(self) -> ASGIApp:
        return self.wrap(super()._app())


def test_cli_against_a_provider_that_never_answers_a_post_costs_a_few_timeouts(tmp_path: Path) -> None:
    hang = HangPosts()
    with WrappedServer(hang, api_key=TEST_KEY, stream_delay=0.001) as server:
        limits = ["--timeout", "1", "--max-stream-seconds", "1", "--breaker-cooldown", "1"]
        code = run_cli(server.base_url, tmp_path, *limits, "--quiet")
    report = json.loads((tmp_path / "report.json").read_text())
    validate_report(report)
    usage = report["usage"]
    seen = (code, hang.hung, hang.hung_ours, usage)
    assert code == 1, seen
    assert usage["breaker_trips"] >= 2, seen
    # Dozens of checks POST; the provider costs a few timeouts (two per endpoint, then one), not one each,
    # plus what was already in flight when a breaker opened: the engine sends every probe up front, so
    # up to --concurrency (4) POSTs can be in flight at that moment (14 seen once under load).
    assert hang.hung_ours <= 10 + 4, seen
    assert usage["not_sent"] > 2 * hang.hung, seen
    timed_out = [row for row in report["results"] if row["outcome"] == "TIMEOUT"]
    assert any("circuit breaker" in row["message"] for row in timed_out)


def test_run_timeout_stops_the_run_and_says_so(tmp_path: Path) -> None:
    with WrappedServer(HangPosts(), api_key=TEST_KEY, stream_delay=0.001) as server:
        started = time.monotonic()
        # Every POST hangs for longer than the whole run may last, so the limit is reached whatever the
        # machine's speed (with a --timeout below it, a fast run could end first, its POSTs timed out).
        code = run_cli(server.base_url, tmp_path, "--timeout", "10", "--run-timeout", "3", "--quiet")
        elapsed = time.monotonic() - started
    report = json.loads((tmp_path / "report.json").read_text())
    validate_report(report)
    assert code == 124
    assert report["run"]["aborted"].startswith("run time limit of 3 s reached after ")
    assert report["target"]["limits"]["max_run_seconds"] == 3
    not_run = [row for row in report["results"] if row["outcome"] == "SKIP" and "run time limit" in row["message"]]
    assert not_run
    # The requests clipped to the limit, the checks judged and the report: a little over 3 s.
    assert elapsed < 3 + 5, elapsed


# -- interruption ------------------------------------------------------------------------------------------------


def _interrupting_run(signum: int, after: int) -> Callable[..., Any]:
    """``runner.run`` that receives ``signum`` after ``after`` results, as Ctrl-C or a CI runner would send it."""

    def interrupted(target: Target, **kwargs: Any) -> Any:
        seen = []

        def on_result(result: Any) -> None:
            seen.append(result)
            if len(seen) == after:
                os.kill(os.getpid(), signum)  # delivered to this (the main) thread right here

        kwargs["on_result"] = on_result
        return run(target, **kwargs)

    return interrupted


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_writes_the_partial_report_and_exits_interrupted(
    reference_server: ReferenceServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int, code: int
) -> None:
    before = signal.getsignal(signum)
    monkeypatch.setattr(conformance.cli, "run", _interrupting_run(signum, after=5))
    result = run_cli(reference_server.base_url, tmp_path, "--quiet", "--format", "md")
    assert result == code
    assert signal.getsignal(signum) is before  # the run's handler is gone again
    report = json.loads((tmp_path / "report.json").read_text())
    validate_report(report)
    name = signal.Signals(signum).name
    assert report["run"]["aborted"].startswith(f"interrupted by {name} after 5 of ")
    ran = [row for row in report["results"] if row["checks"]]
    not_run = [row for row in report["results"] if not row["checks"]]
    assert 1 <= len(ran) <= 5
    assert not_run
    assert all(row["outcome"] == "SKIP" and row["message"].startswith("not run: interrupted") for row in not_run)
    assert (tmp_path / "report.md").exists()


# -- secrets ---------------------------------------------------------------------------------------------------------

SECRET_HEADER = "X-Tenant-Secret"
SECRET_VALUE = "tenant-secret-9f8e7d6c5b4a"


def test_a_secret_header_goes_to_the_target_only_and_never_into_evidence() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        seen = {k: v for k, v in request.headers.items() if k.startswith("x-")}
        return httpx.Response(400, json={"error": {"message": f"bad request {seen}"}}, headers={"x-echo": str(seen)})

    limits = {"headers": {SECRET_HEADER: SECRET_VALUE, "X-Plain": "plain"}, "secret_headers": [SECRET_HEADER]}
    with mock_client(echo, **limits) as client:
        here = client.request("GET", "models")
        there = client.request("GET", "http://elsewhere.example/v1/models")
    assert here.request_headers[SECRET_HEADER.lower()] == SECRET_VALUE
    assert SECRET_HEADER.lower() not in there.request_headers
    assert "x-plain" not in there.request_headers
    evidence = json.dumps(here.evidence(client.redact).to_dict())
    assert SECRET_VALUE not in evidence
    assert "plain" in evidence
    target = client.target
    assert SECRET_VALUE not in repr(target)
    assert SECRET_VALUE not in json.dumps(target.public_dict())
    assert target.public_dict()["headers"] == ["x-plain", "x-tenant-secret"]


def _echoing(app: ASGIApp) -> ASGIApp:
    """Errors repeat the key and the secret header in their message, and the key in a response header."""
    echoed = echo_key_in_errors(app, also=(SECRET_HEADER.lower().encode(),))

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        authorization = dict(scope.get("headers", [])).get(b"authorization", b"")

        async def leaky_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400 and authorization:
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"x-echo-authorization", authorization)],
                }
            await send(message)

        await echoed(scope, receive, leaky_send)

    return middleware


def test_no_output_of_a_run_against_a_provider_that_echoes_the_key_contains_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpcore then logs every response's headers, the echo among them
    out = tmp_path / "out"
    with WrappedServer(_echoing, api_key=KEY, stream_delay=0.001) as server:
        formats = [arg for fmt in ("md", "html", "junit", "badge") for arg in ("--format", fmt)]
        code = run_cli(server.base_url, out, "--secret-header", f"{SECRET_HEADER}: {SECRET_VALUE}", *formats, key=KEY)
    captured = capsys.readouterr()
    outputs = {"stdout": captured.out, "stderr": captured.err, "log records": caplog.text}
    outputs |= {"log args": " ".join(repr(record.args) for record in caplog.records)}
    outputs |= {str(path): path.read_text(encoding="utf-8") for path in out.rglob("*") if path.is_file()}
    assert code in (0, 1)
    assert {"report.json", "report.md", "report.html", "junit.xml", "badge.json"} <= {Path(p).name for p in outputs}
    for secret in (KEY, SECRET_VALUE):
        leaks = [where for where, text in outputs.items() if secret in text]
        assert not leaks, f"{secret[:6]}… leaked into {leaks}"
    # Not vacuous: the provider did echo both, and the report shows where, redacted.
    report = json.loads((out / "report.json").read_text())
    excerpts = [
        ev.get("body_excerpt") or ""
        for row in report["results"]
        for check in row["checks"]
        for ev in (check["violation"] or {}).get("evidence", [])
    ]
    assert any(f"{SECRET_HEADER.lower()}=[REDACTED]; Received API Key = " in text for text in excerpts)
    assert "(b'x-echo-authorization', b'Bearer [REDACTED]')" in caplog.text  # httpcore logged the echoed key


def test_pytest_plugin_output_never_shows_the_key(pytester: pytest.Pytester) -> None:
    with WrappedServer(_echoing, api_key=KEY, stream_delay=0.001) as server:
        result = pytester.runpytest_inprocess(
            "--pyargs",
            "conformance",
            "-p",
            "no:randomly",
            "-l",  # locals in tracebacks
            "-rA",
            "--oai-base-url",
            server.base_url,
            "--oai-api-key",
            KEY,
            "--oai-chat-model",
            "ref-chat",
            "-k",
            "auth or errors",
        )
    text = result.stdout.str() + result.stderr.str()
    assert "passed" in text or "failed" in text
    assert KEY not in text


def test_a_full_huge_body_run_keeps_the_process_small(reference_server: ReferenceServer) -> None:
    # ru_maxrss is the process's peak so far (KiB on Linux): buffering the 512 MiB body would raise it by that.
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    score(reference_server.fault_base_url("transport-huge-body"), TEST_KEY, property_tests=False)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 100, f"peak RSS grew by {grown_mib:.0f} MiB"
