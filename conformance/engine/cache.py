"""The probes of one run: each computed once, sent side by side before any check is judged.

:meth:`ProbeCache.send` plans the probes the selected checks need (each after the probes it reads),
works through them in worker threads within the run's concurrency and returns when every one has a
value or an error. Threads exist only during that phase; checks are judged afterwards, in the calling
thread, from values that no longer change. At ``--concurrency 1`` nothing is sent ahead: each probe is
computed when the first check reads it, so the requests go out one at a time in check order.

What a probe raises (a Violation, a spent budget, NotApplicable) is kept and raised again to every
reader. A generator probe is torn down when the cache closes, in the reverse order of set-up.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any

from conformance.engine.registry import PROBES, ROOT, ProbeDef, RegistryError, closure

MAX_WORKERS = 16


class _Slot:
    """One probe's value, or what it raised; ``done`` once either is there."""

    __slots__ = ("done", "error", "traceback", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.traceback: TracebackType | None = None


class ProbeCache:
    """The probes of one run: computed once, in any thread."""

    def __init__(self, state: Any) -> None:
        self._state = state
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.Lock()
        self._teardowns: list[Iterator[Any]] = []
        self._planned: frozenset[str] = frozenset()
        self._closed = False
        self.teardown_errors: list[str] = []
        self.reads: dict[str, set[str]] = {}  # the probes each probe read, its arguments and any it asked for
        # Which probe the current thread is computing (the transport labels its requests with it).
        self.current = threading.local()

    # -- reading ---------------------------------------------------------------------------------------

    def get(self, name: str) -> Any:
        """The probe's value: computed here if nobody has started it, else waited for."""
        reader = getattr(self.current, "name", None)
        with self._lock:
            if reader is not None and reader != name:
                self.reads.setdefault(reader, set()).add(name)
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

    def label(self) -> str | None:
        """The probe the calling thread is computing, if any."""
        return getattr(self.current, "name", None)

    def preset(self, name: str, value: Any, error: BaseException | None = None) -> None:
        """Give a probe its value (or error) without computing it: a re-run that keeps what an earlier
        run of the same probe found (the meta-tests re-send only what a fault can change)."""
        slot = _Slot()
        slot.value, slot.error = value, error
        slot.traceback = error.__traceback__ if error is not None else None
        slot.done.set()
        with self._lock:
            self._slots[name] = slot

    def result(self, name: str) -> tuple[Any, BaseException | None] | None:
        """A computed probe's value and what it raised, or None when it was not computed."""
        slot = self._slots.get(name)
        if slot is None or not slot.done.is_set():
            return None
        return slot.value, slot.error

    def _compute(self, name: str, slot: _Slot) -> None:
        definition = PROBES.get(name)
        previous = getattr(self.current, "name", None)
        try:
            if definition is None:
                raise RegistryError(f"no probe named {name!r}")
            for earlier in self._earlier(definition):  # an order on the provider, not a value this probe reads
                with contextlib.suppress(Exception):
                    self.get(earlier)
            self.current.name = name
            args = {arg: self._state if arg == ROOT else self.get(arg) for arg in definition.argnames}
            value = definition.func(**args)
            if definition.generator:
                value = self._set_up(name, value)
            slot.value = value
        except BaseException as exc:
            slot.error, slot.traceback = exc, exc.__traceback__
            if not isinstance(exc, Exception):
                raise
        finally:
            self.current.name = previous
            slot.done.set()

    def _earlier(self, definition: ProbeDef) -> list[str]:
        """The planned probes ``definition`` is sent after: its ``after``, and for a ``last`` probe every
        planned probe that is not ``last`` and does not read it (directly or through another)."""
        if not definition.last:
            return [name for name in definition.after if name in self._planned]
        return sorted(
            name
            for name in self._planned
            if not PROBES[name].last
            and definition.name not in closure(PROBES[name].argnames)
            and definition.name not in PROBES[name].after
        )

    def _set_up(self, name: str, generator: Iterator[Any]) -> Any:
        try:
            value = next(generator)
        except StopIteration:
            raise RegistryError(f"probe {name!r} did not yield a value") from None
        with self._lock:
            late = self._closed
            if not late:
                self._teardowns.append(generator)
        if late:  # finished after the run closed: nobody will read it
            self._tear_down(generator)
        return value

    # -- planning and sending --------------------------------------------------------------------------

    def plan(self, wanted: Iterable[str]) -> list[str]:
        """The probes among ``wanted`` and everything they depend on, each after its dependencies, in
        the order first wanted; slow probes lead."""
        order: list[str] = []
        visiting: list[str] = []

        def visit(name: str) -> None:
            definition = PROBES.get(name)
            if definition is None or name in order:
                return
            if name in visiting:
                cycle = " -> ".join([*visiting[visiting.index(name) :], name])
                raise RegistryError(f"probes depend on each other in a cycle: {cycle}")
            visiting.append(name)
            for arg in definition.argnames:
                if arg != ROOT and arg not in PROBES:
                    raise RegistryError(f"probe {name!r} takes {arg!r}, which is not a probe")
                visit(arg)
            visiting.pop()
            order.append(name)

        names = list(dict.fromkeys(wanted))
        for name in sorted(names, key=lambda n: (n in PROBES and PROBES[n].last, not (n in PROBES and PROBES[n].slow))):
            visit(name)
        planned = set(order)
        for name in order:  # an `after` that this run also sends must not close a cycle
            for earlier in PROBES[name].after:
                if earlier in planned and name in _ancestors(earlier, planned):
                    raise RegistryError(f"probes {name!r} and {earlier!r} wait for each other")
        return order

    def send(self, wanted: Iterable[str], *, workers: int) -> list[str]:
        """Compute the planned probes in ``workers`` threads and wait for all of them; returns the plan.
        With no workers nothing is sent now: each probe is computed when first read."""
        order = self.plan(wanted)
        self._planned = frozenset(order)
        if workers < 1 or not order:
            return order
        pending: queue.SimpleQueue[str] = queue.SimpleQueue()
        for name in order:
            pending.put(name)
        threads = [
            threading.Thread(target=self._work, args=(pending,), name=f"oai-conformance-probe-{n}", daemon=True)
            for n in range(min(workers, len(order), MAX_WORKERS))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            # A bounded wait keeps the main thread responsive to Ctrl-C while probes are in flight.
            while thread.is_alive():
                thread.join(timeout=0.2)
        return order

    def _work(self, pending: queue.SimpleQueue[str]) -> None:
        while not self._closed:
            try:
                name = pending.get_nowait()
            except queue.Empty:
                return
            # What it raised stays in its slot for the checks that read it.
            with contextlib.suppress(BaseException):
                self.get(name)

    # -- closing ---------------------------------------------------------------------------------------

    def close(self, *, wait_s: float = 0.0) -> None:
        """Stop sending; wait up to ``wait_s`` for probes in flight; tear the generator probes down."""
        self._closed = True
        deadline = time.monotonic() + wait_s
        for slot in list(self._slots.values()):
            slot.done.wait(timeout=max(deadline - time.monotonic(), 0.0))
        with self._lock:
            teardowns, self._teardowns = self._teardowns[::-1], []
        for generator in teardowns:
            self._tear_down(generator)

    def _tear_down(self, generator: Iterator[Any]) -> None:
        try:
            next(generator)
        except StopIteration:
            return
        except Exception as exc:  # the run's results stand; what failed is kept for the record
            self.teardown_errors.append(f"{type(exc).__name__}: {exc}")
            return
        generator.close()  # type: ignore[attr-defined]
        self.teardown_errors.append(f"{getattr(generator, '__name__', 'a probe')} yielded twice")


def _ancestors(name: str, planned: set[str]) -> set[str]:
    seen: set[str] = set()
    pending = [name]
    while pending:
        definition = PROBES[pending.pop()]
        for arg in (*definition.argnames, *(a for a in definition.after if a in planned)):
            if arg in PROBES and arg not in seen:
                seen.add(arg)
                pending.append(arg)
    return seen
