"""Generic request-parameter parsers shared by every endpoint's validation.

Each parser is ``(value, param) -> parsed value`` and raises :class:`Reject` carrying the OpenAI-style
400.  Integers may arrive as whole floats (``7.0``), as JSON Schema allows; booleans are never numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from .errors import ApiError, describe_json_type, invalid_request
from .policy import Policy

__all__ = [
    "BodyReader",
    "Reject",
    "as_array",
    "as_bool",
    "as_int",
    "as_number",
    "as_object",
    "as_str",
    "empty_array",
    "int_in",
    "invalid_type",
    "invalid_value",
    "number_in",
    "one_of",
    "stop_sequences",
]

T = TypeVar("T")

MAX_STOP_SEQUENCES: Final = 4


class Reject(Exception):
    """Raised inside validation; the public functions turn it into a returned ApiError."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


def invalid_type(param: str, expected: str, value: Any) -> Reject:
    message = f"Invalid type for '{param}': expected {expected}, but got {describe_json_type(value)} instead."
    return Reject(invalid_request(message, param, "invalid_type"))


def invalid_value(param: str, message: str, code: str = "invalid_value") -> Reject:
    return Reject(invalid_request(f"Invalid '{param}': {message}", param, code))


def empty_array(param: str) -> Reject:
    return invalid_value(
        param, "empty array. Expected an array with minimum length 1, but got an empty array instead.", "empty_array"
    )


def as_int(value: Any, param: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_type(param, "an integer", value)
    if isinstance(value, float):
        if not value.is_integer():
            raise invalid_type(param, "an integer", value)
        return int(value)
    return value


def as_number(value: Any, param: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_type(param, "a decimal", value)
    return float(value)


def as_bool(value: Any, param: str) -> bool:
    if not isinstance(value, bool):
        raise invalid_type(param, "a boolean", value)
    return value


def as_str(value: Any, param: str) -> str:
    if not isinstance(value, str):
        raise invalid_type(param, "a string", value)
    return value


def as_object(value: Any, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid_type(param, "an object", value)
    return value


def as_array(value: Any, param: str) -> list[Any]:
    if not isinstance(value, list):
        raise invalid_type(param, "an array", value)
    return value


def int_in(low: int, high: int | None) -> Callable[[Any, str], int]:
    def parse(value: Any, param: str) -> int:
        number = as_int(value, param)
        if number < low:
            raise invalid_value(
                param,
                f"integer below minimum value. Expected a value >= {low}, but got {number} instead.",
                "integer_below_min_value",
            )
        if high is not None and number > high:
            raise invalid_value(
                param,
                f"integer above maximum value. Expected a value <= {high}, but got {number} instead.",
                "integer_above_max_value",
            )
        return number

    return parse


def number_in(low: float, high: float) -> Callable[[Any, str], float]:
    def parse(value: Any, param: str) -> float:
        number = as_number(value, param)
        if number < low:
            raise invalid_value(
                param,
                f"decimal below minimum value. Expected a value >= {low:g}, but got {value} instead.",
                "decimal_below_min_value",
            )
        if number > high:
            raise invalid_value(
                param,
                f"decimal above maximum value. Expected a value <= {high:g}, but got {value} instead.",
                "decimal_above_max_value",
            )
        return number

    return parse


def one_of(*allowed: str) -> Callable[[Any, str], str]:
    def parse(value: Any, param: str) -> str:
        text = as_str(value, param)
        if text not in allowed:
            supported = ", ".join(f"'{a}'" for a in allowed)
            raise invalid_value(param, f"'{text}' is not one of the supported values: {supported}.")
        return text

    return parse


def stop_sequences(value: Any, param: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value else ()
    items = as_array(value, param)
    if len(items) > MAX_STOP_SEQUENCES:
        raise invalid_value(
            param,
            f"array too long. Expected an array with maximum length {MAX_STOP_SEQUENCES}, "
            f"but got an array with length {len(items)} instead.",
            "array_above_max_length",
        )
    # An empty stop string would cut everything; it is ignored rather than honoured.
    return tuple(s for i, item in enumerate(items) if (s := as_str(item, f"{param}[{i}]")))


def _logit_bias(value: Any, param: str) -> dict[str, float]:
    bias = as_object(value, param)
    for key, weight in bias.items():
        if not re.fullmatch(r"\d+", key):
            raise invalid_value(param, f"'{key}' is not a token id.")
        number_in(-100, 100)(weight, param)
    return bias


def _stream_options(value: Any, param: str) -> bool:
    options = as_object(value, param)
    include = options.get("include_usage")
    return False if include is None else as_bool(include, f"{param}.include_usage")


# --- the body reader -------------------------------------------------------------------------------


class BodyReader:
    """Reads parameters out of a request body, strictly or leniently (``Policy.validate_params``)."""

    def __init__(self, body: Mapping[str, Any], strict: bool) -> None:
        self.body = body
        self.strict = strict

    def optional(self, name: str, parse: Callable[[Any, str], T], default: T) -> T:
        value = self.body.get(name)
        if value is None:
            return default
        try:
            return parse(value, name)
        except Reject:
            if self.strict:
                raise
            return default

    def require(self, condition: bool, error: ApiError) -> bool:
        """A cross-parameter rule: raises when strict; otherwise reports whether it holds."""
        if not condition and self.strict:
            raise Reject(error)
        return condition

    def sampling(self) -> dict[str, Any]:
        # Validated so bad values are rejected, but they never influence the output.
        return {
            "temperature": self.optional("temperature", number_in(0, 2), None),
            "top_p": self.optional("top_p", number_in(0, 1), None),
            "presence_penalty": self.optional("presence_penalty", number_in(-2, 2), None),
            "frequency_penalty": self.optional("frequency_penalty", number_in(-2, 2), None),
            "seed": self.optional("seed", as_int, None),
            "user": self.optional("user", as_str, None),
            "logit_bias": self.optional("logit_bias", _logit_bias, None),
        }

    def stream(self, policy: Policy) -> tuple[bool, bool]:
        stream = self.optional("stream", as_bool, False)
        include_usage = self.optional("stream_options", _stream_options, False)
        has_options = self.body.get("stream_options") is not None
        allowed = self.require(
            stream or not has_options,
            invalid_request(
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options"
            ),
        )
        return stream, include_usage and allowed and stream and policy.support_stream_usage
