"""Requests sent side by side: the verdicts do not depend on it, and the concurrency limit holds."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from conformance.reference import ReferenceServer, create_app
from tests.conftest import TEST_KEY
from tests.suite_runs import outcomes, score


@pytest.mark.parametrize("fault", [None, "stream-no-done"], ids=["clean", "stream-no-done"])
def test_one_request_at_a_time_gives_the_same_verdicts(reference_server: ReferenceServer, fault: str | None) -> None:
    url = reference_server.fault_base_url(fault) if fault else reference_server.base_url
    # The property run's cases come from worker processes with a fixed set of imports: the same whatever
    # the concurrency and whatever this process loaded (tests/test_property_workers.py).
    side_by_side = score(url, TEST_KEY)
    one_at_a_time = score(url, TEST_KEY, concurrency=1)
    assert side_by_side["target"]["limits"]["concurrency"] == 4
    assert outcomes(one_at_a_time) == outcomes(side_by_side)
    assert one_at_a_time["usage"]["requests"] == side_by_side["usage"]["requests"]


class InFlight:
    """ASGI wrapper: the most requests the provider was answering at once."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.now = 0
        self.most = 0
        self.lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            await self.app(scope, receive, send)
        finally:
            with self.lock:
                self.now -= 1


class CountedServer(ReferenceServer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.counter = InFlight(None)

    def _app(self) -> Any:
        self.counter.app = create_app(api_key=self.api_key, stream_delay=self.stream_delay, latency=self.latency)
        return self.counter


def test_requests_in_flight_stay_within_the_concurrency_limit() -> None:
    # 50 ms before every answer, so that requests sent side by side overlap at the provider.
    with CountedServer(api_key=TEST_KEY, stream_delay=0.001, latency=0.05) as server:
        report = score(server.base_url, TEST_KEY, concurrency=2)
    assert report["usage"]["requests"] > 200
    # The suite's own requests, the property run's and openai-python's share the two slots; openai-node
    # (one request at a time in its own process) and an SDK answer body still being sent after its
    # head released the slot may come on top.
    assert 2 <= server.counter.most <= 2 + 1 + 1, server.counter.most
