"""The real-client oracle: the official SDKs driven against the target, and what they made of it.

**openai-python** runs in-process. Its httpx client gets our transport (:class:`SdkTransport`), so every
request the SDK makes

* goes to the target's origin or nowhere: a request elsewhere (a cross-origin redirect) raises
  :class:`LeftOrigin` before a byte is sent, so the key cannot leak;
* passes the run's circuit breaker and is charged to the run's request budget (``HttpClient.charge``);
  the SDK runs with ``max_retries=0`` (a retry would hide the answer that broke it), and only a 429/503
  is waited for and sent again, by the transport, exactly as the suite's own requests are;
* is recorded as an :class:`~conformance.http.Exchange` -- what the SDK sent and what it read, capped in
  bytes and time -- so a failure shows the exception the client raised next to the raw exchange.

Strict mode (``_strict_response_validation=True``) is the same client with validation on. It is judged on
the very answers the plain client received, replayed by its transport: the two verdicts then differ only
by validation, never by a provider's non-determinism, and strict mode costs no request.

**openai-node** runs as a subprocess (``suite/sdk_node.mjs``) against the pinned ``openai`` npm package,
installed on first use into a cache folder. Its requests are charged before the script runs (the script
refuses to send more than it was granted) and it reports, per flow, the value or the error the client
produced plus the raw exchanges, recorded by a wrapped ``fetch`` that also refuses other origins.

Outcomes: an exception the SDK raised because of what the provider sent (an ``openai`` error, a pydantic
or JSON error, a TypeError inside the stream helper...) is a FAIL naming the exception; a transport
timeout is TIMEOUT; an honest 404/405/501 with an error envelope is UNSUPPORTED; anything raised by our
own code is ERROR.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import traceback
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import openai

from conformance import expect
from conformance.core.results import ProviderTimeout, Unsupported, Violation
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange, StreamExchange
from conformance.transport.limits import BudgetExhausted
from conformance.transport.sse import DecodeResult, SSEDecoder, decode
from conformance.transport.urls import origin

if TYPE_CHECKING:
    from conformance.target import Target

PYTHON = "openai-python"
PYTHON_STRICT = "openai-python strict"
NODE = "openai-node"

# The openai npm release the suite installs and runs. openai 7 declares node >= 22 but npm installs it on
# older nodes too (engines is advisory), which is what a user of that node gets from `npm install openai`.
NODE_OPENAI_VERSION = "7.57.0"
NODE_MIN_MAJOR = 18  # global fetch, which every openai-node release since 4.x relies on
NODE_INSTALL_TIMEOUT_S = 180.0
# No audit, funding or lockfile noise; --ignore-scripts: nothing from the registry runs at install time.
NPM_INSTALL_FLAGS = ("--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock", "--loglevel=error")
CACHE_ENV = "OAI_CONFORMANCE_CACHE"
NODE_SCRIPT = Path(__file__).resolve().parent / "suite" / "sdk_node.mjs"

# Requests each openai-node flow makes (the budget is charged for them before the script runs), and where.
NODE_FLOW_REQUESTS = {"models": 1, "chat": 1, "chat_stream": 1, "embeddings": 2, "errors": 2}
NODE_FLOW_ENDPOINTS = {
    "models": ("GET", "models"),
    "chat": ("POST", "chat/completions"),
    "chat_stream": ("POST", "chat/completions"),
    "embeddings": ("POST", "embeddings"),
    "errors": ("POST", "chat/completions"),
}

_SDK_PACKAGES = ("openai", "pydantic", "pydantic_core", "httpx", "httpx2", "json", "typing_extensions", "anyio")
# Both spellings: tracebacks name files as imported, which may go through a symlinked site-packages.
_OPENAI_DIRS = tuple({str(Path(openai.__file__).parent), str(Path(openai.__file__).resolve().parent)})


class LeftOrigin(Exception):
    """An SDK was about to send a request to a host other than the target's; it was not sent."""


# -- one run of one flow ----------------------------------------------------------------------------------


@dataclass
class SdkRun:
    """What one flow did with one client: the value it produced or what it raised, and its exchanges."""

    client: str  # "openai-python", "openai-python strict" or "openai-node"
    what: str  # the calls, as a user writes them: "client.models.list()"
    value: Any = None
    error: BaseException | None = None
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def evidence(self) -> list[Exchange]:
        """The exchanges, the last one (the answer the client was reading when it broke) first."""
        return list(reversed(self.exchanges))


