"""AUTH-*: Bearer authentication and the organization header (seed 002 "Authentication"; seed 001)."""

from __future__ import annotations

import pytest

from conformance import expect
from conformance.http import Exchange, HttpClient
from conformance.plugin import requirement
from conformance.target import Target


@pytest.fixture
def keyed(target: Target) -> None:
    if not target.api_key:
        pytest.skip("no API key configured: the provider is used without authentication")


@requirement("AUTH-001", needs="chat")
def test_missing_key_is_401(keyed: None, no_key_chat: Exchange) -> None:
    expect.status(no_key_chat, 401, title="A request without a key was not refused with 401")


@requirement("AUTH-002", needs="chat")
def test_wrong_key_is_401(keyed: None, wrong_key_chat: Exchange) -> None:
    expect.status(wrong_key_chat, 401, title="A request with a wrong key was not refused with 401")


@requirement("AUTH-003")
def test_organization_header_is_accepted(client: HttpClient) -> None:
    exchange = client.request("GET", "models", headers={"OpenAI-Organization": "org-oai-conformance"})
    expect.status(exchange, 200, title="A request with OpenAI-Organization was not served")
