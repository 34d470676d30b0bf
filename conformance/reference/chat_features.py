"""What a chat request asks of the model beyond text: ``tools``, ``tool_choice`` and ``response_format``.

Each parser takes the raw value and its parameter name and returns the normalised value or raises
:class:`~.params.Reject` with the error OpenAI would answer (a 400 ``invalid_request_error`` naming the
parameter). A ``json_schema`` whose schema is not a valid JSON Schema is refused the way OpenAI refuses
it ("Invalid schema for response_format ..."), not answered with unconstrained text.
"""

from __future__ import annotations

import re
from typing import Any, Final

from jsonschema import SchemaError
from jsonschema.validators import validator_for

from .errors import missing_parameter
from .params import Reject, as_array, as_object, as_str, empty_array, invalid_value, one_of
from .request_types import Tool

__all__ = ["parse_response_format", "parse_tool_choice", "parse_tools", "schema_problem"]

_TOOL_NAME_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


def parse_tools(value: Any, param: str) -> tuple[Tool, ...]:
    items = as_array(value, param)
    if not items:
        raise empty_array(param)
    found: list[Tool] = []
    for i, item in enumerate(items):
        tool_param = f"{param}[{i}]"
        tool = as_object(item, tool_param)
        one_of("function")(tool.get("type"), f"{tool_param}.type")
        function = as_object(tool.get("function"), f"{tool_param}.function")
        if function.get("name") is None:
            raise Reject(missing_parameter(f"{tool_param}.function.name"))
        name = as_str(function["name"], f"{tool_param}.function.name")
        if not _TOOL_NAME_RE.fullmatch(name):
            message = (
                "string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'."
            )
            raise invalid_value(f"{tool_param}.function.name", message)
        parameters = function.get("parameters")
        if parameters is not None:
            as_object(parameters, f"{tool_param}.function.parameters")
        found.append(Tool(name=name, parameters=parameters))
    return tuple(found)


def parse_tool_choice(value: Any, param: str) -> tuple[str | None, str | None]:
    """(mode, named tool) from ``tool_choice``."""
    if isinstance(value, str):
        return one_of("none", "auto", "required")(value, param), None
    choice = as_object(value, param)
    one_of("function")(choice.get("type"), f"{param}.type")
    function = as_object(choice.get("function"), f"{param}.function")
    return None, as_str(function.get("name"), f"{param}.function.name")


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` is not a valid JSON Schema (checked against its metaschema), or None."""
    if not isinstance(schema, dict):
        return "the schema is not an object"
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.path) or "(root)"
        return f"{exc.message} (at {where})"
    return None


def parse_response_format(value: Any, param: str) -> tuple[str, dict[str, Any] | None]:
    fmt = as_object(value, param)
    kind = one_of("text", "json_object", "json_schema")(fmt.get("type"), f"{param}.type")
    if kind != "json_schema":
        return kind, None
    if fmt.get("json_schema") is None:
        raise Reject(missing_parameter(f"{param}.json_schema"))
    spec = as_object(fmt["json_schema"], f"{param}.json_schema")
    name = as_str(spec.get("name"), f"{param}.json_schema.name")
    schema = spec.get("schema")
    if schema is None:
        return kind, None
    schema = as_object(schema, f"{param}.json_schema.schema")
    problem = schema_problem(schema)
    if problem is not None:
        raise invalid_value(
            f"{param}.json_schema.schema", f"Invalid schema for response_format '{name}': {problem}", "invalid_schema"
        )
    return kind, schema
