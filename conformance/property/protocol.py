"""What a property run and its worker processes say to each other, and how it travels.

Socket pairs join the run to each worker. On the *control* pair the run sends the worker its part: to a
fuzzing worker a :class:`Setup`, then one operation label at a time (None: stop), each answered with a
:class:`Fuzzed`; to the hand-built worker a :class:`HandSetup`, answered with :class:`HandReady` once the
happy paths went out, then ``"edges"`` (send the edge values) and a :class:`Judge`, answered with
:class:`HandDone`. On each *wire* pair the worker sends an HTTP request as a :class:`WireRequest` and the
run answers with the policy's :class:`~conformance.property.wire.Answer` or a :class:`Refusal`. Each
message is a pickle preceded by its length; both ends are this package, in processes this run started.
"""

from __future__ import annotations

import pickle
import socket
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import httpx
import requests

from conformance.property.results import Fragment
from conformance.property.verdicts import Stop
from conformance.transport.limits import BudgetExhausted
from conformance.transport.policy import LeftOrigin, NotSent

if TYPE_CHECKING:
    from conformance.target import Target

_LENGTH: Final = struct.Struct("!Q")
PID: Final = struct.Struct("!q")  # the zygote's answer to a fork: the worker's pid (0: not forked)
HAND, FUZZ = b"hand", b"fuzz"  # the role of a worker the run asks the zygote for
MAX_WIRES: Final = 16  # a worker's requests in flight at most


@dataclass(frozen=True)
class Setup:
    """What a worker needs to fuzz the run's operations as the run itself would."""

    target: Target
    operations: dict[str, dict[str, Any]]  # label -> operation of the description (those to fuzz)
    models: dict[str, str]  # capability -> model generated bodies are pinned to
    null_byte_refused: bool  # what the engine's capability probes found (sent once, by the run)
    unsafe_path_refused: bool


@dataclass(frozen=True)
class HandSetup:
    """What the hand-built worker needs to send and judge the run's hand-built cases."""

    target: Target
    operations: dict[str, dict[str, Any]]  # label -> operation of the description (every one claimed)
    models: dict[str, str]
    threads: int  # hand-built requests in flight at once


@dataclass
class HandReady:
    """The happy paths went out: what the generated cases need to know."""

    found: Fragment  # what they found so far (requests without an answer, the run's own errors)
    declined: tuple[str, ...] = ()  # capabilities the provider honestly declines
    stopped: bool = False  # a budget was spent (or the worker broke): nothing is generated
    engine_probes: int = 0  # schemathesis' capability probes sent (around the policy: charged by the run)
    null_byte_refused: bool = False
    unsafe_path_refused: bool = False
    fastest_s: float = 0.0  # the quickest answer to a happy path: how slow the provider is


@dataclass(frozen=True)
class Judge:
    """The generated cases are done: what judging the hand-built ones needs from them."""

    auth_probed: frozenset[str]  # operations schemathesis' ignored_auth already probed
    reached: frozenset[str]  # operations a generated case reached with a 2xx
    budget: str | None  # the run stopped early: a budget was spent
    blocked: str | None  # the circuit breaker stopped requests


@dataclass
class HandDone:
    """The hand-built cases judged (after the generated ones, in the order a sequential run has)."""

    found: Fragment
    uploaded: tuple[str, ...] = ()  # files stored on the provider and not deleted yet
    edge_cases: tuple[str, ...] = ()  # the edge values sent


@dataclass
class Fuzzed:
    """One operation's generated cases, judged by a worker."""

    label: str
    found: Fragment
    auth_probed: bool = False  # schemathesis' ignored_auth sent its probes for the operation
    uploaded: tuple[str, ...] = ()  # ids of files its answers stored (deleted at the end of the run)
    stopped: bool = False  # the run stopped it (a spent budget, a silent provider)


@dataclass(frozen=True)
class WireRequest:
    """One request of a worker's engine, for the run's policy to send."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes
    # A generated case asks to be admitted with room for this many requests after it (its checks'
    # probes); None for the probes themselves, which are charged like any request.
    admit: int | None = None


@dataclass(frozen=True)
class Refusal:
    """Why the run sent no request, or got no answer: the policy's refusal or the transport's error."""

    kind: str  # "stopped", "budget", "left-origin", "not-sent", "timeout", "failed" or "error"
    message: str

    @classmethod
    def of(cls, exc: BaseException) -> Refusal:
        """The refusal for what sending a request through the policy raised."""
        if isinstance(exc, BudgetExhausted):
            return cls("budget", str(exc))
        if isinstance(exc, LeftOrigin):
            return cls("left-origin", str(exc))
        if isinstance(exc, NotSent):
            return cls("not-sent", str(exc))
        if isinstance(exc, httpx.TimeoutException):
            return cls("timeout", str(exc))
        if isinstance(exc, httpx.HTTPError):
            return cls("failed", str(exc))
        return cls("error", f"{type(exc).__name__}: {exc}")

    def raise_for(self, request: requests.PreparedRequest) -> None:
        """Raise in the worker what a ``requests`` adapter over the policy raises for the same refusal:
        the policy's own refusals as they are, no answer as ``requests`` says it, the cause chained."""
        message = self.message
        if self.kind == "stopped":
            raise Stop(message)
        if self.kind == "budget":
            raise BudgetExhausted(message)
        if self.kind == "left-origin":
            raise LeftOrigin(message)
        if self.kind == "not-sent":
            raise requests.ConnectTimeout(message, request=request) from NotSent(message)
        if self.kind == "timeout":
            raise requests.ConnectTimeout(message, request=request) from httpx.TimeoutException(message)
        if self.kind == "failed":
            raise requests.ConnectionError(message, request=request) from httpx.TransportError(message)
        raise RuntimeError(f"the property run could not send the request: {message}")


def send_message(sock: socket.socket, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_LENGTH.pack(len(data)) + data)


def recv_message(sock: socket.socket) -> Any:
    """The next message; EOFError when the other end closed its socket."""
    (length,) = _LENGTH.unpack(_read(sock, _LENGTH.size))
    return pickle.loads(_read(sock, length))  # from a process of this run, over a socket pair


def _read(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other end closed its socket")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
