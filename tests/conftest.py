"""Shared fixtures of the project's own tests: one multiplexed reference provider for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.reference import ReferenceServer

pytest_plugins = ["pytester"]

TEST_KEY = "sk-test-meta-0123456789abcdef"


@pytest.fixture(scope="session")
def reference_server() -> Iterator[ReferenceServer]:
    """One server on 127.0.0.1 serving the clean provider and, under /_fault/<name>/v1, every fault."""
    server = ReferenceServer(api_key=TEST_KEY, multiplex=True, stream_delay=0.001).start()
    try:
        yield server
    finally:
        server.stop()
