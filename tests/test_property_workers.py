"""The property run's worker processes (conformance/property/pool.py, worker.py, relay.py): the same cases
whatever the concurrency, every request through the run's policy, and no worker outliving its run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.core.catalogue import load_catalogue
from conformance.engine import RunState
from conformance.property import load_spec, operations, run_property_tests
from conformance.property.config import ENGINE_PROBES
from conformance.property.pool import Workers
from conformance.property.protocol import Refusal, Setup, recv_message, send_message
from conformance.property.relay import Relay, RelayAdapter
from conformance.property.results import Fragment, PropertyFailure, PropertyRun
from conformance.property.verdicts import Stop
from conformance.reference import ReferenceServer
from conformance.target import Target
from conformance.transport.client import HttpClient
from conformance.transport.limits import BudgetExhausted
from conformance.transport.policy import LeftOrigin, NotSent, Share
from tests.conftest import TEST_KEY
from tests.suite_runs import MODELS

AGENT = b"oai-conformance property tests"  # the agent of the generated cases


class Recorded(ReferenceServer):
    """The reference provider, recording what the property run sent: method, path and body, with the
    random parts (ids the provider made up, multipart boundaries) replaced."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen: list[tuple[str, str, str, bytes]] = []
        self.lock = threading.Lock()

    def _app(self) -> ASGIApp:
        app = super()._app()

        async def recording(scope: Scope, receive: Receive, send: Send) -> None:
            headers = dict(scope.get("headers", [])) if scope["type"] == "http" else {}
            if headers.get(b"user-agent") != AGENT:
                await app(scope, receive, send)
                return
            body = bytearray()

            async def read() -> Any:
                message = await receive()
                body.extend(message.get("body", b""))
                return message

            await app(scope, read, send)
            boundary = headers.get(b"content-type", b"").partition(b"boundary=")[2]
            seen = bytes(body).replace(boundary, b"BOUNDARY") if boundary else bytes(body)
            seen = re.sub(rb"(file|ft)-[0-9a-f]{24}|ft-oai-conformance-[0-9-]+", b"ID", seen)
            path = re.sub(r"(file|ft)-[0-9a-f]{24}|ft-oai-conformance-[0-9-]+", "ID", scope["path"])
            with self.lock:
                self.seen.append((scope["method"], path, scope["query_string"].decode(), seen))

        return recording


def target(base_url: str, **settings: Any) -> Target:
    return Target.build(base_url, api_key=TEST_KEY, env={}, **MODELS, **settings)


def property_run(base_url: str, **settings: Any) -> PropertyRun:
    state = RunState(target=target(base_url, **settings), catalogue=load_catalogue())
    try:
        return run_property_tests(state)
    finally:
        state.close()


# -- the same cases --------------------------------------------------------------------------------------------


def test_the_generated_cases_do_not_depend_on_the_concurrency() -> None:
    # One worker fuzzing every operation in turn, or three side by side: the same requests, the same verdicts.
    with Recorded(api_key=TEST_KEY, stream_delay=0.001) as server:
        alone = property_run(server.base_url, concurrency=1)
        one_at_a_time, server.seen[:] = sorted(server.seen), []
        beside = property_run(server.base_url, concurrency=4)
        side_by_side = sorted(server.seen)
    assert not alone.errors
    assert not beside.errors
    assert len(one_at_a_time) > 50  # the generated cases: the hand-built ones are sent without this agent
    assert one_at_a_time == side_by_side
    assert (alone.judged, alone.requests) == (beside.judged, beside.requests)


