"""The target file (``oai-conformance.yaml``): named providers, each with its base URL, the environment
variable that holds its key (never the key itself), models, capabilities, headers and limits.

The file is validated against ``spec/targets.schema.json`` on load; every error names the line and the
field (``oai-conformance.yaml:12: targets.staging.limits.timeout: ...``) and is a usage error (exit 2).
:func:`target_settings` turns one entry into the keyword arguments of :meth:`Target.build`, with the
command line's explicit flags on top.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from conformance.core.catalogue import spec_dir
from conformance.target import TargetConfigError

DEFAULT_FILE = "oai-conformance.yaml"
# The file's limit keys → the Target fields they set (the rest have the same name).
LIMIT_FIELDS = {"run_timeout": "max_run_seconds"}
MERGED = ("models", "headers", "secret_headers", "limits")  # defaults and a target merge these key by key
LOCATORS = ("base_url", "base_url_env", "reference")
MAX_ERRORS = 10

Path_ = tuple[str | int, ...]


class TargetFileError(TargetConfigError):
    """The target file is missing, not YAML or not valid; the message names the line and the field."""


@dataclass(frozen=True)
class TargetEntry:
    """One target of the file: its name, where it is written, and its settings (the defaults merged in)."""

    name: str
    line: int
    settings: Mapping[str, Any]

    @property
    def reference_faults(self) -> tuple[str, ...] | None:
        """The faults of a built-in reference provider target, or None for a real provider."""
        reference = self.settings.get("reference")
        return None if reference is None else tuple(reference.get("faults") or ())


@dataclass(frozen=True)
class TargetFile:
    path: Path
    targets: Mapping[str, TargetEntry]
    concurrency: int | None = None
    max_requests: int | None = None

    def entry(self, name: str) -> TargetEntry:
        if name not in self.targets:
            known = ", ".join(self.targets)
            raise TargetFileError(f"{self.path}: no target named {name!r} (the file has: {known})")
        return self.targets[name]


def find_target_file(explicit: str | None, cwd: Path | None = None) -> Path | None:
    """``--config FILE``, else ``oai-conformance.yaml`` in the working directory, else None."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise TargetFileError(f"{explicit}: no such target file")
        return path
    found = (cwd or Path.cwd()) / DEFAULT_FILE
    return found if found.is_file() else None


def schema() -> dict[str, Any]:
    return json.loads((spec_dir() / "targets.schema.json").read_text(encoding="utf-8"))


def load_target_file(path: str | Path) -> TargetFile:
    """Read, check and return the target file; raises :class:`TargetFileError` naming the line and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetFileError(f"{path}: cannot read the target file: {exc}") from None
    data, lines = parse_with_lines(text, path)
    problems = validation_errors(data, lines)
    if problems:
        more = f"\n… and {len(problems) - MAX_ERRORS} more" if len(problems) > MAX_ERRORS else ""
        shown = "\n".join(f"{path}:{line}: {message}" for line, message in problems[:MAX_ERRORS])
        raise TargetFileError(f"the target file is not valid:\n{shown}{more}")
    defaults = data.get("defaults") or {}
    targets = {
        name: TargetEntry(name, lines.get(("targets", name), 1), _merge(defaults, entry))
        for name, entry in data["targets"].items()
    }
    return TargetFile(path, targets, data.get("concurrency"), data.get("max_requests"))


def _merge(defaults: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**defaults, **entry}
    for key in MERGED:
        if key in defaults and key in entry:
            merged[key] = {**defaults[key], **entry[key]}
    return merged


# -- YAML with line numbers ----------------------------------------------------------------------------


def parse_with_lines(text: str, path: Path) -> tuple[Any, dict[Path_, int]]:
    """The document, and the 1-based line of every key (by its path) in it."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise TargetFileError(f"{where}: not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise TargetFileError(f"{path}: not valid YAML: {exc}") from None
    if node is None:
        raise TargetFileError(f"{path}: the target file is empty (it needs 'targets:')")
    lines: dict[Path_, int] = {(): node.start_mark.line + 1}
    _collect_lines(node, (), lines, path)
    return data, lines


def _collect_lines(node: yaml.Node, at: Path_, lines: dict[Path_, int], path: Path) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise TargetFileError(f"{path}:{key_node.start_mark.line + 1}: {_field((*at, key))}: given twice")
            seen.add(key)
            lines[(*at, key)] = key_node.start_mark.line + 1
            _collect_lines(value_node, (*at, key), lines, path)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*at, index)] = item.start_mark.line + 1
            _collect_lines(item, (*at, index), lines, path)


def _field(at: Path_) -> str:
    text = ""
    for part in at:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _line(lines: Mapping[Path_, int], at: Path_) -> int:
    while at not in lines and at:
        at = at[:-1]
    return lines.get(at, 1)


# -- schema errors that say where and what -----------------------------------------------------------------


def validation_errors(data: Any, lines: Mapping[Path_, int]) -> list[tuple[int, str]]:
    """(line, "field: what is wrong") for every schema error, in file order."""
    validator = jsonschema.Draft202012Validator(schema())
    found: list[tuple[int, str]] = []
    for error in validator.iter_errors(data):
        found.extend(_explain(error, lines))
    return sorted(set(found))