@dataclass
class SdkOutcome:
    """A flow run by openai-python, then (when the plain client raised nothing) by the strict client."""

    plain: SdkRun
    strict: SdkRun | None = None


class NodeError(Exception):
    """What openai-node (or the user-level code of the script) threw in one flow."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.cls = str(info.get("class") or "Error")
        self.message = str(info.get("message") or "")
        self.status = info.get("status") if isinstance(info.get("status"), int) else None
        self.code = info.get("code")
        self.type = info.get("type")
        self.param = info.get("param")
        self.budget = bool(info.get("budget"))
        self.origin = bool(info.get("origin"))
        super().__init__(f"{self.cls}: {self.message}")


# -- judging what a client raised ----------------------------------------------------------------------------


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _inside_sdk(exc: BaseException) -> bool:
    """Raised from within a call into the SDK (its parsers and helpers), not by our own code.

    Our code touching an SDK object wrongly fails in pydantic or builtins without an ``openai`` frame on
    the way; what the provider's answer makes the SDK raise always passes through the SDK's own code.
    """
    return any(frame.filename.startswith(_OPENAI_DIRS) for frame in traceback.extract_tb(exc.__traceback__))


def _provider_caused(run: SdkRun, exc: BaseException) -> bool:
    """Whether the provider's answer made the SDK raise ``exc``.

    Every ``openai`` error comes from an answer (or its absence). Anything else counts only when the SDK's
    own code raised it after an answer arrived: an exception before any answer, or one raised by our own
    code, is the suite's bug.
    """
    if isinstance(exc, openai.OpenAIError | NodeError):
        return True
    answered = any(exchange.status is not None for exchange in run.exchanges)
    return answered and _inside_sdk(exc)


def describe(exc: BaseException) -> str:
    """``openai.NotFoundError: Error code: 404 - {...}`` (one line, bounded)."""
    name = exception_name(exc)
    message = " ".join(str(exc.message if isinstance(exc, NodeError) else exc).split())
    return f"{name}: {message[:400]}" if message else f"{name}{_where(exc)}"


def _where(exc: BaseException) -> str:
    """Where a message-less exception (a bare ``assert`` in the SDK) was raised: `` at openai/...py:123``."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    parts = Path(last.filename).parts
    package = next((i for i, part in enumerate(parts) if part in _SDK_PACKAGES), None)
    where = "/".join(parts[package:]) if package is not None else Path(last.filename).name
    code = f" ({last.line.strip()})" if last.line else ""
    return f" at {where}:{last.lineno}{code}"


def error_fields(exc: BaseException) -> str:
    """The fields an error handler reads: ``status 404, code 'model_not_found', type ..., param ...``."""
    status = getattr(exc, "status_code", None) if not isinstance(exc, NodeError) else exc.status
    parts = [f"status {status}"] if status is not None else []
    parts += [f"{name} {getattr(exc, name, None)!r}" for name in ("code", "type", "param")]
    return ", ".join(parts)


def _cause(exc: BaseException) -> str | None:
    """Why a validation error was raised: the pydantic errors (bounded), which say which field broke."""
    cause = exc.__cause__
    if cause is None or isinstance(exc, openai.APIStatusError):
        return None
    text = str(cause).strip()
    return f"Caused by {type(cause).__name__}: {text[:800]}" if text else None


def _declined(run: SdkRun, exc: BaseException) -> bool:
    """An honest refusal of the whole capability: 404/405/501 with the error envelope."""
    status = exc.status if isinstance(exc, NodeError) else getattr(exc, "status_code", None)
    if status not in (404, 405, 501) or not run.exchanges:
        return False
    return expect.error_envelope_or_none(run.exchanges[-1]) is not None


def raise_for_error(run: SdkRun, *, expected: str, declinable: bool = True) -> None:
    """Turn what the client raised into the check's outcome; return when it raised nothing.

    ``expected`` says what a user expects to get instead ("a ChatCompletion"). With ``declinable``, an
    honest 404/405/501 refusal is UNSUPPORTED rather than a failure.
    """
    exc = run.error
    if exc is None:
        return
    raise_for_limits(run, exc, expected)
    if declinable and _declined(run, exc):
        raise Unsupported(f"{run.what}: the provider declined it ({describe(exc)})")
    if not _provider_caused(run, exc):
        raise exc  # a bug in the suite: reported ERROR with its traceback
    raise Violation(
        f"{run.client}: {run.what} raised {exception_name(exc)}",
        expected=expected,
        actual=describe(exc),
        detail=details(exc),
        evidence=run.evidence,
    )


