"""The provider's error value and the OpenAI-style messages it carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ApiError",
    "describe_json_type",
    "invalid_request",
    "missing_parameter",
    "model_not_found",
]


@dataclass(frozen=True, slots=True)
class ApiError:
    """One error response: HTTP status plus the four fields of the OpenAI error envelope."""

    status: int
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    code: str | None = None

    def envelope(self) -> dict[str, Any]:
        """The wire body: ``{"error": {message, type, param, code}}`` with all four keys present."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def invalid_request(message: str, param: str | None = None, code: str | None = None, status: int = 400) -> ApiError:
    return ApiError(status=status, message=message, type="invalid_request_error", param=param, code=code)


def missing_parameter(param: str) -> ApiError:
    return invalid_request(f"Missing required parameter: '{param}'.", param, "missing_required_parameter")


def model_not_found(model: str) -> ApiError:
    return invalid_request(
        f"The model `{model}` does not exist or you do not have access to it.",
        param="model",
        code="model_not_found",
        status=404,
    )


def describe_json_type(value: Any) -> str:
    """How OpenAI names a JSON value's type in its messages ("a string", "an array", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