def _explain(error: jsonschema.ValidationError, lines: Mapping[Path_, int]) -> Iterator[tuple[int, str]]:
    at: Path_ = tuple(error.absolute_path)
    if error.validator in ("additionalProperties", "unevaluatedProperties") and isinstance(error.instance, dict):
        allowed = _allowed_keys(error.schema)
        for key in error.instance:
            if key not in allowed:
                hint = f" (allowed here: {', '.join(sorted(allowed))})" if allowed else ""
                yield _line(lines, (*at, key)), f"{_field((*at, key))}: unknown field{hint}"
        return
    if error.validator == "oneOf" and isinstance(error.instance, dict):
        given = [key for key in LOCATORS if key in error.instance]
        what = f"gives {' and '.join(given)}" if given else "gives none"
        yield _line(lines, at), f"{_field(at)}: give exactly one of {', '.join(LOCATORS)} ({what})"
        return
    if error.validator == "required":
        yield _line(lines, at), f"{_field(at)}: {error.message}"
        return
    if error.validator == "pattern" and error.path and error.path[-1] == "base_url":
        yield _line(lines, at), f"{_field(at)}: must start with http:// or https://"
        return
    if "propertyNames" in error.relative_schema_path:
        # The error is about a key: point at the key's own line.
        name = error.instance if isinstance(error.instance, str) else ""
        problem = "a target's name" if at == ("targets",) else "a header name"
        allowed = "letters, digits, '.', '_' and '-'" if at == ("targets",) else "the characters of an HTTP token"
        yield _line(lines, (*at, name)), f"{_field(at)}: {problem} may hold {allowed} only, not {name!r}"
        return
    yield _line(lines, at), f"{_field(at)}: {error.message}"


def _allowed_keys(schema_part: Any) -> set[str]:
    """The property names a (sub)schema allows, following its local ``$ref``."""
    allowed: set[str] = set()
    if not isinstance(schema_part, dict):
        return allowed
    allowed.update(schema_part.get("properties", {}))
    ref = schema_part.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        allowed |= _allowed_keys(schema()["$defs"][ref.removeprefix("#/$defs/")])
    return allowed


# -- an entry → Target.build's keyword arguments ---------------------------------------------------------


def target_settings(entry: TargetEntry, base: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Keyword arguments of :meth:`Target.build` for ``entry``: the key and secret header values read from
    the environment variables it names. A variable that is not set is a usage error naming it (never a
    value). ``base`` is the file's directory (for a relative baseline). A reference entry gets no URL."""
    environ = os.environ if env is None else env
    s = entry.settings
    settings: dict[str, Any] = {"name": s.get("display_name") or entry.name}
    if "base_url" in s:
        settings["base_url"] = s["base_url"]
    elif "base_url_env" in s:
        settings["base_url"] = _from_env(environ, s["base_url_env"], "base_url_env")
    if s.get("api_key_env"):
        settings["api_key"] = _from_env(environ, s["api_key_env"], "api_key_env")
    if s.get("organization"):
        settings["organization"] = s["organization"]
    models = s.get("models") or {}
    for capability, keyword in (("chat", "chat_model"), ("completions", "completion_model")):
        if models.get(capability):
            settings[keyword] = models[capability]
    if models.get("embeddings"):
        settings["embedding_model"] = models["embeddings"]
    if "capabilities" in s:
        settings["capabilities"] = list(s["capabilities"])
    if s.get("profile"):
        settings["profile"] = s["profile"]
    headers = dict(s.get("headers") or {})
    secret = s.get("secret_headers") or {}
    for header, variable in secret.items():
        headers[header] = _from_env(environ, variable, f"secret_headers.{header}")
    if headers:
        settings["headers"] = tuple(headers.items())
    if secret:
        settings["secret_headers"] = frozenset(secret)
    for key, value in (s.get("limits") or {}).items():
        if key == "insecure":
            settings["verify_tls"] = not value
        else:
            settings[LIMIT_FIELDS.get(key, key)] = value
    if s.get("baseline"):
        settings["baseline"] = str(base / s["baseline"])  # an absolute path stays as it is
    return settings


def _from_env(environ: Mapping[str, str], variable: str, what: str) -> str:
    value = environ.get(variable, "")
    if not value.strip():
        raise TargetFileError(f"{what}: the environment variable {variable} is not set")
    return value.strip()


def matrix_entries(targets: TargetFile) -> list[dict[str, Any]]:
    """What ``list-targets --json`` prints: one object per target, for a CI matrix's ``include``."""
    entries = []
    for entry in targets.targets.values():
        s = entry.settings
        entries.append(
            {
                "target": entry.name,
                "display_name": s.get("display_name") or entry.name,
                "reference": entry.reference_faults is not None,
                "api_key_env": s.get("api_key_env"),
                "base_url_env": s.get("base_url_env"),
                "secret_header_envs": sorted((s.get("secret_headers") or {}).values()),
            }
        )
    return entries