def exception_name(exc: BaseException) -> str:
    """``openai.NotFoundError``, ``json.JSONDecodeError``, ``TypeError`` (builtins bare), or node's class."""
    if isinstance(exc, NodeError):
        return exc.cls
    module = type(exc).__module__.split(".", 1)[0]
    return type(exc).__name__ if module == "builtins" else f"{module}.{type(exc).__name__}"


def details(exc: BaseException) -> str | None:
    """What explains an exception beyond its message: the pydantic errors, the error fields."""
    found = [_cause(exc)] if _cause(exc) else []
    if isinstance(exc, openai.APIStatusError) or (isinstance(exc, NodeError) and exc.status is not None):
        found.append(f"Error fields: {error_fields(exc)}")
    return "\n".join(item for item in found if item) or None


def raise_for_limits(run: SdkRun, exc: BaseException, expected: str) -> None:
    """The outcomes that are not about the client's behaviour: the run's limits, a timeout, a redirect away."""
    for link in _chain(exc):
        if isinstance(link, BudgetExhausted):
            raise link
        if isinstance(link, LeftOrigin):
            raise Violation(
                f"{run.client} was sent to another origin",
                expected="every request to the target's own origin",
                actual=str(link),
                evidence=run.evidence,
            )
    if isinstance(exc, NodeError) and exc.budget:
        raise BudgetExhausted(f"request budget spent before {run.what}")
    if isinstance(exc, NodeError) and exc.origin:
        raise Violation(
            f"{run.client} was sent to another origin",
            expected="every request to the target's own origin",
            actual=exc.message,
            evidence=run.evidence,
        )
    if isinstance(exc, openai.APITimeoutError) or (isinstance(exc, NodeError) and "Timeout" in exc.cls):
        raise ProviderTimeout(
            f"{run.client}: {run.what} timed out",
            expected=expected,
            actual=describe(exc),
            evidence=run.evidence,
        )


def wrong_value(run: SdkRun, title: str, *, expected: str, actual: str, pointer: str | None = None) -> Violation:
    """A client that raised nothing but handed the user a wrong value."""
    return Violation(f"{run.client}: {title}", expected=expected, actual=actual, pointer=pointer, evidence=run.evidence)


def read(run: SdkRun, value: Any, path: str) -> Any:
    """Read ``path`` (``.choices[0].delta.content``) off an SDK object, the way a user's code does.

    When the provider's answer makes that read fail (lenient models lack attributes they never received),
    the user's code would fail the same way: a Violation naming the read and the exception.
    """
    current = value
    for step in re.findall(r"\.(\w+)|\[(\d+)\]", path):
        name, index = step
        try:
            current = getattr(current, name) if name else current[int(index)]
        except (AttributeError, IndexError, KeyError, TypeError) as exc:
            raise wrong_value(
                run,
                f"reading {path} raised {type(exc).__name__}",
                expected=f"{path} as documented",
                actual=f"{type(exc).__name__}: {exc}",
            ) from None
    return current


# -- openai-python over our transport -----------------------------------------------------------------------


def _asks_stream(body: bytes) -> bool:
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        return False
    return isinstance(payload, dict) and payload.get("stream") is True


def _account(http: HttpClient, exchange: Exchange) -> None:
    """Add the tokens a recorded answer bills to the run's usage."""
    if isinstance(exchange, StreamExchange):
        payloads = [event.data for event in exchange.events if event.data.startswith("{")]
    elif exchange.media_type.endswith("json"):
        payloads = [exchange.text]
    else:
        payloads = []
    for payload in payloads:
        with contextlib.suppress(ValueError):
            http.account(json.loads(payload))


