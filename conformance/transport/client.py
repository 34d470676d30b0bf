"""The HTTP client every probe and check uses: a thin layer over ``httpx.Client(transport=Policy)``.

It joins paths to the base URL exactly as the official SDK does, builds the headers (the key only for
the target's own origin), never follows redirects (a redirect is recorded and judged by checks), and
hands back the :class:`~conformance.transport.exchange.Exchange` the policy recorded. Budgets, slots,
deadlines, caps, the breaker and backoff are the policy's (:mod:`conformance.transport.policy`).

Transport failures are recorded on the exchange (``error``), never raised: a provider that resets,
hangs or sends garbage is the provider's failure, judged by checks, not a crash of the run. Refused
requests (a budget, the run's time) raise :class:`BudgetExhausted` (a SKIP).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx

from conformance import __version__
from conformance.transport.breaker import CircuitBreaker, endpoint_key, scopes_of
from conformance.transport.delivery import TransportLog
from conformance.transport.exchange import Exchange, Redactor, StreamExchange
from conformance.transport.limits import UNANSWERED, BudgetExhausted, Usage
from conformance.transport.policy import OPTIONS, NotSent, Options, Policy
from conformance.transport.urls import join_url, origin

if TYPE_CHECKING:
    from conformance.target import Target


class HttpClient:
    """Sends requests to one target through its policy and hands back what was recorded. Thread-safe."""

    def __init__(self, target: Target, *, transport: httpx.BaseTransport | None = None) -> None:
        self.target = target
        self.policy = Policy(target, transport=transport)
        self._origin = origin(target.base_url)
        # No redirects followed, like the SDK's requests are judged; the policy's timeouts on every request.
        self._http = httpx.Client(
            transport=self.policy, timeout=self.policy.timeout, follow_redirects=False, trust_env=False
        )

    def close(self) -> None:
        self._http.close()
        self.policy.shutdown()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the policy's state, as the probes and the report read it ------------------------------------

    @property
    def redact(self) -> Redactor:
        return self.policy.redact

    @property
    def usage(self) -> Usage:
        return self.policy.usage

    @property
    def breaker(self) -> CircuitBreaker:
        return self.policy.breaker

    @property
    def log(self) -> TransportLog:
        return self.policy.log

    @property
    def run_deadline(self) -> float | None:
        return self.policy.run_deadline

    def charge(self, method: str = "POST") -> None:
        """Count one request against the run's budgets (raises BudgetExhausted)."""
        self.policy.charge(method)

    def account(self, payload: Any) -> None:
        """Add the tokens billed by a response (its ``usage`` object)."""
        self.policy.account(payload)

    def count_sent(self, count: int = 1) -> None:
        """Count requests another HTTP stack already sent without asking first (schemathesis' engine
        probes); they are counted even when that overdraws the budget."""
        with self.policy._lock:
            self.policy.usage.requests += count

    def dead(self, method: str, url: str, *, stream: bool = False) -> str | None:
        """Why requests like this one are answered "not sent" (the breaker found their scope dead), or None."""
        return self.policy.breaker.dead_for(scopes_of(method, url, self.target.base_url, stream=stream))

    @contextlib.contextmanager
    def slots(self, count: int = 1) -> Iterator[None]:
        """Hold ``count`` slots of the concurrency limit while something else counts as requests in flight."""
        with self.policy.slots(count):
            yield

    # -- request building ------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return join_url(self.target.base_url, path)

    def headers(
        self, *, auth: bool | str = True, extra: dict[str, str] | None = None, json_body: bool = False
    ) -> dict[str, str]:
        # The same defaults as openai-python: JSON accept even for streams (servers must not require
        # "Accept: text/event-stream" to stream).
        headers = {"accept": "application/json", "user-agent": f"oai-conformance/{__version__}"}
        if json_body:
            headers["content-type"] = "application/json"
        key = auth if isinstance(auth, str) else (self.target.api_key if auth else None)
        if key:
            headers["authorization"] = f"Bearer {key}"
        if self.target.organization:
            headers["openai-organization"] = self.target.organization
        headers.update({name.lower(): value for name, value in self.target.headers})
        headers.update({k.lower(): v for k, v in (extra or {}).items()})
        return headers

    def _prepare(
        self,
        method: str,
        path: str,
        *,
        json_body: Any,
        content: bytes | None,
        auth: bool | str,
        headers: dict[str, str] | None,
    ) -> tuple[str, dict[str, str], bytes | None]:
        url = self.url(path)
        body = content
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode()
        sent_headers = self.headers(auth=auth, extra=headers, json_body=json_body is not None)
        if origin(url) != self._origin:
            # Credentials (the key and the user's own headers) never travel to a host other than the target's.
            sent_headers.pop("authorization", None)
            for name, _ in self.target.headers:
                sent_headers.pop(name.lower(), None)
        return url, sent_headers, body

    # -- sending -----------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        auth: bool | str = True,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Exchange:
        """Send one request and read the whole (capped) body within ``timeout`` (default: the target's)."""
        url, sent_headers, body = self._prepare(
            method, path, json_body=json_body, content=content, auth=auth, headers=headers
        )
        exchange = Exchange(method=method, url=url, request_headers=sent_headers, request_body=body)
        limit = min(timeout, self.target.timeout) if timeout is not None else self.target.timeout
        self._send(Options(exchange, limit))
        return exchange

    def stream(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        auth: bool | str = True,
        headers: dict[str, str] | None = None,
        max_seconds: float | None = None,
        max_events: int | None = None,
    ) -> StreamExchange:
        """Send a request whose answer should be an event stream; decode it while it arrives."""
        url, sent_headers, body = self._prepare(
            method, path, json_body=json_body, content=None, auth=auth, headers=headers
        )
        exchange = StreamExchange(method=method, url=url, request_headers=sent_headers, request_body=body)
        target = self.target
        limit = min(max_seconds, target.max_stream_seconds) if max_seconds else target.max_stream_seconds
        events = min(max_events, target.max_stream_events) if max_events else target.max_stream_events
        self._send(Options(exchange, limit, events))
        return exchange

    def resend(self, method: str, url: str, *, headers: dict[str, str], body: bytes | None, stream: bool) -> Exchange:
        """Send a recorded request again as it was (``oai-conformance evidence``): these headers, none of the
        client's own added, and this body; read as an event stream when ``stream``."""
        kind = StreamExchange if stream else Exchange
        exchange = kind(method=method, url=url, request_headers=headers, request_body=body)
        target = self.target
        if stream:
            self._send(Options(exchange, target.max_stream_seconds, target.max_stream_events))
        else:
            self._send(Options(exchange, target.timeout))
        return exchange

    def _send(self, options: Options) -> None:
        """Send through the policy and read the answer to its end; the policy records it on the exchange."""
        exchange = options.exchange
        request = self._http.build_request(
            exchange.method,
            exchange.url,
            headers=exchange.request_headers,
            content=exchange.request_body,
            extensions={OPTIONS: options},
        )
        try:
            response = self._http.send(request, stream=True)
        except NotSent:
            return
        except httpx.HTTPError:
            pass  # recorded on the exchange by the policy
        else:
            try:
                for _ in response.iter_raw():
                    pass
            except httpx.HTTPError:
                pass  # a cap, a deadline or the provider's failure: recorded on the exchange
            finally:
                response.close()
        if exchange.error in UNANSWERED and self.policy.run_over():
            # Cut by the user's run limit, not judged: the check that sent it is reported as not run.
            key = endpoint_key(exchange.method, exchange.url, self.target.base_url)
            raise BudgetExhausted(
                f"not run: the run time limit of {self.target.max_run_seconds:g} s was reached during {key}"
            )
