"""scripts/spec_diff.py: how spec/openapi.yaml's answers differ from the official description."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "spec_diff.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("spec_diff", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["spec_diff"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


spec_diff = load_script()


def doc(schemas: dict[str, Any]) -> Any:
    return spec_diff.Document("test", {"components": {"schemas": schemas}})


def differences(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    a, b = doc({"X": ours}), doc({"X": theirs})
    return list(spec_diff.compare(a, {"$ref": "#/components/schemas/X"}, b, {"$ref": "#/components/schemas/X"}))


def test_identical_schemas_differ_in_nothing() -> None:
    schema = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}
    assert differences(schema, schema) == []


def test_nullable_and_a_null_type_are_the_same() -> None:
    ours = {"type": "object", "properties": {"code": {"type": ["string", "null"]}}}
    theirs = {"type": "object", "properties": {"code": {"type": "string", "nullable": True}}}
    assert differences(ours, theirs) == []


def test_anyof_null_is_a_null_type() -> None:
    ours = {"type": "object", "properties": {"usage": {"anyOf": [{"type": "object"}, {"type": "null"}]}}}
    theirs = {"type": "object", "properties": {"usage": {"type": "object", "nullable": True}}}
    assert differences(ours, theirs) == []


def test_required_fields_added_and_removed_are_listed() -> None:
    ours = {"type": "object", "required": ["id", "data"], "properties": {"id": {}, "data": {}, "created": {}}}
    theirs = {"type": "object", "required": ["id", "created"], "properties": {"id": {}, "data": {}, "created": {}}}
    (row,) = differences(ours, theirs)
    assert "required added `data`" in row
    assert "required removed `created`" in row


def test_types_and_enums_are_compared_in_nested_items() -> None:
    ours = {"type": "object", "properties": {"data": {"type": "array", "items": {"enum": ["a", "b"]}}}}
    theirs = {"type": "object", "properties": {"data": {"type": "array", "items": {"enum": ["a", "c"]}}}}
    (row,) = differences(ours, theirs)
    assert row.startswith("| `/data/items` | enum:")
    assert "`'b'`" in row
    assert "`'c'`" in row


def test_a_const_is_a_one_value_enum() -> None:
    ours = {"type": "object", "properties": {"object": {"const": "list"}}}
    theirs = {"type": "object", "properties": {"object": {"type": "string", "enum": ["list"]}}}
    assert differences(ours, theirs) == []


@pytest.mark.skipif(not (spec_diff.DEFAULT_REFERENCE / spec_diff.REFERENCE_FILES[0]).is_file(), reason="no copy")
def test_the_report_covers_every_operation(tmp_path: Path) -> None:
    out = tmp_path / "diff.md"
    assert spec_diff.main(["--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.count("\n## ") == 28
    assert "## POST /fine-tunes (`createFineTune`)" in text
    assert "Compared with `openai-openapi-legacy-2023-12.yaml`" in text  # the retired endpoints
    # Our deliberate departures show up, e.g. the completion stream the official file lacks.
    assert "| `text/event-stream` | documented only by ours |" in text


def test_a_missing_reference_directory_is_exit_2(tmp_path: Path) -> None:
    assert spec_diff.main(["--reference", str(tmp_path)]) == 2