def test_hypothesis_writes_nothing_into_the_working_directory(
    reference_server: ReferenceServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYPOTHESIS_STORAGE_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    run = property_run(reference_server.base_url)
    assert not run.errors
    assert not (tmp_path / ".hypothesis").exists()
    assert (tmp_path / "cache" / "oai-conformance" / "hypothesis").is_dir()  # the workers' caches


def test_the_runs_own_process_never_loads_schemathesis_or_hypothesis() -> None:
    # Hypothesis is not safe in threads on CPython 3.11 (its AST parsing, gh-106905): it runs only in the
    # workers, each single-threaded where it generates.
    script = textwrap.dedent(
        f"""
        import sys
        from conformance.core.catalogue import load_catalogue
        from conformance.engine import RunState
        from conformance.property import run_property_tests
        from conformance.reference import ReferenceServer
        from conformance.target import Target

        server = ReferenceServer(api_key={TEST_KEY!r}, stream_delay=0.001).start()
        models = dict(chat_model="ref-chat", completion_model="ref-instruct", embedding_model="ref-embed")
        target = Target.build(server.base_url, api_key={TEST_KEY!r}, env={{}}, **models)
        run = run_property_tests(RunState(target=target, catalogue=load_catalogue()))
        loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("schemathesis", "hypothesis"))
        print(run.requests, len(run.errors), loaded)
        """
    )
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    requests_sent, errors, loaded = found.stdout.split(" ", 2)
    assert int(requests_sent) > 100
    assert errors == "0"
    assert loaded.strip() == "[]"


# -- refusals: the worker raises what the run's own adapter raises -----------------------------------------------


@pytest.mark.parametrize(
    ("refused", "raised", "cause"),
    [
        (BudgetExhausted("request budget of 9 spent"), BudgetExhausted, None),
        (LeftOrigin("GET http://elsewhere/ is not on the target's origin"), LeftOrigin, None),
        (NotSent("not sent: circuit breaker open for GET models"), requests.ConnectTimeout, NotSent),
        (httpx.ReadTimeout("timed out"), requests.ConnectTimeout, httpx.TimeoutException),
        (httpx.RemoteProtocolError("peer closed"), requests.ConnectionError, httpx.TransportError),
    ],
)
def test_a_refusal_is_raised_in_the_worker_as_in_the_run(
    refused: Exception, raised: type[Exception], cause: type[Exception] | None
) -> None:
    request = requests.Request("GET", "http://127.0.0.1:1/v1/models").prepare()
    with pytest.raises(raised) as caught:
        Refusal.of(refused).raise_for(request)
    assert str(refused) in str(caught.value)
    if cause is not None:
        assert isinstance(caught.value.__cause__, cause)
        assert isinstance(caught.value, requests.RequestException)
        assert caught.value.request is request


def test_a_run_that_stopped_stops_the_worker() -> None:
    request = requests.Request("POST", "http://127.0.0.1:1/v1/embeddings").prepare()
    with pytest.raises(Stop, match="share"):
        Refusal("stopped", "the property run's share of the request budget (9) was spent").raise_for(request)


def test_the_run_charges_as_many_engine_probes_as_schemathesis_sends() -> None:
    from schemathesis.engine.run.probes import PROBES

    assert len(PROBES) == ENGINE_PROBES


def test_a_worker_holds_a_slot_while_it_sends_around_the_policy() -> None:
    import socket

    http = HttpClient(target("http://127.0.0.1:9/v1", concurrency=1, timeout=2))
    here, there = socket.socketpair()
    relay = Relay(here, http.policy, Share(5, ""), lambda *_: None)
    adapter = RelayAdapter([there])
    got_a_slot = threading.Event()

    def other_probe() -> None:
        with http.policy.slots():
            got_a_slot.set()

    try:
        with adapter.slot():  # schemathesis' capability probes go out meanwhile
            thread = threading.Thread(target=other_probe)
            thread.start()
            assert not got_a_slot.wait(0.3)
        assert got_a_slot.wait(5)
        thread.join()
    finally:
        relay.close()
        there.close()
        http.close()


def test_messages_travel_whole() -> None:
    import socket

    here, there = socket.socketpair()
    with here, there:
        failure = PropertyFailure("schema", "ST108", "title", "message", "GET /models", "curl")
        found = Fragment(added=[failure], judged={"schema": 3}, reached={"GET /models"})
        sender = threading.Thread(target=send_message, args=(here, (found, b"x" * 3_000_000)))
        sender.start()
        got, big = recv_message(there)
        sender.join()
        here.close()
        with pytest.raises(EOFError):
            recv_message(there)
    assert got == found
    assert len(big) == 3_000_000
    merged = PropertyRun()
    merged.absorb(got)
    assert merged.failures == {"schema": [failure]}
    assert merged.counts == {"schema": 1}
    assert merged.judged == {"schema": 3}


# -- no worker outlives its run ------------------------------------------------------------------------------------


@pytest.fixture
def client() -> Iterator[HttpClient]:
    http = HttpClient(target("http://127.0.0.1:9/v1", timeout=2))
    try:
        yield http
    finally:
        http.close()


def setup_for(label: str) -> Setup:
    spec_operations = {f"{method} {path}": operation for path, method, operation in operations(load_spec())}
    return Setup(target("http://127.0.0.1:9/v1"), {label: spec_operations[label]}, {}, False, False)


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def test_closing_ends_the_zygote_and_every_worker(client: HttpClient, tmp_path: Path) -> None:
    pool = Workers(client.policy, lambda *_: None, tmp_path)
    pool._workers = [worker for _ in range(2) if (worker := pool._fork(Share(5, "spent"))) is not None]
    pids = [pool._process.pid, *(worker.pid for worker in pool._workers)]
    assert len(pids) == 3
    assert all(alive(pid) for pid in pids)
    pool.close()
    assert pool._process.poll() is not None
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in pids)


