"""The relay between the worker processes' schemathesis and the run's one transport policy.

In a worker, :class:`RelayAdapter` is the ``requests`` adapter of every schema: it hands each prepared
request over a wire socket to the run and rebuilds the answer exactly as the policy handed it over
(status, reason, headers as they came, the body, the time it took), or raises for a refusal what a
``requests`` adapter over the policy would. In the run, a :class:`Relay` thread per wire sends those
requests through the policy -- budget and the property run's share, breaker, slot of the concurrency
limit, deadline, caps, backoff, origin lock, recording and redaction, traced under the property run's
probe -- after admitting each case the way a sequential run did (a spent share, a provider silent
everywhere: every worker stops).

A socket pair rather than an HTTP forwarder on the loopback (as openai-node has): nothing is re-framed
(a 204, a HEAD, a body cut by a cap arrive as they were), and no port is open to other local users.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Final

import requests
from requests.adapters import HTTPAdapter

from conformance.property.protocol import Refusal, WireRequest, recv_message, send_message
from conformance.property.wire import Answer, PolicySender, as_requests_response, request_body
from conformance.transport.policy import Policy, Share

HOLD: Final = "hold"  # a worker holds a slot of the concurrency limit (RelayAdapter.slot) ...
RELEASE: Final = "release"  # ... and gives it back
# Admission of a generated case: (method, url, room wanted after it) -> why the run stopped, or None.
Gate = Callable[[str, str, int], "str | None"]


class Relay:
    """The run's end of one worker's wire: a thread that sends its requests through the policy."""

    def __init__(self, sock: socket.socket, policy: Policy, share: Share, gate: Gate) -> None:
        self.sock = sock
        self.sender = PolicySender(policy, share)
        self.gate = gate
        self.label = policy.current_label()  # the worker sends for the probe that started the run
        self.busy = False  # a request of the worker is with the policy
        self.last_active = time.monotonic()
        self._thread = threading.Thread(target=self._serve, name="oai-conformance-property-relay", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        policy = self.sender.policy
        held = None  # slots this thread holds for the worker (see RelayAdapter.slot)
        try:
            with policy.labelled(self.label):
                while True:
                    try:
                        request = recv_message(self.sock)
                    except (EOFError, OSError):
                        return  # the worker ended, or the run closed the wire
                    self.busy, self.last_active = True, time.monotonic()
                    try:
                        if request == HOLD:
                            held, reply = policy.take(), HOLD
                        elif request == RELEASE:
                            policy.give(threading.get_ident(), held or 0)
                            held, reply = None, RELEASE
                        else:
                            reply = self._answer(request)
                    finally:
                        # A held slot: the worker is sending on its own (it is busy, not stuck).
                        self.busy, self.last_active = held is not None, time.monotonic()
                    try:
                        send_message(self.sock, reply)
                    except OSError:
                        return
        finally:
            if held is not None:
                policy.give(threading.get_ident(), held)

    def _answer(self, request: WireRequest) -> Answer | Refusal:
        try:
            if request.admit is not None:
                stopped = self.gate(request.method, request.url, request.admit)
                if stopped is not None:
                    return Refusal("stopped", stopped)
            return self.sender.send(request.method, request.url, request.headers, request.body)
        except Exception as exc:  # the policy's refusal, the transport's error: the worker raises its twin
            return Refusal.of(exc)

    def close(self) -> None:
        """Close the wire; the thread ends once the request it may be sending is answered."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(timeout=1)


class RelayAdapter(HTTPAdapter):
    """The worker's end of its wires: a ``requests`` adapter that has the run send every request, as many
    at once as it has wires (a thread waits for a free one)."""

    def __init__(self, socks: list[socket.socket]) -> None:
        super().__init__()
        self._free: queue.SimpleQueue[socket.socket] = queue.SimpleQueue()
        for sock in socks:
            self._free.put(sock)
        self._admission = threading.local()

    def admit(self, reserve: int) -> None:
        """The next request of this thread is a case the run admits first, with room for ``reserve`` more
        requests after it."""
        self._admission.reserve = reserve

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot of the run's concurrency limit while this thread sends requests of its own, around
        the policy (schemathesis' capability probes)."""
        sock = self._free.get()
        try:
            self._exchange(sock, HOLD)
            try:
                yield
            finally:
                self._exchange(sock, RELEASE)
        finally:
            self._free.put(sock)

    def _exchange(self, sock: socket.socket, message: object) -> object:
        send_message(sock, message)
        return recv_message(sock)

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        admit = getattr(self._admission, "reserve", None)
        self._admission.reserve = None
        message = WireRequest(
            method=request.method or "GET",
            url=request.url or "",
            headers=list(request.headers.items()),
            body=request_body(request),
            admit=admit,
        )
        sock = self._free.get()
        try:
            reply = self._exchange(sock, message)
        except (EOFError, OSError) as exc:
            raise requests.ConnectionError(f"the property run went away: {exc}", request=request) from exc
        finally:
            self._free.put(sock)
        if isinstance(reply, Refusal):
            reply.raise_for(request)
        return as_requests_response(self, request, reply)

    def close(self) -> None:
        """Nothing to free: the wires are the worker's for its life (a session closing must not end them)."""