class _Tee(httpx.SyncByteStream):
    """The body the SDK reads, recorded on the exchange as it is read, within the suite's caps."""

    def __init__(self, response: httpx.Response, exchange: Exchange, transport: SdkTransport, start: float) -> None:
        self._response = response
        self._exchange = exchange
        self._transport = transport
        self._start = start
        self._received = bytearray()
        target = transport.http.target
        streamed = isinstance(exchange, StreamExchange)
        self._decoder = SSEDecoder() if streamed else None
        self._limit_bytes = target.max_stream_bytes if streamed else target.max_body_bytes
        self._limit_s = target.max_stream_seconds if streamed else target.timeout
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        exchange = self._exchange
        try:
            for chunk in self._response.iter_bytes():
                now = time.monotonic() - self._start
                exchange.chunks.append((now, len(chunk)))
                room = self._limit_bytes - len(self._received)
                self._received += chunk[:room]
                if self._decoder is not None:
                    self._decoder.feed(chunk[:room], at=now)
                if len(chunk) > room:
                    exchange.truncated = True
                    exchange.error, exchange.error_detail = "too-large", f"body exceeds {self._limit_bytes} bytes"
                    raise httpx.ReadError(f"the suite stopped reading: {exchange.error_detail}")
                if now > self._limit_s:
                    exchange.error, exchange.error_detail = "duration", f"still sending after {self._limit_s:g} s"
                    raise httpx.ReadTimeout(f"the suite stopped reading: {exchange.error_detail}")
                yield chunk
            if isinstance(exchange, StreamExchange):
                exchange.eof_s = time.monotonic() - self._start
        except httpx.TimeoutException as exc:
            if exchange.error is None:
                exchange.error, exchange.error_detail = "timeout", f"{type(exc).__name__} while reading the body"
            raise
        except httpx.HTTPError as exc:
            if exchange.error is None:
                exchange.error = "reset" if isinstance(exc, httpx.ReadError) else "protocol"
                exchange.error_detail = self._transport.http.redact(str(exc)) or type(exc).__name__
            raise
        finally:
            self.finish()

    def close(self) -> None:
        self._response.close()
        self.finish()

    def finish(self) -> None:
        """Put what was read on the exchange (once), account its usage and tell the breaker."""
        if self._done:
            return
        self._done = True
        self._response.close()
        exchange = self._exchange
        exchange.body = bytes(self._received)
        exchange.elapsed_s = time.monotonic() - self._start
        if self._decoder is not None and isinstance(exchange, StreamExchange):
            self._decoder.close(at=exchange.elapsed_s)
            decoder = self._decoder
            exchange.decoded = DecodeResult(
                events=tuple(decoder.events), notices=tuple(decoder.notices), lines=tuple(decoder.lines)
            )
        http = self._transport.http
        _account(http, exchange)
        http.answered(exchange.method, exchange.url, answered=exchange.error not in ("timeout", "duration"))


