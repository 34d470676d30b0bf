"""schemathesis' requests, sent through the run's one transport policy.

schemathesis sends every case of a schema -- generated, hand-built, and the probes its checks send
(``ignored_auth``) -- through ``schema.transport``, a ``requests``-based transport. :func:`through_policy`
gives the schema one whose sessions carry :class:`PolicyAdapter`: each prepared request goes to the
policy (budget and the property run's :class:`~conformance.transport.policy.Share`, breaker, slot,
deadline, caps, 429/503 backoff, origin lock, recording) and comes back as the ``requests`` response
schemathesis expects. The policy's refusals become what ``requests`` raises for no answer
(:class:`requests.ConnectTimeout` for a breaker that is open, the cause chained), or
:class:`~conformance.transport.limits.BudgetExhausted` as is.

Only the engine's two capability probes (its probing phase) build a session of their own; they are
counted up front (``HttpClient.count_sent``).
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import httpx
import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse
from urllib3._collections import HTTPHeaderDict

from conformance.transport.policy import SHARE, Policy, Share


class PolicyAdapter(HTTPAdapter):
    """A ``requests`` adapter that hands every request to the policy."""

    def __init__(self, policy: Policy, share: Share) -> None:
        super().__init__()
        self.policy, self.share = policy, share
        self._client = httpx.Client(transport=policy, follow_redirects=False, trust_env=False)

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is not None and not isinstance(body, bytes):
            body = b"".join(part if isinstance(part, bytes) else str(part).encode() for part in body)
        outgoing = httpx.Request(
            request.method or "GET",
            request.url or "",
            headers=list(request.headers.items()),
            content=body or b"",
            extensions={"timeout": self.policy.timeout.as_dict(), SHARE: self.share},
        )
        try:
            response = self._client.send(outgoing, stream=True)
            try:
                content = response.read()
            finally:
                response.close()
        except httpx.TimeoutException as exc:  # no answer in time, or the breaker answered for the provider
            raise requests.ConnectTimeout(str(exc), request=request) from exc
        except httpx.HTTPError as exc:
            raise requests.ConnectionError(str(exc), request=request) from exc
        raw = HTTPResponse(
            body=io.BytesIO(content),
            headers=HTTPHeaderDict(list(response.headers.multi_items())),
            status=response.status_code,
            reason=response.reason_phrase,
            version=11,
            preload_content=False,
            decode_content=False,
        )
        answer = self.build_response(request, raw)
        answer.elapsed = response.elapsed if _has_elapsed(response) else timedelta(0)
        return answer

    def close(self) -> None:
        """Nothing to free: the connections are the policy's (a session closing must not end the run's)."""


def _has_elapsed(response: httpx.Response) -> bool:
    try:
        response.elapsed  # noqa: B018 - set by httpx once the response is closed
    except RuntimeError:
        return False
    return True


def through_policy(schema: Any, policy: Policy, share: Share) -> Any:
    """Make every request of ``schema`` (and of the copies schemathesis makes of it) go through ``policy``."""
    from schemathesis.transport.requests import REQUESTS_TRANSPORT, RequestsTransport, SameHostRedirectsSession

    adapter = PolicyAdapter(policy, share)

    class PolicyTransport(RequestsTransport):
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

    transport = PolicyTransport()
    transport._copy_serializers_from(REQUESTS_TRANSPORT)
    base = type(schema)
    schema.__class__ = type(base.__name__, (base,), {"transport": property(lambda _self: transport)})
    return schema
