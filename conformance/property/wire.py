"""schemathesis' requests, sent through the run's one transport policy.

schemathesis sends every case of a schema -- generated, hand-built, and the probes its checks send
(``ignored_auth``) -- through ``schema.transport``, a ``requests``-based transport. :func:`through_adapter`
gives the schema one whose sessions carry a ``requests`` adapter of ours: in the run's own process
:class:`PolicyAdapter`, whose every prepared request goes to the policy (budget and the property run's
:class:`~conformance.transport.policy.Share`, breaker, slot, deadline, caps, 429/503 backoff, origin
lock, recording) and comes back as the ``requests`` response schemathesis expects; in a worker process
the relay to the run (:mod:`conformance.property.relay`), which ends in a :class:`PolicySender` all the same. The
policy's refusals become what ``requests`` raises for no answer (:class:`requests.ConnectTimeout` for a
breaker that is open, the cause chained), or :class:`~conformance.transport.limits.BudgetExhausted` as is.

Only the engine's two capability probes (its probing phase) build a session of their own; they are
counted up front (``HttpClient.count_sent``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse
from urllib3._collections import HTTPHeaderDict

from conformance.transport.policy import SHARE, Policy, Share


@dataclass(frozen=True)
class Answer:
    """An answer as the policy handed it over: the body read whole (and decoded), the headers as they came."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    content: bytes
    elapsed: timedelta


class PolicySender:
    """Requests sent through the policy and charged to ``share`` (the property run's part of the budget)."""

    def __init__(self, policy: Policy, share: Share) -> None:
        self.policy, self.share = policy, share
        self._client = httpx.Client(transport=policy, follow_redirects=False, trust_env=False)

    def send(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        """The answer, read whole; the policy's refusals and httpx's errors are raised as they are."""
        extensions = {"timeout": self.policy.timeout.as_dict(), SHARE: self.share}
        response = self._client.send(
            httpx.Request(method, url, headers=headers, content=body, extensions=extensions), stream=True
        )
        try:
            content = response.read()
        finally:
            response.close()
        elapsed = response.elapsed if _has_elapsed(response) else timedelta(0)
        headers = list(response.headers.multi_items())
        return Answer(response.status_code, response.reason_phrase, headers, content, elapsed)


def request_body(request: requests.PreparedRequest) -> bytes:
    body = request.body
    if isinstance(body, str):
        return body.encode("utf-8")
    if body is not None and not isinstance(body, bytes):
        return b"".join(part if isinstance(part, bytes) else str(part).encode() for part in body)
    return body or b""


def as_requests_response(adapter: HTTPAdapter, request: requests.PreparedRequest, answer: Answer) -> requests.Response:
    """The ``requests`` response schemathesis expects, for ``answer`` to ``request``."""
    raw = HTTPResponse(
        body=io.BytesIO(answer.content),
        headers=HTTPHeaderDict(answer.headers),
        status=answer.status,
        reason=answer.reason,
        version=11,
        preload_content=False,
        decode_content=False,
    )
    response = adapter.build_response(request, raw)
    response.elapsed = answer.elapsed
    return response


class PolicyAdapter(HTTPAdapter):
    """A ``requests`` adapter that hands every request to the policy."""

    def __init__(self, policy: Policy, share: Share) -> None:
        super().__init__()
        self.sender = PolicySender(policy, share)

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        method, url, headers = request.method or "GET", request.url or "", list(request.headers.items())
        try:
            answer = self.sender.send(method, url, headers, request_body(request))
        except httpx.TimeoutException as exc:  # no answer in time, or the breaker answered for the provider
            raise requests.ConnectTimeout(str(exc), request=request) from exc
        except httpx.HTTPError as exc:
            raise requests.ConnectionError(str(exc), request=request) from exc
        return as_requests_response(self, request, answer)

    def close(self) -> None:
        """Nothing to free: the connections are the policy's (a session closing must not end the run's)."""


def _has_elapsed(response: httpx.Response) -> bool:
    try:
        response.elapsed  # noqa: B018 - set by httpx once the response is closed
    except RuntimeError:
        return False
    return True


def through_adapter(schema: Any, adapter: HTTPAdapter) -> Any:
    """Make every request of ``schema`` (and of the copies schemathesis makes of it) go out through ``adapter``."""
    from schemathesis.transport.requests import REQUESTS_TRANSPORT, RequestsTransport, SameHostRedirectsSession

    class AdaptedTransport(RequestsTransport):
        def send(self, case: Any, *, session: requests.Session | None = None, **kwargs: Any) -> Any:
            own = session is None
            if session is None:
                session = SameHostRedirectsSession()  # what schemathesis would have made for this call
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            try:
                return super().send(case, session=session, **kwargs)
            finally:
                if own:
                    session.close()

    transport = AdaptedTransport()
    transport._copy_serializers_from(REQUESTS_TRANSPORT)
    base = type(schema)
    schema.__class__ = type(base.__name__, (base,), {"transport": property(lambda _self: transport)})
    return schema
