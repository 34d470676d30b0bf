"""Probes of the auth checks that no error check shares (the refused requests are in errors.py)."""

from __future__ import annotations

from conformance.engine import probe
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange

ORGANIZATION = "org-oai-conformance"


@probe
def organization_models(client: HttpClient) -> Exchange:
    """GET /models with an OpenAI-Organization header, as the SDKs send it when one is configured."""
    return client.request("GET", "models", headers={"OpenAI-Organization": ORGANIZATION})
