"""openai-python, in-process, as an oracle: ``openai.OpenAI(http_client=httpx.Client(transport=policy))``.

Every request the SDK makes goes through the run's one transport policy
(:class:`~conformance.transport.policy.Policy`): it goes to the target's origin or nowhere (a cross-origin
redirect raises :class:`~conformance.transport.policy.LeftOrigin` before a byte is sent), passes the
circuit breaker, is charged to the budgets, holds a concurrency slot, has the hard deadline and the caps,
and is recorded as an :class:`~conformance.transport.exchange.Exchange`, so a failure shows the exception
the client raised next to the raw exchange. The SDK runs with ``max_retries=0`` (a retry would hide the
answer that broke it); only a 429/503 is waited for and sent again, by the policy, as for every request.

Strict mode (``_strict_response_validation=True``) is the same client with validation on. It is judged on
the very answers the plain client received, replayed by :class:`Replay`: the two verdicts then differ
only by validation, never by a provider's non-determinism, and strict mode costs no request.
"""

from __future__ import annotations

import threading
import warnings
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx
import openai

from conformance.sdk.outcomes import PYTHON, PYTHON_STRICT, SdkOutcome, SdkRun
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange
from conformance.transport.policy import Policy


class Replay(httpx.BaseTransport):
    """The strict client's transport: the plain client's recorded answers, in order, at no cost; a request
    that was not recorded goes to the policy like any other."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.answers: deque[Exchange] = deque()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        recorded = self.answers[0] if self.answers else None
        if (
            recorded is not None
            and recorded.method == request.method
            and recorded.url == str(request.url)
            and (recorded.request_body or b"") == body
        ):
            self.answers.popleft()
            self.policy.record(recorded)
            skip = ("content-length", "content-encoding", "transfer-encoding")
            headers = [(k, v) for k, v in recorded.headers.items() if k not in skip]
            return httpx.Response(recorded.status or 0, headers=headers, content=recorded.body)
        return self.policy.handle_request(request)


class PythonSdk:
    """openai-python for one run: a plain and a strict client, built from the target, over the policy."""

    def __init__(self, http: HttpClient) -> None:
        self.http = http
        self.policy = http.policy
        self.replay = Replay(self.policy)
        self.plain = self.client(self.policy, strict=False)
        self.strict = self.client(self.replay, strict=True)
        # One flow at a time: the strict client replays the plain client's answers to the same flow; flows
        # are shared probes, which several threads may ask for at once.
        self._flow = threading.Lock()

    def client(self, transport: httpx.BaseTransport, *, strict: bool) -> openai.OpenAI:
        target = self.http.target
        return openai.OpenAI(
            base_url=target.base_url,
            api_key=target.api_key or "none",  # the SDK refuses to start without one; "none" is what users pass
            organization=target.organization,
            max_retries=0,  # a retry would hide the answer that broke the client, and cost a request
            timeout=target.timeout,
            default_headers=dict(target.headers) or None,
            # follow_redirects like the SDK's own default client; the policy stops any other origin. The
            # environment's proxies are the policy's client's business, not this one's.
            http_client=httpx.Client(transport=transport, follow_redirects=True, trust_env=False),
            _strict_response_validation=strict,
        )

    def run(self, what: str, flow: Callable[[openai.OpenAI], Any], *, strict: bool = True) -> SdkOutcome:
        """Run ``flow`` with the plain client; then, when it raised nothing, with the strict one."""
        with self._flow:
            plain = self._run(PYTHON, what, self.plain, flow)
            if not strict or plain.error is not None:
                return SdkOutcome(plain)
            self.replay.answers = deque(e for e in plain.exchanges if e.error is None and e.status is not None)
            try:
                return SdkOutcome(plain, self._run(PYTHON_STRICT, what, self.strict, flow))
            finally:
                self.replay.answers.clear()

    def _run(self, client: str, what: str, sdk: openai.OpenAI, flow: Callable[[openai.OpenAI], Any]) -> SdkRun:
        run = SdkRun(client=client, what=what)
        # The policy records what this thread sends, and finishes any answer the flow left unread.
        with self.policy.recording() as exchanges:
            try:
                with warnings.catch_warnings():
                    # The SDK warns about values it keeps although they do not fit its models (pydantic
                    # serializer warnings); what it raises or returns is what the checks judge and report.
                    warnings.simplefilter("ignore")
                    run.value = flow(sdk)
            except Exception as exc:  # judged by raise_for_error: the provider's fault, a SKIP, or our bug
                run.error = exc
        run.exchanges = exchanges
        return run

    def close(self) -> None:
        for sdk in (self.plain, self.strict):
            sdk.close()
