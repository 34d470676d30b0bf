"""How schemathesis and Hypothesis are set up for a property run: the configuration (fixed seed, few
examples, the checks we switch off and why) and where the workers' Hypothesis keeps its caches."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from conformance.property.spec import is_multipart

if TYPE_CHECKING:
    from conformance.target import Target

SEED: Final = 1
# Few examples per operation: with a fixed seed they are the same requests every run, and the
# explicit edge cases cover what random data would only find with hundreds of examples.
MAX_EXAMPLES: Final = 2
# Enough events for a clamped stream (max_tokens × n chunks plus role, finish, usage and [DONE]).
MAX_STREAM_EVENTS: Final = 400
# Built-in checks we switch off, and why:
DISABLED_CHECKS: Final = (
    # Schema-valid requests can break cross-parameter rules a schema cannot express (best_of >= n,
    # top_logprobs needs logprobs, stream_options needs stream), which a provider rightly refuses.
    "positive_data_acceptance",
    # Stateful checks need links; the description declares none, and the happy paths cover the flows.
    "use_after_free",
    "ensure_resource_availability",
    # Needs several identities.
    "object_level_authorization",
)
# schemathesis' capability probes (its engine's probing phase: a NUL byte in a header, unsafe characters in
# a path), sent once per run by the hand-built worker (tests/test_property_workers.py checks the count).
ENGINE_PROBES: Final = 2
# Kept visible in reproducers: schemathesis' defaults ("token", "key") would also hide `max_tokens`.
# The key itself is removed by our Redactor in any case.
SENSITIVE_MARKERS: Final = ("authorization", "api_key", "api-key", "secret", "password", "passwd", "credential")


def schemathesis_config(target: Target, operations: dict[str, dict[str, Any]], labels: set[str]) -> Any:
    """The schemathesis configuration of a run over the operations in ``labels``."""
    import schemathesis

    checks: dict[str, Any] = {name: {"enabled": False} for name in DISABLED_CHECKS}
    # Any 4xx is a refusal; a 5xx is judged by our own check (the "invalid input" class).
    checks["negative_data_rejection"] = {"expected-statuses": ["4xx"]}
    if not target.api_key:
        # Without a key nothing shows whether the provider would enforce one.
        checks["ignored_auth"] = {"enabled": False}
        checks["missing_required_header"] = {"enabled": False}
    no_reuse = {"extra-data-sources": {"responses": False}}
    headers = {"User-Agent": "oai-conformance property tests"}
    if target.organization:
        headers["OpenAI-Organization"] = target.organization
    headers.update(dict(target.headers))
    data: dict[str, Any] = {
        "seed": SEED,
        "base-url": target.base_url,
        "request-timeout": target.timeout,
        "max-stream-events": MAX_STREAM_EVENTS,
        "tls-verify": target.verify_tls,
        "continue-on-failure": True,  # one finding must not hide the next (research §4.16)
        # One engine worker: with more, schemathesis 4.32 now and then generated no case at all for
        # an operation (POST /completions, reported a success) -- a run must not depend on timing.
        # Hypothesis is not safe in threads on CPython 3.11 (its AST parsing, gh-106905); operations go
        # side by side in worker processes instead (conformance/property/pool.py).
        "workers": 1,
        "headers": headers,
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "database": "none",
            "no-shrink": True,
            "with-security-parameters": False,
        },
        "phases": {
            "examples": {"enabled": False},
            # Coverage enumerates every boundary of every field: hundreds of requests per operation.
            # The documented boundaries are sent deliberately as EDGE_CASES instead.
            "coverage": {"enabled": False, **no_reuse},
            "fuzzing": no_reuse,
            "stateful": {"enabled": False},
        },
        "cache": {"enabled": False},
        "checks": checks,
        "output": {"sanitization": {"sensitive-markers": list(SENSITIVE_MARKERS)}},
        # Only schemathesis' CLI reads fail-on; in-process the reachability class is what fails a
        # run that only ever got 401/404 (missing_auth, missing_test_data).
        "warnings": {"fail-on": ["missing_auth", "missing_test_data"]},
    }
    multipart = sorted(op["operationId"] for label, op in operations.items() if label in labels and is_multipart(op))
    if multipart:
        # Every multipart field travels as text, so a negative case that changes a field's type
        # (n as an object) arrives as a valid string: only positive data means anything there.
        data["operations"] = [{"include-operation-id": multipart, "generation": {"mode": "positive"}}]
    if target.api_key:
        data["auth"] = {"openapi": {"ApiKeyAuth": {"bearer": target.api_key}}}
    return schemathesis.Config.from_dict(data)


def hypothesis_storage() -> Path:
    """Where the workers keep Hypothesis' caches (its constants and unicode caches; the example database is
    off): HYPOTHESIS_STORAGE_DIRECTORY if set, else a per-user cache directory -- never Hypothesis' default,
    ``.hypothesis/`` in the working directory, where a suite scoring a provider has no business."""
    where = os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY")
    if where:
        return Path(where)
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache_home / "oai-conformance" / "hypothesis"
