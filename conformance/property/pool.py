"""The worker processes of a property run: a zygote started when the run starts, and workers forked from it
-- the hand-built worker, then the fuzzing workers once the operations to fuzz are known -- all ended
with the run.

The zygote is a fresh ``python`` running :mod:`conformance.property.worker` in a session of its own: it
loads schemathesis once (while the run chooses its operations and models), warms it up without sending
anything, and forks each worker from that one state -- single-threaded, so forking is safe, and cheap,
so the workers cost one start-up between them and the run's own process never loads schemathesis or
Hypothesis. Hypothesis draws some values from the constants of the local modules loaded in its process;
every worker has the same ones, whatever the run's process has loaded, so it generates the same cases
however many workers there are and whichever fuzzes an operation. Operations go out in the run's order,
one to each idle fuzzing worker; their results come back in that order, whatever order they finished in.

How many workers fuzz side by side is the run's choice (:meth:`Workers.fuzz`); each has one request in
flight at a time, the hand-built worker several (its wires), each in a slot of the run's concurrency
limit like every request.

No worker outlives the run: closing kills the zygote's session (the zygote and every worker at once),
the zygote and the workers end themselves when their parent is gone, and a worker that neither sends a
request nor reports for ``idle_s`` seconds is killed and reported as the run's error. POSIX only (the
sockets of a worker are handed to the zygote, which forks).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

import conformance
from conformance.property.protocol import (
    FUZZ,
    HAND,
    MAX_WIRES,
    PID,
    Fuzzed,
    HandDone,
    HandReady,
    HandSetup,
    Judge,
    Setup,
    recv_message,
    send_message,
)
from conformance.property.relay import Gate, Relay
from conformance.property.results import Fragment
from conformance.transport.exchange import Redactor
from conformance.transport.policy import Policy, Share

# The zygote's interpreter finds this package where the run found it (never in the current directory).
_BOOT: Final = (
    "import sys; sys.path[:] = [sys.argv[1], *(path for path in sys.path if path)]; "
    "from conformance.property.worker import main; main(*map(int, sys.argv[2:4]))"
)
T = TypeVar("T")
IDLE_S: Final = 60.0  # a worker that neither sends a request nor reports for this long is stuck
START_S: Final = 60.0  # the zygote answers a fork within this long (its start-up included), or is stuck


class WorkerLost(Exception):
    """A worker died or got stuck: the run's error, never the provider's."""


@dataclass
class _Worker:
    pid: int
    control: socket.socket
    relays: list[Relay]
    label: str | None = None  # the operation it is fuzzing


@dataclass
class Workers:
    """Worker processes, forked from a zygote started at once (it loads schemathesis while the run sends
    its hand-built cases); :meth:`fuzz` hands them the operations, :meth:`close` ends them."""

    policy: Policy
    gate: Gate
    hypothesis_home: Path
    hand_wires: int = 1  # the hand-built worker's requests in flight at most
    idle_s: float = IDLE_S
    _workers: list[_Worker] = field(default_factory=list)  # fuzzing
    _hand: _Worker | None = None
    _asked: deque[socket.socket] = field(default_factory=deque)  # the zygote answers in this order
    _pids: dict[socket.socket, int] = field(default_factory=dict)  # answers read before they were wanted

    def __post_init__(self) -> None:
        self.redact = Redactor(list(self.policy.target.secrets))
        self._zygote, zygote_end = socket.socketpair()
        root = str(Path(conformance.__file__).resolve().parent.parent)
        env = {
            **os.environ,
            # Set iteration order (and so anything generated from a set) the same in every run.
            "PYTHONHASHSEED": "0",
            "HYPOTHESIS_STORAGE_DIRECTORY": str(self.hypothesis_home),
        }
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - read when a worker fails, closed with the pool
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _BOOT, root, str(zygote_end.fileno()), str(os.getpid())],
                pass_fds=(zygote_end.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                env=env,
                start_new_session=True,  # its process group: the zygote and every worker, killed at once
            )
        except BaseException:
            self._zygote.close()
            self._stderr.close()
            raise
        finally:
            zygote_end.close()
        # Asked for at once: the zygote forks it before warming up, so it starts sooner.
        self._hand_asked = self._ask(HAND, self.hand_wires)

    def _ask(self, role: bytes, wires: int) -> tuple[socket.socket, list[socket.socket]]:
        """Ask the zygote for a worker with ``wires`` requests in flight at most; its sockets (the control
        one, then the wires) once sent, or closed when the zygote is gone."""
        control, control_end = socket.socketpair()
        pairs = [socket.socketpair() for _ in range(min(wires, MAX_WIRES))]
        ends = [control_end, *(end for _, end in pairs)]
        try:
            socket.send_fds(self._zygote, [role], [end.fileno() for end in ends])
            self._asked.append(control)
        except OSError:
            pass  # never answered: _forked finds no pid
        finally:
            for end in ends:
                end.close()
        return control, [wire for wire, _ in pairs]

    def _pid(self, control: socket.socket) -> int:
        """The pid of the worker asked for with ``control`` (0: not forked, or the zygote is gone or stuck)."""
        while control not in self._pids and self._asked:
            try:
                answered, _, _ = select.select([self._zygote], [], [], START_S)
                answer = self._zygote.recv(PID.size, socket.MSG_WAITALL) if answered else b""
            except OSError:
                answer = b""
            self._pids[self._asked.popleft()] = PID.unpack(answer)[0] if len(answer) == PID.size else 0
        return self._pids.pop(control, 0)

    def _forked(self, asked: tuple[socket.socket, list[socket.socket]], share: Share) -> _Worker | None:
        """The worker asked for, once the zygote forked it (within :data:`START_S`: its start-up included),
        its requests charged to ``share``; None when the zygote is gone or stuck."""
        control, wires = asked
        pid = self._pid(control)
        if pid <= 0:
            for sock in (control, *wires):
                sock.close()
            return None
        return _Worker(pid, control, [Relay(wire, self.policy, share, self.gate) for wire in wires])

    def _fork(self, share: Share) -> _Worker | None:
        """A new fuzzing worker, or None when the zygote is gone (or stuck)."""
        return self._forked(self._ask(FUZZ, 1), share)

    def hand(self, setup: HandSetup, share: Share) -> Hand:
        """The hand-built worker, its requests charged to ``share`` (raises WorkerLost)."""
        worker = self._forked(self._hand_asked, share)
        if worker is None:
            raise WorkerLost(self.redact(f"the property run's hand-built worker could not start{self._tail()}"))
        self._hand = worker
        self._tell(worker, setup)
        return Hand(self, worker)

    def _reply(self, worker: _Worker, what: str) -> Any:
        """The worker's next message (raises WorkerLost when it exits or is stuck)."""
        last_report = time.monotonic()
        while True:
            ready, _, _ = select.select([worker.control], [], [], 0.25)
            if ready:
                try:
                    return recv_message(worker.control)
                except (EOFError, OSError):
                    raise WorkerLost(self.redact(f"the property worker {what} exited{self._tail()}")) from None
            if self._stuck(last_report):
                with contextlib.suppress(OSError):
                    os.kill(worker.pid, signal.SIGKILL)  # alive (stuck), so its pid is still its own
                why = f"the property worker {what} was stuck for {self.idle_s:g} s and was stopped{self._tail()}"
                raise WorkerLost(self.redact(why))

    def fuzz(
        self, setup: Setup, order: list[str], stopped: Callable[[], bool], *, count: int, share: Share
    ) -> Iterator[Fuzzed]:
        """Every operation of ``order`` fuzzed by one of ``count`` workers, their requests charged to
        ``share``; yielded in that order. None is started once ``stopped()`` (a spent budget, a silent
        provider), and those are not yielded."""
        for _ in range(min(count, len(order)) - len(self._workers)):
            worker = self._fork(share)
            if worker is None:
                break
            self._workers.append(worker)
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
        if pending and not stopped():  # every worker was lost, or none could be started
            for label in pending:
                why = self.redact(f"{label}: not fuzzed: no property worker was left{self._tail()}")
                done[label] = Fuzzed(label, Fragment(errors=[why]))
        for label in order[position:]:
            if label in done:
                yield done.pop(label)

    def _tell(self, worker: _Worker, message: object) -> None:
        with contextlib.suppress(OSError):  # it is gone: reading its answer says so
            send_message(worker.control, message)

    def _stuck(self, last_report: float) -> bool:
        """No worker sent a request or reported for ``idle_s`` seconds, and none is waiting for an answer."""
        relays = [relay for worker in self._all() for relay in worker.relays]
        if any(relay.busy for relay in relays):
            return False
        active = max([last_report, *(relay.last_active for relay in relays)])
        return time.monotonic() - active > self.idle_s

    def _all(self) -> list[_Worker]:
        return [*self._workers, *([self._hand] if self._hand is not None else [])]

    def _lost(self, worker: _Worker, label: str, what: str) -> Fuzzed:
        """Drop a worker that failed (one that is stuck is killed); what it fuzzed is the run's error, never
        the provider's."""
        self._workers.remove(worker)
        if what != "exited":
            with contextlib.suppress(OSError):
                os.kill(worker.pid, signal.SIGKILL)  # alive (stuck), so its pid is still its own
        self._drop(worker)
        why = f"{label}: the property worker fuzzing it {what}{self._tail()}"
        return Fuzzed(label, Fragment(errors=[self.redact(why)]))

    def _tail(self) -> str:
        """The end of what the zygote and the workers wrote to stderr (a traceback), if anything."""
        self._stderr.seek(0)
        tail = " ".join(self._stderr.read().decode("utf-8", "replace").split())[-400:]
        return f": {tail}" if tail else ""

    def close(self) -> None:
        """End the zygote and every worker at once (its session): nothing of theirs is left half-done that a
        polite stop would finish (Hypothesis writes its caches atomically)."""
        workers, self._workers, self._hand = self._all(), [], None
        with contextlib.suppress(OSError):
            # The zygote is not waited for before this, so its pid (the session's id) is still its own.
            os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait()
        self._zygote.close()
        for worker in workers:
            self._drop(worker)
        for sock in (self._hand_asked[0], *self._hand_asked[1]):  # in case the run never took its worker
            sock.close()
        self._stderr.close()

    def _drop(self, worker: _Worker) -> None:
        with contextlib.suppress(OSError):
            worker.control.close()
        for relay in worker.relays:
            relay.close()


@dataclass
class Hand:
    """The hand-built worker, as the run drives it: each step when the run says (see
    :mod:`conformance.property.hand_run`)."""

    workers: Workers
    worker: _Worker
    _edges: bool = False

    def happy(self) -> HandReady:
        return self._expect(self.workers._reply(self.worker, "sending the happy paths"), HandReady)

    def edges(self) -> None:
        """Have it send the edge values now (once); its answer comes with :meth:`finish`'s."""
        if not self._edges:
            self._edges = True
            self.workers._tell(self.worker, "edges")

    def finish(self, judge: Judge) -> HandDone:
        self.workers._tell(self.worker, judge)
        return self._expect(self.workers._reply(self.worker, "judging the hand-built cases"), HandDone)

    def _expect(self, message: Any, kind: type[T]) -> T:
        if not isinstance(message, kind):
            raise WorkerLost(f"the property run's hand-built worker answered {type(message).__name__}")
        return message
