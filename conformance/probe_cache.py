"""Shared probes: the requests several checks read, sent once per run and ahead of the checks.

A shared probe is a session fixture declared with :func:`probe` instead of ``pytest.fixture``. The
run's :class:`ProbeCache` computes its value once, and usually before any check asks for it: when
collection has settled which checks run, :meth:`ProbeCache.prefetch` starts worker threads that work
through the probes those checks need, in the order the checks will need them, while pytest runs the
checks in its main thread. A check that reaches a probe first computes it itself; one that finds it
in flight waits for it. The suite's own requests stay within the target's concurrency limit (the
slots of :class:`conformance.http.HttpClient`), whichever thread sends them.

A probe takes other probes and ``run_state`` as arguments. What it raises (a Violation, a skip, a
spent budget) is kept and raised again to every check that reads it, as pytest does for a session
fixture. A generator probe is torn down when the cache closes, in the reverse order of set-up.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import pytest

ROOT = "run_state"  # the one argument of a probe that is not itself a probe
MAX_WORKERS = 16

# What a probe may raise that belongs to its result (kept and raised again to each reader); anything
# else (KeyboardInterrupt, SystemExit) ends the run.
_KEPT: tuple[type[BaseException], ...] = (
    Exception,
    pytest.skip.Exception,
    pytest.fail.Exception,
    pytest.xfail.Exception,
)

F = TypeVar("F", bound=Callable[..., Any])


class ProbeError(RuntimeError):
    """A probe declaration the cache cannot compute: an unknown argument, a cycle, a name used twice."""


@dataclass(frozen=True)
class ProbeDef:
    name: str
    func: Callable[..., Any]
    argnames: tuple[str, ...]
    after: tuple[str, ...]  # probes that must have finished first, when this run sends them too
    slow: bool  # queued before the others, read by checks that run last
    generator: bool
    origin: str


REGISTRY: dict[str, ProbeDef] = {}


def probe(func: F | None = None, *, after: tuple[str, ...] = (), slow: bool = False) -> Any:
    """Declare a shared probe: a session fixture whose value the run's :class:`ProbeCache` computes.

    ``after`` orders probes that touch the same state on the provider (cancel a job only after it was
    read); ``slow`` marks a long probe (the property run, the openai-node script): it is queued ahead of the
    rest, and the checks that read it run after the others, which meanwhile do not wait for it.
    """

    def declare(func: Callable[..., Any]) -> Any:
        name = func.__name__
        argnames = tuple(inspect.signature(func).parameters)
        origin = f"{func.__module__}.{func.__qualname__}"
        known = REGISTRY.get(name)
        if known is not None and known.origin != origin:
            raise ProbeError(f"shared probe {name!r} is declared twice: {known.origin} and {origin}")
        REGISTRY[name] = ProbeDef(name, func, argnames, tuple(after), slow, inspect.isgeneratorfunction(func), origin)

        def fixture(**kwargs: Any) -> Any:
            # pytest passes the arguments too (so its fixture graph is the probes' graph); the cache
            # resolves them itself, in whichever thread computes the probe.
            return kwargs[ROOT].probes.get(name)

        names = (ROOT, *(arg for arg in argnames if arg != ROOT))
        fixture.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(arg, inspect.Parameter.POSITIONAL_OR_KEYWORD) for arg in names]
        )
        fixture.__name__ = fixture.__qualname__ = name
        fixture.__module__ = func.__module__
        fixture.__doc__ = func.__doc__
        return pytest.fixture(scope="session", name=name)(fixture)

    return declare(func) if func is not None else declare


# CPython 3.11 keeps one AST recursion counter per interpreter: two threads in ast.parse at once can
# raise "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905), e.g. pytest
# formatting a failure in the main thread while Hypothesis describes a strategy in the property run.
# While prefetch workers run, ast.parse takes a lock; the last worker to end releases the guard.
_PARSE_LOCK = threading.Lock()
_GUARD_LOCK = threading.Lock()
_parse_users = 0
_unguarded_parse = ast.parse


def _locked_parse(*args: Any, **kwargs: Any) -> Any:
    with _PARSE_LOCK:
        return _unguarded_parse(*args, **kwargs)


def _guard_ast_parse(on: bool) -> None:
    global _parse_users
    with _GUARD_LOCK:
        _parse_users += 1 if on else -1
        ast.parse = _locked_parse if _parse_users > 0 else _unguarded_parse  # type: ignore[assignment]
        if _parse_users <= 1:
            _keep_current_test_var(_parse_users > 0)


# pytest deletes PYTEST_CURRENT_TEST from os.environ after every check, and iterating os.environ in
# another thread meanwhile (urllib's getproxies, which requests and httpx call) raises
# KeyError('PYTEST_CURRENT_TEST'). While prefetch workers run, the variable is set but never deleted.
def _keep_current_test_var(on: bool) -> None:
    from _pytest import runner

    original = getattr(runner, "_oai_original_update", None)
    if on and original is None:
        original = runner._update_current_test_var
        runner._oai_original_update = original  # type: ignore[attr-defined]

        def update(item: Any, when: Any) -> None:
            if when:
                original(item, when)

        runner._update_current_test_var = update
    elif not on and original is not None:
        runner._update_current_test_var = original
        del runner._oai_original_update  # type: ignore[attr-defined]
        # Left set: pytest's next teardown deletes it, and would fail if it were gone already.


def reads_slow(names: Iterable[str]) -> bool:
    """Whether a check with these fixtures reads a slow probe (and so is better run after the others)."""
    return any(name in REGISTRY and REGISTRY[name].slow for name in names)


class _Slot:
    """One probe's value, or what it raised; ``done`` once either is there."""

    __slots__ = ("done", "error", "traceback", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.traceback: TracebackType | None = None


class ProbeCache:
    """The shared probes of one run: computed once, in any thread, prefetched on request."""

    def __init__(self, state: Any) -> None:
        self._state = state
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.Lock()
        self._teardowns: list[Iterator[Any]] = []
        self._planned: frozenset[str] = frozenset()
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._closed = False
        self._alive = 0  # prefetch workers still running (ast.parse is locked while there are any)
        self.teardown_errors: list[str] = []

    # -- reading ---------------------------------------------------------------------------------------

    def get(self, name: str) -> Any:
        """The probe's value: computed here if nobody has started it, else waited for."""
        with self._lock:
            slot = self._slots.get(name)
            mine = slot is None
            if slot is None:
                slot = self._slots[name] = _Slot()
        if mine:
            self._compute(name, slot)
        else:
            slot.done.wait()
        if slot.error is not None:
            raise slot.error.with_traceback(slot.traceback)
        return slot.value

    def _compute(self, name: str, slot: _Slot) -> None:
        definition = REGISTRY.get(name)
        try:
            if definition is None:
                raise ProbeError(f"no shared probe named {name!r}")
            for earlier in definition.after:
                if earlier in self._planned:
                    with contextlib.suppress(*_KEPT):
                        self.get(earlier)
            args = {arg: self._state if arg == ROOT else self.get(arg) for arg in definition.argnames}
            value = definition.func(**args)
            if definition.generator:
                value = self._set_up(name, value)
            slot.value = value
        except BaseException as exc:
            slot.error, slot.traceback = exc, exc.__traceback__
            if not isinstance(exc, _KEPT):
                raise
        finally:
            slot.done.set()

    def _set_up(self, name: str, generator: Iterator[Any]) -> Any:
        try:
            value = next(generator)
        except StopIteration:
            raise ProbeError(f"shared probe {name!r} did not yield a value") from None
        with self._lock:
            late = self._closed
            if not late:
                self._teardowns.append(generator)
        if late:  # finished after the run closed: nobody will read it
            self._tear_down(generator)
        return value

    # -- prefetching -----------------------------------------------------------------------------------

    def plan(self, wanted: Iterable[str]) -> list[str]:
        """The probes among ``wanted`` and everything they depend on, each after its dependencies, in
        the order first wanted; slow probes lead."""
        order: list[str] = []
        visiting: list[str] = []

        def visit(name: str) -> None:
            definition = REGISTRY.get(name)
            if definition is None or name in order:
                return
            if name in visiting:
                cycle = " -> ".join([*visiting[visiting.index(name) :], name])
                raise ProbeError(f"shared probes depend on each other in a cycle: {cycle}")
            visiting.append(name)
            for arg in definition.argnames:
                if arg != ROOT and arg not in REGISTRY:
                    raise ProbeError(f"shared probe {name!r} takes {arg!r}, which is not a shared probe")
                visit(arg)
            visiting.pop()
            order.append(name)

        names = list(dict.fromkeys(wanted))
        for name in sorted(names, key=lambda n: not (n in REGISTRY and REGISTRY[n].slow)):
            visit(name)
        planned = set(order)
        for name in order:  # an `after` that this run also sends must not close a cycle
            for earlier in REGISTRY[name].after:
                if earlier in planned and name in self._ancestors(earlier, planned):
                    raise ProbeError(f"shared probes {name!r} and {earlier!r} wait for each other")
        return order

    def _ancestors(self, name: str, planned: set[str]) -> set[str]:
        seen: set[str] = set()
        pending = [name]
        while pending:
            definition = REGISTRY[pending.pop()]
            for arg in (*definition.argnames, *(a for a in definition.after if a in planned)):
                if arg in REGISTRY and arg not in seen:
                    seen.add(arg)
                    pending.append(arg)
        return seen

    def prefetch(self, wanted: Iterable[str], *, workers: int) -> list[str]:
        """Start computing the planned probes in ``workers`` background threads; returns the plan."""
        order = self.plan(wanted)
        self._planned = frozenset(order)
        if workers < 1 or not order:
            return order
        for name in order:
            self._queue.put(name)
        count = min(workers, len(order), MAX_WORKERS)
        self._alive = count
        _guard_ast_parse(True)  # until the last worker ends
        for number in range(count):
            worker = threading.Thread(target=self._work, name=f"oai-conformance-probe-{number}", daemon=True)
            self._workers.append(worker)
            worker.start()
        return order

    def _work(self) -> None:
        try:
            while not self._closed:
                try:
                    name = self._queue.get_nowait()
                except queue.Empty:
                    return
                # What it raised stays in its slot for the checks that read it.
                with contextlib.suppress(BaseException):
                    self.get(name)
        finally:
            with self._lock:
                self._alive -= 1
                last = self._alive == 0
            if last:
                _guard_ast_parse(False)

    # -- closing ---------------------------------------------------------------------------------------

    def close(self, *, wait_s: float) -> None:
        """Stop prefetching, wait up to ``wait_s`` for probes in flight, tear the generator probes down."""
        self._closed = True
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        deadline = time.monotonic() + wait_s
        for worker in self._workers:
            worker.join(timeout=max(deadline - time.monotonic(), 0.0))
        with self._lock:
            teardowns, self._teardowns = self._teardowns[::-1], []
        for generator in teardowns:
            self._tear_down(generator)

    def _tear_down(self, generator: Iterator[Any]) -> None:
        try:
            next(generator)
        except StopIteration:
            return
        except Exception as exc:  # the run's results stand; what failed is kept here (not yet in the report)
            self.teardown_errors.append(f"{type(exc).__name__}: {exc}")
            return
        generator.close()  # type: ignore[attr-defined]
        self.teardown_errors.append(f"{getattr(generator, '__name__', 'a probe')} yielded twice")
