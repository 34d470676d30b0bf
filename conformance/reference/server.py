"""Run the reference provider in-process: :class:`ReferenceServer` and the fault multiplexer."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Final

import uvicorn
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .app import ReferenceApp, create_app
from .auth import DEFAULT_API_KEY
from .errors import invalid_request
from .faults import FAULTS, FaultSet
from .middleware import new_request_id

__all__ = ["FAULT_PREFIX", "ReferenceServer", "create_mux_app"]

#: Paths under this prefix select faults: ``/_fault/<name1+name2>/v1/...``.
FAULT_PREFIX: Final = "/_fault/"
_STARTUP_TIMEOUT: Final = 10.0


class _FaultMux:
    """ASGI dispatcher: ``/_fault/<a+b>/<rest>`` is served by a cached ``create_app(faults=(a, b))``
    with the path rewritten to ``/<rest>``; every other path goes to the base app."""

    def __init__(self, *, api_key: str | None, stream_delay: float, latency: float, faults: Iterable[str] = ()) -> None:
        self._api_key = api_key
        self._stream_delay = stream_delay
        self._latency = latency
        self.base = self._create(FaultSet(faults))
        self._apps: dict[frozenset[str], ASGIApp] = {}

    def _create(self, faults: FaultSet) -> ReferenceApp:
        return create_app(api_key=self._api_key, faults=faults, stream_delay=self._stream_delay, latency=self._latency)

    def app_for(self, names: frozenset[str]) -> ASGIApp:
        """The app for one fault combination, created on first use (ValueError for unknown names)."""
        app = self._apps.get(names)
        if app is None:
            app = self._apps[names] = self._create(FaultSet(names))
        return app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(FAULT_PREFIX):
            await self.base(scope, receive, send)
            return
        spec, _, rest = path[len(FAULT_PREFIX) :].partition("/")
        names = frozenset(spec.split("+"))  # each "name" or "name;key=value;..." (see faults._registry)
        unknown = sorted(name for name in names if name.split(";", 1)[0] not in FAULTS)
        try:
            app = None if unknown else self.app_for(names)
        except ValueError as exc:  # a parameter the fault does not have, or not a number
            app, unknown = None, [str(exc)]
        if app is None:
            listed = ", ".join(repr(name) for name in unknown)
            message = f"Unknown fault(s) in URL: {listed}. Valid faults: {', '.join(sorted(FAULTS))}."
            error = invalid_request(message, code="unknown_fault", status=404)
            response = JSONResponse(error.envelope(), status_code=404, headers={"x-request-id": new_request_id()})
            await response(scope, receive, send)
            return
        raw_path: bytes = scope.get("raw_path") or path.encode()
        raw_rest = raw_path[len(FAULT_PREFIX) :].partition(b"/")[2] if raw_path.startswith(b"/_fault/") else b""
        child = {**scope, "path": f"/{rest}", "raw_path": b"/" + raw_rest}
        await app(child, receive, send)


def create_mux_app(
    *,
    api_key: str | None = DEFAULT_API_KEY,
    stream_delay: float = 0.002,
    latency: float = 0.0,
    faults: Iterable[str] = (),
) -> ASGIApp:
    """One ASGI app serving every fault configuration (``faults`` applies to the un-prefixed paths)."""
    return _FaultMux(api_key=api_key, stream_delay=stream_delay, latency=latency, faults=faults)


class ReferenceServer:
    """Runs the reference app with uvicorn in a daemon thread on 127.0.0.1 (port 0 = a free port)."""

    def __init__(
        self,
        *,
        faults: Iterable[str] = (),
        api_key: str | None = DEFAULT_API_KEY,
        port: int = 0,
        stream_delay: float = 0.002,
        latency: float = 0.0,
        multiplex: bool = False,
    ) -> None:
        self.faults = FaultSet(faults)  # unknown names fail here, not in the server thread
        self.api_key = api_key
        self.host = "127.0.0.1"
        self.port = port
        self.stream_delay = stream_delay
        self.latency = latency
        self.multiplex = multiplex
        self._served: ASGIApp | None = None  # the app of the last start(), kept after stop() for its traces
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def fault_base_url(self, *faults: str) -> str:
        """Base URL of the configuration with exactly ``faults`` active (multiplex servers only); a fault may
        carry parameters, ``"name;key=value"``."""
        if not self.multiplex:
            raise RuntimeError("fault_base_url() needs ReferenceServer(multiplex=True)")
        if not faults:
            return self.base_url
        FaultSet(faults)  # ValueError for unknown names, before any request is made
        return f"http://{self.host}:{self.port}{FAULT_PREFIX}{'+'.join(faults)}/v1"

    def _app(self) -> ASGIApp:
        factory = create_mux_app if self.multiplex else create_app
        return factory(api_key=self.api_key, faults=self.faults, stream_delay=self.stream_delay, latency=self.latency)

    def _traces(self) -> dict[str, set[str]]:
        """The traces of the app at :attr:`base_url` (empty before the first start())."""
        app = self._served
        if isinstance(app, _FaultMux):
            app = app.base
        return app.traces if isinstance(app, ReferenceApp) else {}

    def traced_sites(self, token: str) -> frozenset[str]:
        """The fault sites the requests to :attr:`base_url` sent with ``x-oai-conformance-trace: <token>``
        passed through (every :meth:`FaultSet.apply` while they were handled, plus ``policy`` and ``asgi``);
        empty when no such request was made. Read it once the responses are complete."""
        return frozenset(self._traces().get(token, ()))

    def clear_traces(self) -> None:
        """Forget every trace recorded so far."""
        self._traces().clear()

    def start(self) -> ReferenceServer:
        """Start serving; returns once the server accepts connections (RuntimeError after 10 s)."""
        if self._thread is not None:
            return self
        # Binding here (not in uvicorn) makes the real port known before the thread starts.  The explicit
        # IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP, and
        # without it every small response waits ~40 ms for a delayed ACK (Nagle).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self._served = self._app()
        config = uvicorn.Config(
            self._served,
            host=self.host,
            port=self.port,
            # The provider's own crashes (some faults crash on purpose) reach the client as 500s and are
            # judged there; a traceback on the scorer's terminal would only be noise.
            log_level="critical",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        # uvicorn >= 0.29 installs signal handlers only when it runs in the main thread
        # (Server.capture_signals checks threading.main_thread()), so a thread needs no opt-out;
        # stop() ends it through `should_exit` instead.
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"reference-server-{self.port}", daemon=True
        )
        self._server, self._thread, self._socket = server, thread, sock
        thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive():
                self.stop()
                raise RuntimeError("the reference server exited during startup")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the reference server did not start within {_STARTUP_TIMEOUT:g} s")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving and join the thread; safe to call more than once."""
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=5)
            if thread.is_alive() and server is not None:
                server.force_exit = True
                thread.join(timeout=5)
        if sock is not None:
            sock.close()

    def __enter__(self) -> ReferenceServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
