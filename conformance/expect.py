"""Small assertions that checks share: each raises a typed Violation carrying the exchange as evidence.

They keep check bodies linear: ``body = json_object(exchange)`` either returns the parsed object or
fails the check with "Received / Expected" and the recorded exchange.
"""

from __future__ import annotations

import json
from typing import Any

from conformance.core.results import NotApplicable, ProviderTimeout, Unsupported, Violation
from conformance.transport.exchange import Exchange

_ERROR_KEYS = ("message", "type", "param", "code")


def short(value: Any, limit: int = 300) -> str:
    """A compact, bounded representation of a JSON value for messages."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def answered(exchange: Exchange) -> Exchange:
    """The provider answered at all: no timeout, reset, refused connection or oversized body."""
    if exchange.error == "timeout":
        raise ProviderTimeout(
            "No answer within the time limit",
            expected="an HTTP response",
            actual=exchange.error_detail,
            evidence=exchange,
        )
    if exchange.error is not None and exchange.status is None:
        raise Violation(
            "No HTTP response",
            expected="an HTTP response",
            actual=f"{exchange.error}: {exchange.error_detail}",
            evidence=exchange,
        )
    if exchange.error == "too-large":
        raise Violation(
            "Response body too large", expected="a bounded body", actual=exchange.error_detail, evidence=exchange
        )
    if exchange.error is not None:
        raise Violation(
            "Broken HTTP response",
            expected="a complete HTTP response",
            actual=f"{exchange.error}: {exchange.error_detail}",
            evidence=exchange,
        )
    return exchange


def status(exchange: Exchange, *expected: int, title: str = "Unexpected HTTP status") -> int:
    answered(exchange)
    assert exchange.status is not None
    if exchange.status not in expected:
        raise Violation(
            title,
            expected=" or ".join(map(str, expected)),
            actual=f"{exchange.status} {exchange.reason}",
            detail=_body_hint(exchange),
            evidence=exchange,
        )
    return exchange.status


# "Declined honestly" (ARCHITECTURE.md), the one rule every check, probe, SDK oracle and the property run
# use: a 4xx of these with the error envelope, to a request for an optional capability or an endpoint
# the provider does not offer, is UNSUPPORTED. A 5xx is never a decline. For a request that is meant to
# be refused (an invalid value), 400 and 422 are the refusal itself, so only the statuses that say
# "not offered here" count.
DECLINES = frozenset({400, 404, 405, 422, 501})
#: A request meant to be refused (a missing, mistyped or out-of-range parameter): 400 as documented, or
#: the 422 of a validation layer -- which of the two is ERR-015's finding alone, not every check's.
REFUSALS = (400, 422)
NOT_OFFERED = frozenset({404, 405, 501})


def declines(status: int | None, enveloped: bool, *, refusable: bool = False) -> bool:
    """Whether an answer with ``status`` (and the error envelope or not) declines the capability."""
    return enveloped and status in (NOT_OFFERED if refusable else DECLINES)


def declined(exchange: Exchange, *, refusable: bool = False) -> bool:
    """Whether ``exchange`` is an honest refusal of the capability (see :data:`DECLINES`)."""
    return exchange.ok and declines(exchange.status, error_envelope_or_none(exchange) is not None, refusable=refusable)


def decline(exchange: Exchange, what: str, *, refusable: bool = False) -> None:
    """Raise Unsupported when ``exchange`` honestly declines ``what``."""
    if declined(exchange, refusable=refusable):
        raise Unsupported(f"{what}: the provider answered {exchange.status} with an error envelope")


def success(exchange: Exchange, what: str) -> None:
    """A 2xx answer; an honest refusal (:func:`declined`) means the provider does not offer ``what``."""
    answered(exchange)
    assert exchange.status is not None
    if 200 <= exchange.status < 300:
        return
    decline(exchange, what)
    raise Violation(
        f"{what} failed",
        expected="HTTP 2xx",
        actual=f"{exchange.status} {exchange.reason}",
        detail=_body_hint(exchange),
        evidence=exchange,
    )


def served(
    exchange: Exchange, what: str, *, feature: str, owner: str | None = None, refusable: bool = False
) -> dict[str, Any]:
    """The JSON object of a 2xx answer to a request for an optional ``feature`` -- the one decline rule:
    an honest refusal (:func:`declined`) is UNSUPPORTED, any other answer a failure. The failure is the
    calling check's own when ``owner`` is None; else ``owner``'s, and this check SKIPs "see owner"."""
    served_status(exchange, what, feature=feature, owner=owner, refusable=refusable)
    return json_object(exchange)


def served_status(
    exchange: Exchange, what: str, *, feature: str, owner: str | None = None, refusable: bool = False
) -> None:
    """:func:`served` for any answer (a stream too): return on a 2xx, raise as :func:`served` does else."""
    answered(exchange)
    if declined(exchange, refusable=refusable):
        raise Unsupported(f"{feature}: the provider declined {what} ({exchange.status} with an error envelope)")
    status = exchange.status or 0
    if not 200 <= status < 300:
        if owner is not None:
            raise NotApplicable(f"{what} was not served (see {owner})", see=owner)
        refusals = "404, 405 or 501" if refusable else "4xx"
        raise Violation(
            f"{what[:1].upper()}{what[1:]} was neither served nor declined",
            expected=f"a 2xx answer, or a {refusals} with the error envelope declining it (a 5xx is no decline: "
            "openai-python retries it twice)",
            actual=f"{status} {exchange.reason}",
            detail=_body_hint(exchange),
            evidence=exchange,
        )


def json_value(exchange: Exchange) -> Any:
    answered(exchange)
    try:
        return exchange.json()
    except (ValueError, UnicodeDecodeError):
        raise Violation(
            "Body is not JSON", expected="a JSON body", actual=_excerpt(exchange), evidence=exchange
        ) from None


def json_object(exchange: Exchange) -> dict[str, Any]:
    value = json_value(exchange)
    if not isinstance(value, dict):
        raise Violation("Body is not a JSON object", expected="a JSON object", actual=short(value), evidence=exchange)
    return value


def media_type(exchange: Exchange, expected: str, title: str) -> None:
    answered(exchange)
    if exchange.media_type != expected:
        raise Violation(
            title,
            expected=f"Content-Type: {expected}",
            actual=f"Content-Type: {exchange.content_type or '(none)'}",
            evidence=exchange,
        )


def error_envelope_or_none(exchange: Exchange) -> dict[str, Any] | None:
    """The ``error`` object when the body is the documented envelope with string message and type."""
    try:
        body = exchange.json()
    except (ValueError, UnicodeDecodeError):
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str) and isinstance(error.get("type"), str):
        return error
    return None


def error_envelope(exchange: Exchange, *, strict: bool = False) -> dict[str, Any]:
    """``{"error": {"message": str, "type": str, "param": str|null, "code": str|null}}``.

    ``strict`` also requires ``param`` and ``code`` to be present (the spec's Error requires all four).
    """
    body = json_value(exchange)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        raise Violation(
            "Error body is not the OpenAI error envelope",
            expected='{"error": {"message": str, "type": str, "param": str|null, "code": str|null}}',
            actual=short(body),
            evidence=exchange,
        )
    for key in ("message", "type"):
        if not isinstance(error.get(key), str):
            raise Violation(
                "Error envelope lacks a string field",
                pointer=f"/error/{key}",
                expected="a string",
                actual=short(error.get(key, "(missing)")),
                evidence=exchange,
            )
    if strict:
        for key in ("param", "code"):
            if key not in error:
                raise Violation(
                    "Error envelope lacks a field",
                    pointer=f"/error/{key}",
                    expected="present (string or null)",
                    actual="missing",
                    evidence=exchange,
                )
            if error[key] is not None and not isinstance(error[key], str):
                raise Violation(
                    "Error envelope field has the wrong type",
                    pointer=f"/error/{key}",
                    expected="string or null",
                    actual=short(error[key]),
                    evidence=exchange,
                )
    return error


def field(obj: dict[str, Any], key: str, types: type | tuple[type, ...], pointer: str, exchange: Exchange) -> Any:
    """``obj[key]`` of the given JSON type(s); bool never counts as a number."""
    if key not in obj:
        raise Violation(
            "Required field missing",
            pointer=f"{pointer}/{key}",
            expected=_type_names(types),
            actual="missing",
            evidence=exchange,
        )
    value = obj[key]
    if not is_type(value, types):
        raise Violation(
            "Field has the wrong type",
            pointer=f"{pointer}/{key}",
            expected=_type_names(types),
            actual=short(value),
            evidence=exchange,
        )
    return value


def is_type(value: Any, types: type | tuple[type, ...]) -> bool:
    types = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool) and bool not in types:
        return False
    if isinstance(value, float) and float not in types and int in types:
        return value.is_integer()
    return isinstance(value, types)


def _type_names(types: type | tuple[type, ...]) -> str:
    names = {
        str: "string",
        int: "integer",
        float: "number",
        bool: "boolean",
        list: "array",
        dict: "object",
        type(None): "null",
    }
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(names.get(t, t.__name__) for t in types)


def _excerpt(exchange: Exchange, limit: int = 200) -> str:
    text = exchange.text
    return repr(text[:limit] + ("…" if len(text) > limit else "")) if text else "(empty body)"


def _body_hint(exchange: Exchange) -> str:
    return f"Body: {_excerpt(exchange)}" if exchange.body else ""


# Epoch seconds between 2015-01-01 and 2100-01-01: a value outside is milliseconds, or nonsense.
EPOCH_MIN, EPOCH_MAX = 1_420_070_400, 4_102_444_800


def epoch_seconds(value: Any) -> bool:
    return is_type(value, int) and EPOCH_MIN <= value < EPOCH_MAX


# -- shapes shared by chat and completions ----------------------------------------------------------------


def choices(body: dict[str, Any], exchange: Exchange) -> list[dict[str, Any]]:
    """``choices``: a non-empty array of objects."""
    items = field(body, "choices", list, "", exchange)
    if not items or not all(isinstance(item, dict) for item in items):
        raise Violation(
            "choices is not a non-empty array of objects",
            pointer="/choices",
            expected="[{...}, ...]",
            actual=short(items),
            evidence=exchange,
        )
    return items


def usage(body: dict[str, Any], exchange: Exchange) -> dict[str, Any]:
    """``usage`` with integer prompt, completion and total token counts."""
    value = field(body, "usage", dict, "", exchange)
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        field(value, key, int, "/usage", exchange)
    return value


def usage_adds_up(counts: dict[str, Any], exchange: Exchange) -> None:
    total = counts["prompt_tokens"] + counts["completion_tokens"]
    if counts["total_tokens"] != total:
        raise Violation(
            "usage.total_tokens is not prompt + completion",
            pointer="/usage/total_tokens",
            expected=str(total),
            actual=str(counts["total_tokens"]),
            evidence=exchange,
        )


def completion_tokens_at_most(counts: dict[str, Any], limit: int, exchange: Exchange) -> None:
    if counts["completion_tokens"] > limit:
        raise Violation(
            "max_tokens was exceeded",
            pointer="/usage/completion_tokens",
            expected=f"at most {limit}",
            actual=str(counts["completion_tokens"]),
            evidence=exchange,
        )