class SdkTransport(httpx.BaseTransport):
    """The transport under openai-python's httpx client: origin guard, breaker, budget, recording, replay."""

    def __init__(self, http: HttpClient, inner: httpx.Client | None = None) -> None:
        self.http = http
        self._origin = origin(http.target.base_url)
        self._owns_inner = inner is None
        self._inner = inner or inner_client(http.target)
        self.exchanges: list[Exchange] = []
        self.replay: deque[Exchange] = deque()
        self._open: list[_Tee] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if origin(url) != self._origin:
            raise LeftOrigin(f"{request.method} {self.http.redact(url)} is not on the target's origin; not sent")
        body = request.read()
        streamed = _asks_stream(body)
        if self.replay and self._matches(self.replay[0], request.method, url, body):
            return self._replayed(self.replay.popleft())
        blocked = self.http.breaker_blocks(request.method, url)
        if blocked is not None:
            raise httpx.ConnectTimeout(f"not sent: circuit breaker open for {blocked}", request=request)
        self.http.charge(request.method)
        kind = StreamExchange if streamed else Exchange
        exchange = kind(
            method=request.method,
            url=url,
            request_headers={k.lower(): v for k, v in request.headers.multi_items()},
            request_body=body or None,
        )
        self.exchanges.append(exchange)
        start = time.monotonic()
        for attempt in range(self.http.target.max_retries + 1):
            with self.http.slots():  # the answer's head; its body is read as the SDK consumes it
                response = self._send(request, exchange, start)
            exchange.status = response.status_code
            exchange.reason = response.reason_phrase
            exchange.headers = {k.lower(): v for k, v in response.headers.multi_items()}
            # A 429/503 is waited for and sent again exactly as the suite's own requests are; the SDK runs
            # with max_retries=0 so that no other answer (a 500, a reset) is hidden behind a retry.
            wait = self.http.retry_wait(exchange, attempt)
            if wait is None:
                break
            response.close()
            time.sleep(wait)
            start = time.monotonic()
        if not streamed and exchange.media_type == "text/event-stream":
            # Streamed although not asked to: decode it so the evidence shows its events.
            exchange = self.exchanges[-1] = StreamExchange(**{k: getattr(exchange, k) for k in _EXCHANGE_FIELDS})
        tee = _Tee(response, exchange, self, start)
        self._open.append(tee)
        # The tee hands over decoded bytes, so the encoding headers no longer describe the body.
        encoded = "content-encoding" in response.headers
        skip = ("content-encoding", "content-length") if encoded else ()
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in skip]
        return httpx.Response(
            response.status_code,
            headers=headers,
            stream=tee,
            extensions={k: v for k, v in response.extensions.items() if k in ("http_version", "reason_phrase")},
        )

    def _send(self, request: httpx.Request, exchange: Exchange, start: float) -> httpx.Response:
        for attempt in (1, 2):
            try:
                return self._inner.send(request, stream=True)
            except httpx.TimeoutException as exc:
                exchange.error, exchange.error_detail = "timeout", f"{type(exc).__name__} after {_since(start)}"
                self.http.answered(exchange.method, exchange.url, answered=False)
                raise
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
                # A keep-alive connection the server closed between two requests fails before any byte
                # of the answer; HttpClient sends once more on a fresh connection, and so do we.
                if attempt == 1:
                    exchange.retried = f"{type(exc).__name__}: {self.http.redact(str(exc))}"
                    continue
                exchange.error = "reset" if isinstance(exc, httpx.ReadError | httpx.WriteError) else "protocol"
                exchange.error_detail = self.http.redact(str(exc)) or type(exc).__name__
                raise
            except httpx.HTTPError as exc:
                exchange.error = "connect" if isinstance(exc, httpx.ConnectError) else "protocol"
                exchange.error_detail = self.http.redact(str(exc)) or type(exc).__name__
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _matches(recorded: Exchange, method: str, url: str, body: bytes) -> bool:
        return recorded.method == method and recorded.url == url and (recorded.request_body or b"") == body

    def _replayed(self, recorded: Exchange) -> httpx.Response:
        self.exchanges.append(recorded)
        skip = ("content-length", "content-encoding", "transfer-encoding")
        headers = [(k, v) for k, v in recorded.headers.items() if k not in skip]
        return httpx.Response(recorded.status or 0, headers=headers, content=recorded.body)

    def settle(self) -> None:
        """Finish every exchange whose body the SDK left open (a flow that raised half-way)."""
        for tee in self._open:
            tee.finish()
        self._open.clear()

    def close(self) -> None:
        self.settle()
        if self._owns_inner:
            self._inner.close()


@cache
def _tls_context(verify: bool) -> ssl.SSLContext:
    # Loading the CA bundle costs ~0.1 s; the meta-tests score the provider some 200 times per process.
    return httpx.create_ssl_context(verify=verify)


def inner_client(target: Target) -> httpx.Client:
    """What SdkTransport sends with: a client, not a bare transport, so that the user's proxy settings apply
    as they do for the SDK; it never follows redirects (the SDK's client does, through SdkTransport again)."""
    return httpx.Client(
        timeout=httpx.Timeout(target.timeout, connect=min(target.timeout, target.connect_timeout)),
        follow_redirects=False,
        verify=_tls_context(target.verify_tls),
        trust_env=True,
    )


_EXCHANGE_FIELDS = (
    "method",
    "url",
    "request_headers",
    "request_body",
    "status",
    "reason",
    "headers",
    "body",
    "truncated",
    "elapsed_s",
    "error",
    "error_detail",
    "chunks",
    "retried",
)


def _since(start: float) -> str:
    return f"{time.monotonic() - start:.1f} s"


