"""Bearer-token authentication with OpenAI's messages; the full key never appears in a response."""

from __future__ import annotations

import hmac
from typing import Final

from .errors import ApiError

__all__ = ["DEFAULT_API_KEY", "check_authorization", "mask_key"]

DEFAULT_API_KEY: Final = "sk-ref-conformance-key"

_MISSING_KEY_MESSAGE: Final = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from your provider."
)


def mask_key(key: str) -> str:
    """At most the first 3 and last 4 characters; keys shorter than 12 characters show only ``***``."""
    if len(key) < 12:
        return "***"
    return f"{key[:3]}{'*' * (len(key) - 7)}{key[-4:]}"


def check_authorization(header: str | None, api_key: str) -> ApiError | None:
    """None when ``header`` is ``Bearer <api_key>``; otherwise the 401 to send.

    A header that is absent, empty, or not a Bearer credential counts as "no key provided".
    """
    scheme, _, token = (header or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return ApiError(401, _MISSING_KEY_MESSAGE)
    if hmac.compare_digest(token.encode(), api_key.encode()):
        return None
    return ApiError(401, f"Incorrect API key provided: {mask_key(token)}.", code="invalid_api_key")
