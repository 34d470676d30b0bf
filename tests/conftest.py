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


# The longest files first, in the order xdist (--dist loadfile --no-loadscope-reorder) hands them out: one
# to each of the three workers, then a second to each, then the rest as workers drain. Paired so the first
# two of each worker add up alike (seconds of one worker, measured: end-to-end 100 + hostile 89, meta 126 +
# timing 60, meta faults 128 + property workers 36); started late, one of them ran on after all else.
FIRST = (
    "tests/test_meta_end_to_end.py::",
    "tests/test_meta.py::",
    "tests/test_meta_faults.py::",
    "tests/test_hostile.py::",
    "tests/test_meta_timing.py::",
    "tests/test_property_workers.py::",
    "tests/test_concurrency.py::",
    "tests/test_property.py::",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first (:data:`FIRST`); and the tests of tests/test_meta.py that read one fault's
    scoped run one after another, so that run is dropped after its last reader (test_meta.Judged) instead
    of being kept for the whole session."""

    def rank(item: pytest.Item) -> int:
        return next((n for n, prefix in enumerate(FIRST) if item.nodeid.startswith(prefix)), len(FIRST))

    items.sort(key=rank)
    for prefix in ("tests/test_meta.py::", "tests/test_meta_faults.py::"):
        positions = [
            n
            for n, item in enumerate(items)
            if item.nodeid.startswith(prefix)
            and "judged" in getattr(item, "fixturenames", ())
            and "fault" in getattr(getattr(item, "callspec", None), "params", {})
        ]
        by_fault = sorted((items[n] for n in positions), key=lambda item: item.callspec.params["fault"])  # type: ignore[attr-defined]
        for n, item in zip(positions, by_fault, strict=True):
            items[n] = item
