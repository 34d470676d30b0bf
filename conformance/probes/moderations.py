"""Probes of the moderation checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from conformance.engine import probe
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange

if TYPE_CHECKING:
    pass

from conformance.probes.endpoints import MODERATION_BENIGN, MODERATION_FLAGGED

# -- moderations ----------------------------------------------------------------------------------------


@probe
def moderation_single(moderations_client: HttpClient) -> Exchange:
    return moderations_client.request("POST", "moderations", json_body={"input": MODERATION_FLAGGED})


@probe
def moderation_batch(moderations_client: HttpClient) -> Exchange:
    return moderations_client.request(
        "POST", "moderations", json_body={"input": [MODERATION_BENIGN, MODERATION_FLAGGED]}
    )