class PythonSdk:
    """openai-python for one run: a plain and a strict client, built from the target, over our transports."""

    def __init__(self, http: HttpClient) -> None:
        self.http = http
        self._inner = inner_client(http.target)  # one connection pool for both clients
        self.live = SdkTransport(http, self._inner)
        self.replaying = SdkTransport(http, self._inner)
        self.plain = self.client(self.live, strict=False)
        self.strict = self.client(self.replaying, strict=True)
        # One flow at a time: a flow's exchanges are the transport's since it started, and the strict
        # client replays them; flows are shared probes, which several threads may ask for at once.
        self._flow = threading.Lock()

    def client(self, transport: SdkTransport, *, strict: bool) -> openai.OpenAI:
        target = self.http.target
        return openai.OpenAI(
            base_url=target.base_url,
            api_key=target.api_key or "none",  # the SDK refuses to start without one; "none" is what users pass
            organization=target.organization,
            max_retries=0,  # a retry would hide the answer that broke the client, and cost a request
            timeout=target.timeout,
            default_headers=dict(target.headers) or None,
            # follow_redirects like the SDK's own default client; the transport stops any other origin.
            http_client=httpx.Client(transport=transport, follow_redirects=True),
            _strict_response_validation=strict,
        )

    def run(self, what: str, flow: Callable[[openai.OpenAI], Any], *, strict: bool = True) -> SdkOutcome:
        """Run ``flow`` with the plain client; then, when it raised nothing, with the strict one."""
        with self._flow:
            plain = _run_flow(PYTHON, what, self.plain, self.live, flow)
            if not strict or plain.error is not None:
                return SdkOutcome(plain)
            self.replaying.replay = deque(e for e in plain.exchanges if e.error is None and e.status is not None)
            try:
                return SdkOutcome(plain, _run_flow(PYTHON_STRICT, what, self.strict, self.replaying, flow))
            finally:
                self.replaying.replay.clear()

    def close(self) -> None:
        for sdk in (self.plain, self.strict):
            sdk.close()
        self.live.close()
        self.replaying.close()
        self._inner.close()


def _run_flow(
    client: str, what: str, sdk: openai.OpenAI, transport: SdkTransport, flow: Callable[[openai.OpenAI], Any]
) -> SdkRun:
    mark = len(transport.exchanges)
    run = SdkRun(client=client, what=what)
    try:
        with warnings.catch_warnings():
            # The SDK warns about values it keeps although they do not fit its models (pydantic serializer
            # warnings); what matters is what it raises or returns, which the checks judge and report.
            warnings.simplefilter("ignore")
            run.value = flow(sdk)
    except Exception as exc:  # judged by raise_for_error: the provider's fault, a SKIP, or our bug
        run.error = exc
    finally:
        transport.settle()
        run.exchanges = transport.exchanges[mark:]
    return run


# -- openai-node in a subprocess ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeSetup:
    """Where the pinned openai-node is (``modules``), or why it cannot run (``reason``)."""

    node: str | None
    modules: Path | None
    version: str
    reason: str = ""
    install_s: float = 0.0


def cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "oai-conformance"


def _node_major(node: str) -> int | None:
    try:
        found = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.match(r"v?(\d+)\.", found.stdout.strip())
    return int(match.group(1)) if match else None