def test_a_worker_that_dies_is_the_runs_error_and_the_rest_is_not_lost(client: HttpClient, tmp_path: Path) -> None:
    pool: Workers

    def gate(*_: Any) -> None:  # the first generated case: every worker dies with it
        for worker in pool._workers:
            os.kill(worker.pid, signal.SIGKILL)

    pool = Workers(client.policy, gate, tmp_path)
    order = ["GET /models", "GET /engines"]
    try:
        found = list(pool.fuzz(setup_for("GET /models"), order, lambda: False, count=1, share=Share(50, "spent")))
    finally:
        pool.close()
    assert [fuzzed.label for fuzzed in found] == order
    assert "the property worker fuzzing it exited" in found[0].found.errors[0]
    assert "no property worker was left" in found[1].found.errors[0]


def test_without_a_zygote_nothing_is_fuzzed_and_that_is_the_runs_error(client: HttpClient, tmp_path: Path) -> None:
    pool = Workers(client.policy, lambda *_: None, tmp_path)
    try:
        os.killpg(pool._process.pid, signal.SIGKILL)
        found = list(pool.fuzz(setup_for("GET /models"), ["GET /models"], lambda: False, count=2, share=Share(5, "")))
    finally:
        pool.close()
    assert "no property worker was left" in found[0].found.errors[0]


def test_a_stuck_worker_is_stopped_and_reported(client: HttpClient, tmp_path: Path) -> None:
    pool: Workers

    def gate(*_: Any) -> None:  # the first generated case: the worker stops (and never reports)
        for worker in pool._workers:
            os.kill(worker.pid, signal.SIGSTOP)

    pool = Workers(client.policy, gate, tmp_path, idle_s=1.0)
    try:
        started = time.monotonic()
        found = list(pool.fuzz(setup_for("GET /models"), ["GET /models"], lambda: False, count=1, share=Share(50, "")))
        elapsed = time.monotonic() - started
    finally:
        pool.close()
    assert elapsed < 30  # the zygote's start-up, the first case, then one idle second
    assert "was stuck for 1 s" in found[0].found.errors[0]


def test_workers_end_when_their_run_is_killed(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from conformance.property.pool import Workers
        from conformance.target import Target
        from conformance.transport.client import HttpClient
        from conformance.transport.policy import Share

        client = HttpClient(Target.build("http://127.0.0.1:9/v1", api_key="k", env={{}}))
        pool = Workers(client.policy, lambda *_: None, Path({str(tmp_path)!r}))
        forked = [pool._fork(Share(5, "spent")) for _ in range(2)]
        print(pool._process.pid, *(worker.pid for worker in forked), flush=True)
        input()
        """
    )
    run = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert run.stdout is not None
    pids = [int(pid) for pid in run.stdout.readline().split()]
    assert len(pids) == 3
    assert all(alive(pid) for pid in pids)
    run.kill()
    run.wait()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in pids)
