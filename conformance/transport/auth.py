"""Which credentials a request carried: the auth kind a report records for each exchange (never the key).

The policy classifies every request where it is sent (:meth:`Policy.handle_request
<conformance.transport.policy.Policy.handle_request>`), so the report says what really went on the wire
-- the suite's own probes, openai-python, openai-node and schemathesis alike -- and a replay
(:mod:`conformance.replay`) can send the same kind again: the user's key for ``valid``, :data:`WRONG_KEY`
for ``wrong``, no ``Authorization`` for ``none``, and the recorded (redacted) value for ``other``.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

# The suite's fixed wrong key: public, so a report shows it and a replay sends it again.
WRONG_KEY = "sk-oai-conformance-wrong-key-0000000000"


class AuthKind(StrEnum):
    VALID = "valid"  # Authorization: Bearer <the target's key>
    WRONG = "wrong"  # Authorization: Bearer WRONG_KEY
    NONE = "none"  # no Authorization header at all
    OTHER = "other"  # any other Authorization (openai-python's "Bearer none" for a target without a key, …)


def auth_kind(headers: Iterable[tuple[str, str]], api_key: str | None) -> AuthKind:
    """The kind of credentials among ``headers`` (name, value pairs, any case) for a target keyed ``api_key``."""
    values = [value for name, value in headers if name.lower() == "authorization"]
    if not values:
        return AuthKind.NONE
    if len(values) == 1:
        if api_key and values[0] == f"Bearer {api_key}":
            return AuthKind.VALID
        if values[0] == f"Bearer {WRONG_KEY}":
            return AuthKind.WRONG
    return AuthKind.OTHER
