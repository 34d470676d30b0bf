"""What a property run and its worker processes say to each other, and how it travels.

Two socket pairs join the run to each worker: on the *control* pair the run sends a :class:`Setup`, then
one operation label at a time (None: stop), and the worker answers each label with a :class:`Fuzzed`; on
the *wire* pair the worker sends each HTTP request of its engine as a :class:`WireRequest` and the run
answers with the policy's :class:`~conformance.property.wire.Answer` or a :class:`Refusal`. Each message
is a pickle preceded by its length; both ends are this package, in processes this run started.
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


@dataclass(frozen=True)
class Setup:
    """What a worker needs to fuzz the run's operations as the run itself would."""

    target: Target
    operations: dict[str, dict[str, Any]]  # label -> operation of the description (those to fuzz)
    models: dict[str, str]  # capability -> model generated bodies are pinned to
    null_byte_refused: bool  # what the engine's capability probes found (sent once, by the run)
    unsafe_path_refused: bool


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
        """Raise in the worker what the policy's adapter raises in the run for the same refusal
        (:class:`~conformance.property.wire.PolicyAdapter`), with the same cause chained."""
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
