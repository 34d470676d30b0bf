"""The worker processes of a property run: started when the run starts, fuzzing one operation each at a time,
ended with the run.

Each worker is a fresh ``python`` running :mod:`conformance.property.worker` with a fixed set of imports:
Hypothesis draws some values from the constants of the local modules loaded in its process, so a worker
generates the same cases whatever the run's process has loaded, however many workers there are and
whichever of them fuzzes an operation. Operations go out in the run's order, one to each idle worker;
their results come back in that order, whatever order they finished in.

No worker outlives the run: the run closes them (a polite stop, then a kill), a worker whose run went away
ends itself, and a worker that neither sends a request nor reports for ``idle_s`` seconds is killed and
reported as the run's error.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

import conformance
from conformance.property.protocol import Fuzzed, Setup, recv_message, send_message
from conformance.property.relay import Gate, Relay
from conformance.property.results import Fragment
from conformance.transport.exchange import Redactor
from conformance.transport.policy import Policy, Share

# The worker's interpreter finds this package where the run found it (never in the current directory).
_BOOT: Final = (
    "import sys; sys.path[:] = [sys.argv[1], *(path for path in sys.path if path)]; "
    "from conformance.property.worker import main; main(*map(int, sys.argv[2:5]))"
)
IDLE_S: Final = 60.0  # a worker that neither sends a request nor reports for this long is stuck
_CLOSE_S: Final = 2.0  # how long closing waits for the workers to end before killing them


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    control: socket.socket
    relay: Relay
    stderr: IO[bytes]
    label: str | None = None  # the operation it is fuzzing


@dataclass
class Workers:
    """``count`` worker processes, started at once (they load schemathesis while the run sends its
    hand-built cases); :meth:`fuzz` hands them the operations, :meth:`close` ends them."""

    count: int
    policy: Policy
    share: Share
    gate: Gate
    hypothesis_home: Path
    idle_s: float = IDLE_S
    _workers: list[_Worker] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.redact = Redactor(list(self.policy.target.secrets))
        try:
            for _ in range(self.count):
                self._workers.append(self._start())
        except BaseException:
            self.close()
            raise

    def _start(self) -> _Worker:
        control, control_end = socket.socketpair()
        wire, wire_end = socket.socketpair()
        ends = (control_end.fileno(), wire_end.fileno())
        root = str(Path(conformance.__file__).resolve().parent.parent)
        env = {
            **os.environ,
            # Set iteration order (and so anything generated from a set) the same in every run.
            "PYTHONHASHSEED": "0",
            "HYPOTHESIS_STORAGE_DIRECTORY": str(self.hypothesis_home),
        }
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 - read when the worker fails, closed with it
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", _BOOT, root, *map(str, ends), str(os.getpid())],
                pass_fds=ends,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=env,
            )
        except BaseException:
            for end in (control, wire, stderr):
                end.close()
            raise
        finally:
            control_end.close()
            wire_end.close()
        return _Worker(process, control, Relay(wire, self.policy, self.share, self.gate), stderr)

    def fuzz(self, setup: Setup, order: list[str], stopped: Callable[[], bool]) -> Iterator[Fuzzed]:
        """Every operation of ``order`` fuzzed by a worker, yielded in that order; none is started once
        ``stopped()`` (a spent budget, a silent provider), and those are not yielded."""
        for worker in list(self._workers):
            self._tell(worker, setup)
        pending, done, position = deque(order), {}, 0
        idle = list(self._workers)
        last_report = time.monotonic()
        while True:
            while idle and pending and not stopped():
                worker, worker.label = idle.pop(0), pending.popleft()
                self._tell(worker, worker.label)
            busy = {worker.control: worker for worker in self._workers if worker.label is not None}
            if not busy:
                break
            ready, _, _ = select.select(list(busy), [], [], 0.25)
            for sock in ready:
                worker = busy[sock]
                label, worker.label = worker.label, None
                assert label is not None
                try:
                    done[label] = recv_message(sock)
                    idle.append(worker)
                except (EOFError, OSError):
                    done[label] = self._lost(worker, label, "exited")
                last_report = time.monotonic()
            if not ready and self._stuck(last_report):
                for worker in busy.values():
                    label, worker.label = worker.label, None
                    assert label is not None
                    done[label] = self._lost(worker, label, f"was stuck for {self.idle_s:g} s and was stopped")
            while position < len(order) and order[position] in done:
                yield done.pop(order[position])
                position += 1
        if pending and not stopped():  # every worker was lost
            for label in pending:
                done[label] = Fuzzed(label, Fragment(errors=[f"{label}: not fuzzed: no property worker was left"]))
        for label in order[position:]:
            if label in done:
                yield done.pop(label)

    def _tell(self, worker: _Worker, message: object) -> None:
        with contextlib.suppress(OSError):  # it is gone: reading its answer says so
            send_message(worker.control, message)

    def _stuck(self, last_report: float) -> bool:
        if any(worker.relay.busy for worker in self._workers):
            return False
        active = max([last_report, *(worker.relay.last_active for worker in self._workers)])
        return time.monotonic() - active > self.idle_s

    def _lost(self, worker: _Worker, label: str, what: str) -> Fuzzed:
        """End a worker that failed; what it fuzzed is the run's error (never the provider's)."""
        self._workers.remove(worker)
        self._end(worker, wait_s=0.0)
        worker.stderr.seek(0)
        tail = " ".join(worker.stderr.read().decode("utf-8", "replace").split())[-400:]
        worker.stderr.close()
        code = worker.process.returncode
        why = f"{label}: the property worker fuzzing it {what} (exit code {code}){': ' if tail else ''}{tail}"
        return Fuzzed(label, Fragment(errors=[self.redact(why)]))

    def close(self) -> None:
        """End every worker: they are told to stop, and killed if they have not within a moment."""
        workers, self._workers = self._workers, []
        for worker in workers:
            self._tell(worker, None)
        deadline = time.monotonic() + _CLOSE_S
        for worker in workers:
            self._end(worker, wait_s=max(deadline - time.monotonic(), 0.0))
            worker.stderr.close()

    def _end(self, worker: _Worker, *, wait_s: float) -> None:
        try:
            worker.process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()
        with contextlib.suppress(OSError):
            worker.control.close()
        worker.relay.close()
