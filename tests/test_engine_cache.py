"""The engine's probe cache: each probe computed once, in any thread, all sent before any check is judged."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.core.results import NotApplicable
from conformance.engine.cache import ProbeCache
from conformance.engine.registry import PROBES as REGISTRY
from conformance.engine.registry import RegistryError as ProbeError
from conformance.engine.registry import load, probe

WAIT = 10.0  # seconds a barrier waits: only reached when the code under test is broken


@pytest.fixture(autouse=True)
def _own_registry() -> Iterator[None]:
    """Probes declared by a test are gone after it; the suite's own stay (imported once, registered once)."""
    yield
    for name, definition in list(REGISTRY.items()):
        if definition.origin.startswith(f"{__name__}."):
            del REGISTRY[name]


class State:
    """What a probe gets as ``run_state``: here only a log of what ran."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def ran(self, name: str) -> None:
        with self.lock:
            self.calls.append(name)


def test_a_probe_is_computed_once_however_many_threads_read_it_at_once() -> None:
    started = threading.Event()
    release = threading.Event()

    @probe
    def t_slow_answer(run_state: State) -> str:
        run_state.ran("t_slow_answer")
        started.set()
        release.wait(WAIT)
        return "answer"

    state = State()
    cache = ProbeCache(state)
    got: list[str] = []
    readers = [threading.Thread(target=lambda: got.append(cache.get("t_slow_answer"))) for _ in range(5)]
    for reader in readers:
        reader.start()
    assert started.wait(WAIT)
    release.set()
    for reader in readers:
        reader.join(WAIT)
    assert got == ["answer"] * 5
    assert state.calls == ["t_slow_answer"]


@pytest.mark.parametrize(
    "raised",
    [
        ValueError("the provider sent garbage"),
        NotApplicable("no model for chat"),
    ],
    ids=["exception", "not-applicable"],
)
def test_what_a_probe_raised_is_raised_again_to_every_reader(raised: BaseException) -> None:
    @probe
    def t_broken(run_state: State) -> None:
        run_state.ran("t_broken")
        raise raised

    @probe
    def t_reads_broken(t_broken: None) -> str:
        return "never"

    state = State()
    cache = ProbeCache(state)
    for name in ("t_broken", "t_broken", "t_reads_broken"):
        with pytest.raises(type(raised)) as caught:
            cache.get(name)
        assert caught.value is raised
    assert state.calls == ["t_broken"]


def test_an_interrupt_in_a_probe_is_not_kept_as_its_result() -> None:
    @probe
    def t_interrupted(run_state: State) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ProbeCache(State()).get("t_interrupted")


def test_the_plan_puts_dependencies_first_and_slow_probes_ahead() -> None:
    @probe
    def t_model(run_state: State) -> str:
        return "m"

    @probe
    def t_chat(t_model: str) -> str:
        return t_model

    @probe
    def t_stream(t_model: str, t_chat: str) -> str:
        return t_chat

    @probe(slow=True)
    def t_property(t_model: str) -> str:
        return t_model

    order = ProbeCache(State()).plan(["run_state", "t_stream", "not_a_probe", "t_chat", "t_property"])
    assert order == ["t_model", "t_property", "t_chat", "t_stream"]


def test_a_probe_taking_a_fixture_that_is_no_probe_is_refused_when_planned() -> None:
    @probe
    def t_needs_request(request: Any) -> None:
        return None

    with pytest.raises(ProbeError, match="takes 'request', which is not a probe"):
        ProbeCache(State()).plan(["t_needs_request"])


def test_an_after_that_closes_a_cycle_is_refused() -> None:
    @probe(after=("t_second",))
    def t_first(run_state: State) -> None:
        return None

    @probe
    def t_second(t_first: None) -> None:
        return None

    with pytest.raises(ProbeError, match="wait for each other"):
        ProbeCache(State()).plan(["t_first", "t_second"])


def test_the_same_name_declared_by_two_functions_is_refused() -> None:
    @probe
    def t_twice(run_state: State) -> None:
        return None

    def again(run_state: State) -> None:
        return None

    again.__name__ = "t_twice"
    with pytest.raises(ProbeError, match="declared twice"):
        probe(again)


def test_after_orders_probes_this_run_sends_and_ignores_the_others() -> None:
    @probe
    def t_read(run_state: State) -> None:
        run_state.ran("t_read")

    @probe
    def t_list(run_state: State) -> None:
        run_state.ran("t_list")

    @probe(after=("t_read", "t_list"))
    def t_cancel(run_state: State) -> None:
        run_state.ran("t_cancel")

    state = State()
    cache = ProbeCache(state)
    cache.send(["t_cancel", "t_read"], workers=0)  # planned, not sent: t_list is not wanted
    cache.get("t_cancel")
    assert state.calls == ["t_read", "t_cancel"]


@pytest.mark.parametrize("workers", [0, 1, 3])
def test_a_last_probe_is_sent_after_every_other_but_those_that_read_it(workers: int) -> None:
    @probe(last=True)
    def t_provoke(run_state: State) -> str:
        run_state.ran("t_provoke")
        return "cooldown"

    @probe
    def t_early(run_state: State) -> None:
        run_state.ran("t_early")

    @probe
    def t_reads_it(t_provoke: str, run_state: State) -> None:
        run_state.ran("t_reads_it")

    @probe
    def t_late(run_state: State) -> None:
        run_state.ran("t_late")

    state = State()
    cache = ProbeCache(state)
    cache.send(["t_provoke", "t_early", "t_reads_it", "t_late"], workers=workers)
    if workers == 0:
        cache.get("t_provoke")  # read first, yet sent after the probes that do not read it
        cache.get("t_reads_it")
    assert state.calls[-2:] == ["t_provoke", "t_reads_it"]
    assert sorted(state.calls[:2]) == ["t_early", "t_late"]
    cache.close(wait_s=WAIT)


def test_workers_send_independent_probes_side_by_side_and_finish_before_send_returns() -> None:
    both = threading.Barrier(2, timeout=WAIT)  # passed only when the two run at the same time

    def meets(name: str) -> Any:
        def body(run_state: State) -> str:
            run_state.ran(name)
            both.wait()
            return name

        body.__name__ = body.__qualname__ = name
        return body

    probe(meets("t_left"))
    probe(meets("t_right"))
    state = State()
    cache = ProbeCache(state)
    assert cache.send(["t_left", "t_right"], workers=2) == ["t_left", "t_right"]
    # Both are done when send returns: no thread runs while checks are judged.
    assert sorted(state.calls) == ["t_left", "t_right"]
    assert not [t for t in threading.enumerate() if t.name.startswith("oai-conformance-probe")]
    # Raises BrokenBarrierError unless the two ran at the same time (whichever threads ran them).
    assert cache.get("t_left") == "t_left"
    assert cache.get("t_right") == "t_right"
    cache.close(wait_s=WAIT)


def test_generator_probes_are_torn_down_at_close_in_reverse_order() -> None:
    torn: list[str] = []

    @probe
    def t_upload(run_state: State) -> Iterator[str]:
        yield "file-1"
        torn.append("t_upload")

    @probe
    def t_job(t_upload: str) -> Iterator[str]:
        yield f"job on {t_upload}"
        torn.append("t_job")

    cache = ProbeCache(State())
    assert cache.get("t_job") == "job on file-1"
    assert torn == []
    cache.close(wait_s=0)
    assert torn == ["t_job", "t_upload"]
    cache.close(wait_s=0)
    assert torn == ["t_job", "t_upload"], "torn down once"


def test_a_failing_teardown_is_noted_not_raised() -> None:
    @probe
    def t_cleanup_fails(run_state: State) -> Iterator[str]:
        yield "x"
        raise OSError("connection reset while deleting the file")

    cache = ProbeCache(State())
    cache.get("t_cleanup_fails")
    cache.close(wait_s=0)
    assert cache.teardown_errors == ["OSError: connection reset while deleting the file"]


def test_a_generator_probe_set_up_after_close_is_torn_down_at_once() -> None:
    torn: list[str] = []

    @probe
    def t_late(run_state: State) -> Iterator[str]:
        yield "late"
        torn.append("t_late")

    cache = ProbeCache(State())
    cache.close(wait_s=0)
    assert cache.get("t_late") == "late"
    assert torn == ["t_late"]


def test_every_probe_of_the_suite_can_be_planned() -> None:
    """A suite probe that takes something other than a probe would be an ERROR in every run."""
    load()
    suite = [name for name, definition in REGISTRY.items() if definition.origin.startswith("conformance.")]
    assert {"property_run", "chat_stream", "file_upload", "python_sdk", "node_launch"} <= set(suite)
    order = ProbeCache(State()).plan(suite)
    assert sorted(order) == sorted(suite)
    # The property run is queued ahead of the probes the first checks read.
    assert order.index("property_run") < order.index("chat_stream")
