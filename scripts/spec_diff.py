#!/usr/bin/env python3
"""Report how spec/openapi.yaml's response schemas differ from the official OpenAI description.

    python scripts/spec_diff.py [--reference DIR] [--out FILE]

For every operation of our description, the official operation with the same method and path is taken
from ``openai-openapi-current.yaml`` -- or, for the endpoints OpenAI has retired, from the newest legacy
copy that still has it -- and the 200 answers are compared, JSON body and (for streams) one event's
payload: required fields added or removed, types and enums that differ, fields only one side has.
Nested objects and array items are compared too, located by a JSON-pointer-like path.

The official file's 3.0 leftovers are normalised first (``nullable: true`` becomes a "null" type) so that
only real differences are listed. Every difference should be one we meant: the description marks
those with ``x-deviation`` and its reason; the report shows, per operation, whether it does.

Output is Markdown (stdout or ``--out``). Exit 0; 2 when the reference files are missing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
OURS = ROOT / "spec" / "openapi.yaml"
DEFAULT_REFERENCE = ROOT.parent / "shared" / "reference"
# Newest first: an operation is compared with the newest official description that has it.
REFERENCE_FILES = ("openai-openapi-current.yaml", "openai-openapi-legacy-2023-12.yaml", "openai-openapi-legacy.yaml")
METHODS = ("get", "put", "post", "delete", "patch")
MAX_DEPTH = 8
# Keys that describe, not constrain: never reported.
_IGNORED = {"description", "title", "example", "examples", "default", "deprecated", "format", "x-deviation"}


def load(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the current file is 3 MB
    with path.open("rb") as handle:
        data = yaml.load(handle, Loader=loader)  # a safe loader (CSafeLoader or SafeLoader)
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not an OpenAPI document")
    return data


@dataclass
class Document:
    name: str
    data: dict[str, Any]

    def resolve(self, node: Any, depth: int = 0) -> Any:
        while isinstance(node, dict) and "$ref" in node and depth < 32:
            target: Any = self.data
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **siblings} if siblings and isinstance(target, dict) else target
            depth += 1
        return node

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        item = self.data.get("paths", {}).get(path)
        operation = item.get(method.lower()) if isinstance(item, dict) else None
        return operation if isinstance(operation, dict) else None


# -- normalising a schema to comparable facts ---------------------------------------------------------------


@dataclass
class Shape:
    """The comparable facts of one schema node."""

    types: frozenset[str] = frozenset()
    enum: frozenset[str] | None = None
    required: frozenset[str] = frozenset()
    properties: dict[str, Any] = field(default_factory=dict)
    items: Any = None
    branches: list[Any] = field(default_factory=list)


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("type")
    found = set(kind) if isinstance(kind, list) else ({kind} if isinstance(kind, str) else set())
    if node.get("nullable") is True:  # the official file's OpenAPI 3.0 leftover
        found.add("null")
    if "const" in node:
        found.add(type_name(node["const"]))
    if not found and isinstance(node.get("enum"), list):
        found |= {type_name(value) for value in node["enum"]}
    if not found and isinstance(node.get("properties"), dict):
        found.add("object")
    return found


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), "string"
    )


def shape(doc: Document, node: Any) -> Shape:
    """Merge allOf, collect anyOf/oneOf branches, turn const into a one-value enum."""
    node = doc.resolve(node)
    if not isinstance(node, dict):
        return Shape()
    result = Shape(types=frozenset(_types(node)), required=frozenset(node.get("required", []) or []))
    if "const" in node:
        result.enum = frozenset({repr(node["const"])})
    elif isinstance(node.get("enum"), list):
        result.enum = frozenset(repr(value) for value in node["enum"] if value is not None)
    result.properties = dict(node.get("properties") or {})
    result.items = node.get("items")
    for part in node.get("allOf", []) or []:
        merged = shape(doc, part)
        result.types = result.types | merged.types
        result.required = result.required | merged.required
        result.properties.update(merged.properties)
        result.items = result.items or merged.items
    for key in ("anyOf", "oneOf"):
        for branch in node.get(key, []) or []:
            resolved = doc.resolve(branch)
            if isinstance(resolved, dict) and _types(resolved) == {"null"} and len(resolved) <= 2:
                result.types = result.types | {"null"}
            else:
                result.branches.append(branch)
    return result


def _primary(doc: Document, node: Any, other: set[str] | None = None) -> tuple[Shape, set[str]]:
    """A node's shape, reading an anyOf/oneOf as its main branch: the only one, or the structured
    branch sharing most property names with ``other`` (the other side's). The types of every branch
    are returned too, so that `anyOf: [Chunk, null]` compares with `Chunk` plus "null"."""
    found = shape(doc, node)
    extra: set[str] = set()
    if not found.branches or found.properties or found.items is not None:
        return found, extra
    shapes = [shape(doc, branch) for branch in found.branches]
    for branch in shapes:
        extra |= set(branch.types)
    if len(shapes) == 1:
        chosen = shapes[0]
    else:
        structured = [b for b in shapes if b.properties or b.items is not None]
        if not structured:
            return found, extra
        chosen = max(structured, key=lambda b: len(set(b.properties) & (other or set())))
    chosen.types = chosen.types | found.types
    return chosen, extra


# -- comparing ----------------------------------------------------------------------------------------------


def compare(
    ours: Document, mine: Any, theirs_doc: Document, theirs: Any, where: str = "", depth: int = 0
) -> Iterator[str]:
    """Differences between two schema nodes, as Markdown table rows (where, what)."""
    if depth > MAX_DEPTH:
        return
    a, a_extra = _primary(ours, mine)
    b, b_extra = _primary(theirs_doc, theirs, set(a.properties))
    if a.branches and not a.properties and b.properties:
        a, a_extra = _primary(ours, mine, set(b.properties))
    here = where or "/"
    types_a, types_b = set(a.types) | a_extra, set(b.types) | b_extra
    if types_a and types_b and types_a != types_b:
        yield f"| `{here}` | type: ours {_set(types_a)}, official {_set(types_b)} |"
    if a.enum is not None and b.enum is not None and a.enum != b.enum:
        only_a, only_b = sorted(a.enum - b.enum), sorted(b.enum - a.enum)
        yield f"| `{here}` | enum: only ours {_list(only_a)}; only official {_list(only_b)} |"
    elif (a.enum is None) != (b.enum is None):
        side = "ours" if a.enum is not None else "official"
        values = a.enum if a.enum is not None else b.enum
        yield f"| `{here}` | enum only in {side}: {_list(sorted(values or ()))} |"
    if a.required != b.required:
        added, removed = sorted(a.required - b.required), sorted(b.required - a.required)
        parts = [
            f"required added {_list(added)}" if added else "",
            f"required removed {_list(removed)}" if removed else "",
        ]
        yield f"| `{here}` | {'; '.join(p for p in parts if p)} |"
    names_a, names_b = set(a.properties), set(b.properties)
    if names_a - names_b:
        yield f"| `{here}` | properties only ours: {_list(sorted(names_a - names_b))} |"
    if names_b - names_a and names_a:
        yield f"| `{here}` | properties only official: {_list(sorted(names_b - names_a))} |"
    for name in sorted(names_a & names_b):
        yield from compare(ours, a.properties[name], theirs_doc, b.properties[name], f"{where}/{name}", depth + 1)
    if a.items is not None and b.items is not None:
        yield from compare(ours, a.items, theirs_doc, b.items, f"{where}/items", depth + 1)


def _set(values: set[str]) -> str:
    return "`" + "|".join(sorted(values)) + "`"


def _list(values: list[str]) -> str:
    return ", ".join(f"`{v}`" for v in values) if values else "none"


def _answer(doc: Document, operation: dict[str, Any], media: str) -> Any | None:
    response = doc.resolve(operation.get("responses", {}).get("200") or operation.get("responses", {}).get("201"))
    if not isinstance(response, dict):
        return None
    content = response.get("content", {}).get(media)
    return content.get("schema") if isinstance(content, dict) else None


def _event_payload(doc: Document, schema: Any) -> Any:
    """Our event schemas wrap the chunk in data.contentSchema; compare the chunk itself."""
    node = doc.resolve(schema)
    branches = node.get("properties", {}).get("data", {}).get("anyOf", []) if isinstance(node, dict) else []
    for branch in branches:
        if "contentSchema" in branch:
            payload = doc.resolve(branch["contentSchema"])
            options = payload.get("anyOf") if isinstance(payload, dict) else None
            return options[0] if options else payload
    return schema


def _deviations(doc: Document, value: Any, seen: set[str] | None = None) -> int:
    """x-deviation marks in ``value`` and in every schema it references (each counted once)."""
    seen = set() if seen is None else seen
    if isinstance(value, list):
        return sum(_deviations(doc, item, seen) for item in value)
    if not isinstance(value, dict):
        return 0
    count = int("x-deviation" in value)
    reference = value.get("$ref")
    if isinstance(reference, str) and reference not in seen:
        seen.add(reference)
        count += _deviations(doc, doc.resolve({"$ref": reference}), seen)
    return count + sum(_deviations(doc, item, seen) for key, item in value.items() if key != "$ref")


def report(ours: Document, references: list[Document]) -> str:
    lines = [
        "# spec/openapi.yaml compared with the official OpenAI description",
        "",
        f"Official files: {', '.join(f'`{d.name}`' for d in references)} (an operation is compared with the "
        "newest one that has it). Only the 200 answers are compared: JSON bodies, and for streams one event's "
        "payload. `x-deviation` counts the marked departures inside the operation and the schemas it uses.",
        "",
    ]
    for path, item in ours.data.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method) if isinstance(item, dict) else None
            if not isinstance(operation, dict):
                continue
            label = f"{method.upper()} {path}"
            official = next(((d, op) for d in references if (op := d.operation(method, path)) is not None), None)
            lines.append(f"## {label} (`{operation.get('operationId', '')}`)")
            lines.append("")
            if official is None:
                lines += ["Not in any official description.", ""]
                continue
            doc, theirs = official
            marked = _deviations(ours, operation)
            rows: list[str] = []
            for media in ("application/json", "text/event-stream"):
                mine, other = _answer(ours, operation, media), _answer(doc, theirs, media)
                if mine is None and other is None:
                    continue
                if mine is None or other is None:
                    side = "ours" if mine is not None else "the official description"
                    rows.append(f"| `{media}` | documented only by {side} |")
                    continue
                if media == "text/event-stream":
                    mine = _event_payload(ours, mine)
                rows += [row.replace("| `/", f"| `{media} /", 1) for row in compare(ours, mine, doc, other)]
            statuses_mine = sorted(str(s) for s in operation.get("responses", {}))
            statuses_theirs = sorted(str(s) for s in theirs.get("responses", {}))
            lines.append(
                f"Compared with `{doc.name}`; statuses ours {_list(statuses_mine)}, official {_list(statuses_theirs)}; "
                f"x-deviation marks in the operation: {marked}."
            )
            lines.append("")
            if rows:
                lines += ["| where | difference |", "| --- | --- |", *dict.fromkeys(rows), ""]
            else:
                lines += ["No difference in the 200 answers.", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE, help="directory of the official copies")
    parser.add_argument("--spec", type=Path, default=OURS, help="our description (default: spec/openapi.yaml)")
    parser.add_argument("--out", type=Path, help="write the Markdown here instead of stdout")
    args = parser.parse_args(argv)
    files = [args.reference / name for name in REFERENCE_FILES if (args.reference / name).is_file()]
    if not files:
        print(f"no official description found in {args.reference}", file=sys.stderr)
        return 2
    text = report(Document("spec/openapi.yaml", load(args.spec)), [Document(f.name, load(f)) for f in files])
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