def prepare_node(version: str = NODE_OPENAI_VERSION) -> NodeSetup:
    """Find node and the pinned openai npm package, installing it into the cache folder on first use.

    The install goes to a private folder first and is renamed into place, so concurrent runs never see a
    half-installed package.
    """
    node = shutil.which("node")
    if node is None:
        return NodeSetup(None, None, version, "node is not on PATH, so openai-node was not run")
    major = _node_major(node)
    if major is None or major < NODE_MIN_MAJOR:
        return NodeSetup(node, None, version, f"node {major or '?'} is too old for openai-node (needs >= 18)")
    home = cache_dir() / f"node-openai-{version}"
    if (home / "node_modules" / "openai" / "package.json").is_file():
        return NodeSetup(node, home, version)
    npm = shutil.which("npm")
    if npm is None:
        return NodeSetup(node, None, version, f"npm is not on PATH, so openai@{version} could not be installed")
    staging = home.with_name(f".{home.name}.{os.getpid()}.partial")
    started = time.monotonic()
    try:
        staging.mkdir(parents=True, exist_ok=True)
        installed = subprocess.run(
            [npm, "install", "--prefix", str(staging), *NPM_INSTALL_FLAGS, f"openai@{version}"],
            capture_output=True,
            text=True,
            timeout=NODE_INSTALL_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        return NodeSetup(node, None, version, f"npm install openai@{version} failed: {type(exc).__name__}: {exc}")
    elapsed = time.monotonic() - started
    if installed.returncode != 0 or not (staging / "node_modules" / "openai" / "package.json").is_file():
        shutil.rmtree(staging, ignore_errors=True)
        tail = " ".join((installed.stderr or installed.stdout).split())[-300:]
        return NodeSetup(
            node, None, version, f"npm install openai@{version} failed (exit {installed.returncode}): {tail}"
        )
    try:
        staging.rename(home)
    except OSError:
        # Another run installed it meanwhile; theirs is as good as ours.
        shutil.rmtree(staging, ignore_errors=True)
    return NodeSetup(node, home, version, install_s=elapsed)


@dataclass
class NodeResults:
    """Every flow's run, by flow name; ``missing`` holds the flows without a result: (why, how to report)."""

    runs: dict[str, SdkRun] = field(default_factory=dict)
    # kind: "budget" (not run: SKIP), "timeout" (the script outlived its time: TIMEOUT), "crash" (ERROR)
    missing: dict[str, tuple[str, str]] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def run_of(self, flow: str) -> SdkRun:
        """The flow's run; raises the outcome of a flow that has none."""
        if flow in self.runs:
            return self.runs[flow]
        kind, why = self.missing.get(flow, ("crash", "the flow was not run"))
        if kind == "budget":
            raise BudgetExhausted(why)
        if kind == "timeout":
            raise ProviderTimeout(f"{NODE}: the script did not finish", expected="a result per flow", actual=why)
        raise RuntimeError(f"{NODE}: {why}")


def _node_exchange(record: dict[str, Any]) -> Exchange:
    body = record.get("request_body")
    request_body = body.encode() if isinstance(body, str) else None
    streamed = _asks_stream(request_body or b"")
    kind = StreamExchange if streamed else Exchange
    exchange = kind(
        method=str(record.get("method") or "GET"),
        url=str(record.get("url") or ""),
        request_headers={str(k).lower(): str(v) for k, v in (record.get("request_headers") or {}).items()},
        request_body=request_body,
    )
    exchange.status = record.get("status") if isinstance(record.get("status"), int) else None
    exchange.reason = str(record.get("reason") or "")
    exchange.headers = {str(k).lower(): str(v) for k, v in (record.get("headers") or {}).items()}
    raw = record.get("body_base64")
    exchange.body = base64.b64decode(raw) if isinstance(raw, str) else b""
    exchange.truncated = bool(record.get("truncated"))
    exchange.attempts = [str(attempt) for attempt in record.get("attempts") or []]
    exchange.elapsed_s = float(record.get("elapsed_ms") or 0) / 1000
    if record.get("error"):
        exchange.error, exchange.error_detail = "protocol", str(record["error"])
        if "timeout" in str(record["error"]).lower() or "abort" in str(record["error"]).lower():
            exchange.error = "timeout"
    if isinstance(exchange, StreamExchange):
        exchange.decoded = decode(exchange.body)
    return exchange


class NodeRun:
    """The node script for one run, started in the background so that it overlaps openai-python's flows.

    Its requests are charged when it starts (the script refuses to send more); :meth:`results` waits for
    it once and reads what it printed.
    """

    def __init__(
        self,
        http: HttpClient,
        setup: NodeSetup,
        flows: list[str],
        *,
        models: dict[str, str],
        unknown_model: str,
        wrong_key: str,
    ) -> None:
        assert setup.node is not None
        assert setup.modules is not None
        self.http = http
        self._results = NodeResults()
        self._granted = self._grant(flows)
        self._process: subprocess.Popen[bytes] | None = None
        self._started = time.monotonic()
        self._deadline = self._started + http.target.timeout * (self._budget + 1) + 15
        if not self._granted:
            return
        target = http.target
        env = {
            # A clean environment: openai-node reads OPENAI_* variables (base URL, key, log level) itself.
            **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP")},
            "OAI_SDK_DIR": str(setup.modules),
            "OAI_BASE_URL": target.base_url,
            "OAI_API_KEY": target.api_key or "none",
            "OAI_ORGANIZATION": target.organization or "",
            "OAI_HEADERS": json.dumps(dict(target.headers)),
            "OAI_CHAT_MODEL": models.get("chat", ""),
            "OAI_EMBEDDING_MODEL": models.get("embeddings", ""),
            "OAI_UNKNOWN_MODEL": unknown_model,
            "OAI_WRONG_KEY": wrong_key if target.api_key else "",
            "OAI_MAX_TOKENS": str(target.max_tokens),
            "OAI_TIMEOUT_MS": str(int(target.timeout * 1000)),
            "OAI_MAX_BODY_BYTES": str(target.max_stream_bytes),
            "OAI_BUDGET": str(self._budget),
            # 429/503 are waited for and retried by the script's fetch like the suite's own requests, within
            # what is left of the budget; each retry is charged when the script has finished.
            "OAI_MAX_RETRIES": str(target.max_retries),
            "OAI_MAX_RETRY_WAIT": str(target.max_retry_wait),
            "OAI_RETRY_BUDGET": str(max(target.max_requests - http.usage.requests, 0)),
            "OAI_FLOWS": ",".join(self._granted),
        }
        # Files, not pipes: the script never blocks on a full pipe while nobody reads it yet. They stay open
        # until results() or close() (a `with` block cannot span the two calls).
        self._stdout = tempfile.TemporaryFile()  # noqa: SIM115
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self._process = subprocess.Popen(
            [setup.node, str(NODE_SCRIPT)],
            stdin=subprocess.DEVNULL,
            stdout=self._stdout,
            stderr=self._stderr,
            env=env,
        )

    def _grant(self, flows: list[str]) -> list[str]:
        """Charge the budget for each flow, in order, as far as it goes; the rest are not run."""
        http, granted = self.http, []
        self._budget = 0
        for position, flow in enumerate(flows):
            method, path = NODE_FLOW_ENDPOINTS[flow]
            blocked = http.breaker_blocks(method, http.url(path))
            if blocked is not None:
                self._results.missing[flow] = ("timeout", f"not sent: circuit breaker open for {blocked}")
                continue
            wanted = NODE_FLOW_REQUESTS[flow] - (1 if flow == "errors" and not http.target.api_key else 0)
            try:
                if http.usage.requests + wanted > http.target.max_requests:
                    raise BudgetExhausted(
                        f"request budget of {http.target.max_requests} spent (raise it with --max-requests)"
                    )
                for _ in range(wanted):
                    http.charge(method)
                    self._budget += 1
            except BudgetExhausted as exc:
                self._results.missing.update({name: ("budget", str(exc)) for name in flows[position:]})
                break
            granted.append(flow)
        return granted

    def results(self) -> NodeResults:
        """Wait for the script (once) and read every flow's run; flows without one are in ``missing``."""
        process, results = self._process, self._results
        if process is None:
            return results
        self._process = None
        timed_out = False
        try:
            code: int | None = process.wait(timeout=max(self._deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code, timed_out = None, True
        results.elapsed_s = time.monotonic() - self._started
        self._stdout.seek(0)
        self._stderr.seek(0)
        stdout = self._stdout.read().decode("utf-8", errors="replace")
        stderr = self._stderr.read().decode("utf-8", errors="replace")
        self._stdout.close()
        self._stderr.close()
        for line in stdout.splitlines():
            if line.startswith("{"):
                self._read(json.loads(line))
        for flow in self._granted:
            if flow not in results.runs:
                why = self.http.redact(" ".join(stderr.split())[-400:]) or f"exit code {code}"
                if timed_out:
                    why = f"no result within {self._deadline - self._started:.0f} s"
                kind = "timeout" if timed_out else "crash"
                results.missing[flow] = (kind, f"the openai-node script gave no result for this flow ({why})")
        return results

    def _read(self, record: dict[str, Any]) -> None:
        http = self.http
        run = SdkRun(client=NODE, what=str(record.get("what") or record.get("flow")), value=record.get("value"))
        items = record.get("exchanges") or []
        run.exchanges = [_node_exchange(item) for item in items]
        if not record.get("ok"):
            run.error = NodeError(record.get("error") or {})
        for exchange, item in zip(run.exchanges, items, strict=True):
            _account(http, exchange)
            http.answered(exchange.method, exchange.url, answered=exchange.error != "timeout")
            for _retry in item.get("attempts") or []:
                with contextlib.suppress(BudgetExhausted):  # sent within the budget granted to the script
                    http.charge(exchange.method)
        self._results.runs[str(record.get("flow"))] = run

    def close(self) -> None:
        """Stop a script nobody waited for (a run interrupted before the node checks)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
            self._stdout.close()
            self._stderr.close()
        self._process = None


def run_node(
    http: HttpClient,
    setup: NodeSetup,
    flows: list[str],
    *,
    models: dict[str, str],
    unknown_model: str,
    wrong_key: str,
) -> NodeResults:
    """Charge the budget for ``flows``, run the script to its end and read its results."""
    return NodeRun(http, setup, flows, models=models, unknown_model=unknown_model, wrong_key=wrong_key).results()
