"""schemathesis' requests, sent through the run's one transport policy.

schemathesis sends every case of a schema -- generated, hand-built, and the probes its checks send
(``ignored_auth``) -- through ``schema.transport``, a ``requests``-based transport. :func:`through_adapter`
gives the schema one whose sessions carry a ``requests`` adapter of ours: in the workers, the relay to the
run (:mod:`conformance.property.relay`), where a :class:`PolicySender` hands each request to the policy
(budget and the property run's :class:`~conformance.transport.policy.Share`, breaker, slot, deadline,
caps, 429/503 backoff, origin lock, recording); the answer comes back as the ``requests`` response
schemathesis expects (:func:`as_requests_response`).

Only the engine's two capability probes (its probing phase) build a session of their own; the run counts
them (``HttpClient.count_sent``).
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
