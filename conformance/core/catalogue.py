"""The requirement catalogue: ``spec/requirements.yaml`` loaded into frozen ``Requirement`` values.

A requirement lives once, in the YAML file; code refers to it by id only. The loader rejects what
would let catalogue and code drift apart: duplicate or malformed ids, unknown keys, unknown levels,
a requirement without a proving fault, a MUST without the evidence that a named client breaks.

Every ``breaks`` entry is a ``Break``: the client, how it breaks (one line) and ``shown_by``, the
evidence -- the id of one of our SDK checks (``SDK-PY-002``), a client source reference
(``openai/openai-python src/openai/_streaming.py:58``, optionally followed by the line read), or
``docs: <url or section>`` for an explicit MUST-style statement of the official description.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from conformance.core.results import Level

ID_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z][A-Z0-9]*)*-\d{3}$")
CAPABILITIES = (
    "models",
    "chat",
    "completions",
    "embeddings",
    "errors",
    "auth",
    "base_url",
    "images",
    "moderations",
    "files",
    "fine_tunes",
    "edits",
    "engines",
    "sdk",
    "transport",
    "responses",  # POST /responses
    "responses_store",  # the stored responses: retrieve, input items, delete (operations of the property run)
    "responses_background",  # background responses polled and cancelled (the cancel operation of the property run)
    "contract",  # the OpenAPI description as a whole (property tests: schemas, every operation works)
)
#: Endpoint families a check can need and a user can declare (``--capabilities``): a declared set
#: without one of them makes its requirements UNSUPPORTED instead of probing the provider.
DECLARABLE_CAPABILITIES = (
    "chat",
    "completions",
    "embeddings",
    "images",
    "moderations",
    "files",
    "fine_tunes",
    "edits",
    "engines",
    # Features of chat a provider may decline (a 4xx with the envelope), declared with chat.
    "tools",
    "logprobs",
    "n",
    "structured_outputs",  # response_format json_object / json_schema
    "vision",  # image_url content parts
    "reasoning",  # reasoning_effort, and the reasoning text in its own field
    "responses",  # the Responses API (POST /responses)
    # Features of responses a provider may decline, declared with responses: stored responses (retrieve,
    # input items, delete, previous_response_id) and background responses (polled, cancelled; stored too).
    "responses_store",
    "responses_background",
)
#: Declaring ``chat`` declares these too, unless they are named with a minus (``chat,-tools``).
CHAT_FEATURES = ("tools", "logprobs", "n", "structured_outputs", "vision", "reasoning")
#: Declaring ``responses`` declares these too, unless named with a minus (``responses,-responses_store``).
RESPONSES_FEATURES = ("responses_store", "responses_background")
#: The features each declarable family brings along.
FEATURES = {"chat": CHAT_FEATURES, "responses": RESPONSES_FEATURES}
#: ``--profile``: core is what every OpenAI-compatible server is used for; extended adds the newer
#: optional endpoints; legacy is the deprecated ones (and model delete, which needs a fine-tuned model).
#: The Responses API is extended: many servers that chat clients use well do not serve it, and a server
#: without it should not need a declaration to keep its core verdict.
PROFILES = ("core", "extended", "legacy", "all")
EXTENDED_CAPABILITIES = ("images", "moderations", "files", "responses")
LEGACY_CAPABILITIES = ("edits", "engines", "fine_tunes")
_REQUIRED = ("id", "level", "title", "statement", "source", "endpoint", "capability", "breaks", "faults")
_OPTIONAL = ("tags", "status", "since", "notes", "level_note", "see_also")
_BREAK_KEYS = ("client", "how", "shown_by")
#: ``shown_by``: one of our SDK checks, a client source line, or the official documentation.
SDK_CHECK_PATTERN = re.compile(r"^SDK-(PY|NODE)-\d{3}$")
SOURCE_REF_PATTERN = re.compile(
    r"^(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)(@(?P<ref>[\w.-]+))? (?P<path>[^\s:]+):(?P<line>\d+)(-\d+)?( .+)?$"
)
DOCS_PATTERN = re.compile(r"^docs: \S.*$")


class CatalogueError(ValueError):
    """The catalogue file is malformed; the message names the entry and the fix."""


def shown_by_kind(shown_by: str) -> str | None:
    """``"sdk"``, ``"source"``, ``"docs"`` or ``None`` (empty or malformed)."""
    if SDK_CHECK_PATTERN.match(shown_by):
        return "sdk"
    if SOURCE_REF_PATTERN.match(shown_by):
        return "source"
    if DOCS_PATTERN.match(shown_by):
        return "docs"
    return None


@dataclass(frozen=True, slots=True)
class Break:
    """One client that breaks when the requirement is violated, how, and the evidence that it does."""

    client: str
    how: str = ""
    shown_by: str = ""

    def __str__(self) -> str:
        return f"{self.client}: {self.how}" if self.how else self.client

    def to_dict(self) -> dict[str, str]:
        return {"client": self.client, "how": self.how, "shown_by": self.shown_by}

    @classmethod
    def read(cls, value: Any) -> Break:
        """A ``breaks`` entry of a saved report: a mapping, or a plain string (report schema 1.0)."""
        if isinstance(value, str):
            return cls(client=value)
        if isinstance(value, dict):
            return cls(
                client=str(value.get("client") or ""),
                how=str(value.get("how") or ""),
                shown_by=str(value.get("shown_by") or ""),
            )
        return cls(client=str(value))


@dataclass(frozen=True, slots=True)
class Requirement:
    id: str
    level: Level
    title: str
    statement: str
    source: str
    endpoint: str
    capability: str
    breaks: tuple[Break, ...]
    faults: tuple[str, ...]
    tags: tuple[str, ...] = ()
    status: str = "active"
    level_note: str = ""
    #: Requirements whose checks trip over the same behaviour: when this one FAILs, a failure of theirs
    #: is reported SKIP "see <this id>" (conformance/engine/deferral.py). One behaviour, one finding.
    see_also: tuple[str, ...] = ()

    @property
    def area(self) -> str:
        """``CHAT-STREAM-003`` → ``CHAT-STREAM``."""
        return self.id.rsplit("-", 1)[0]

    @property
    def retired(self) -> bool:
        return self.status == "retired"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "level": self.level.value,
            "title": self.title,
            "statement": self.statement,
            "source": self.source,
            "endpoint": self.endpoint,
            "capability": self.capability,
            "breaks": [entry.to_dict() for entry in self.breaks],
            "faults": list(self.faults),
            "tags": list(self.tags),
            "status": self.status,
            "level_note": self.level_note,
            "see_also": list(self.see_also),
        }


@dataclass(frozen=True, slots=True)
class Catalogue:
    version: int
    requirements: tuple[Requirement, ...]
    sha256: str
    # Indexes made once, when the catalogue is built: by id, and who lists each id in ``see_also``.
    _by_id: dict[str, Requirement] = field(init=False, repr=False, compare=False)
    _primaries: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        found: dict[str, list[str]] = {}
        for requirement in self.requirements:
            for deferring in requirement.see_also:
                found.setdefault(deferring, []).append(requirement.id)
        object.__setattr__(self, "_by_id", {r.id: r for r in self.requirements})
        object.__setattr__(self, "_primaries", {rid: tuple(ids) for rid, ids in found.items()})

    def __getitem__(self, requirement_id: str) -> Requirement:
        return self._by_id[requirement_id]

    def __contains__(self, requirement_id: object) -> bool:
        return requirement_id in self._by_id

    @property
    def active(self) -> tuple[Requirement, ...]:
        return tuple(r for r in self.requirements if not r.retired)

    def ids(self) -> list[str]:
        return [r.id for r in self.requirements]

    def primaries(self, requirement_id: str) -> tuple[str, ...]:
        """The requirements ``requirement_id`` defers to (those listing it in ``see_also``), in catalogue order."""
        return self._primaries.get(requirement_id, ())


def profile_of(requirement: Requirement) -> str:
    """The smallest profile a requirement belongs to: "core", "extended" or "legacy".

    Derived from the capability; a requirement of a core capability that only legacy endpoints can
    exercise (model delete) carries the tag ``legacy``; one of another capability that only an extended
    endpoint exercises (the SDK oracles of the Responses API) carries the tag ``extended``.
    """
    if requirement.capability in LEGACY_CAPABILITIES or "legacy" in requirement.tags:
        return "legacy"
    if requirement.capability in EXTENDED_CAPABILITIES or "extended" in requirement.tags:
        return "extended"
    return "core"


def in_profile(requirement: Requirement, profile: str) -> bool:
    """Whether ``--profile profile`` runs the requirement (extended includes core; legacy stands alone)."""
    own = profile_of(requirement)
    if profile == "all":
        return True
    if profile == "extended":
        return own in ("core", "extended")
    return own == profile


def spec_dir() -> Path:
    """The directory holding the contract files: ``conformance/spec`` in an installed package (pyproject maps
    the repository's ``spec/`` there), or ``spec/`` beside the package in a checkout or editable install."""
    here = Path(__file__).resolve().parent.parent  # the conformance package
    for candidate in (here / "spec", here.parent / "spec"):
        if (candidate / "requirements.yaml").is_file():
            return candidate
    raise CatalogueError(f"spec/requirements.yaml is missing (looked in {here / 'spec'} and {here.parent / 'spec'})")


def _as_tuple(entry_id: str, key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise CatalogueError(f"{entry_id}: '{key}' must be a list of non-empty strings, got {value!r}")
    return tuple(value)


def _parse_break(entry_id: str, index: int, value: Any) -> Break:
    where = f"{entry_id}: breaks[{index}]"
    if not isinstance(value, dict):
        raise CatalogueError(f"{where} must be a mapping {{client, how, shown_by}}, got {value!r}")
    unknown = sorted(set(value) - set(_BREAK_KEYS))
    if unknown:
        raise CatalogueError(
            f"{where}: unknown key(s) {', '.join(map(str, unknown))}; allowed: {', '.join(_BREAK_KEYS)}"
        )
    for key in _BREAK_KEYS:
        if value.get(key) is not None and not isinstance(value[key], str):
            raise CatalogueError(f"{where}: '{key}' must be a string, got {value[key]!r}")
    client = (value.get("client") or "").strip()
    if not client:
        raise CatalogueError(f"{where}: 'client' must name the client that breaks")
    shown_by = " ".join((value.get("shown_by") or "").split())
    if shown_by and shown_by_kind(shown_by) is None:
        raise CatalogueError(
            f"{where}: shown_by {shown_by!r} is none of: an SDK check id (SDK-PY-002), a client source reference "
            "('openai/openai-python src/openai/_streaming.py:58'), 'docs: <url or section>'"
        )
    return Break(client=client, how=" ".join((value.get("how") or "").split()), shown_by=shown_by)


def _parse_breaks(entry_id: str, value: Any) -> tuple[Break, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise CatalogueError(
            f"{entry_id}: 'breaks' must be a list of {{client, how, shown_by}} mappings, got {value!r}"
        )
    return tuple(_parse_break(entry_id, index, item) for index, item in enumerate(value))


def parse_requirement(entry: Any) -> Requirement:
    if not isinstance(entry, dict):
        raise CatalogueError(f"every requirement must be a mapping, got {entry!r}")
    entry_id = str(entry.get("id", "<missing id>"))
    missing = [key for key in _REQUIRED if key not in entry]
    if missing:
        raise CatalogueError(f"{entry_id}: missing key(s) {', '.join(missing)}")
    unknown = sorted(set(entry) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise CatalogueError(
            f"{entry_id}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(_REQUIRED + _OPTIONAL)}"
        )
    if not ID_PATTERN.match(entry_id):
        raise CatalogueError(f"{entry_id}: ids look like AREA(-SUB)-NNN, e.g. CHAT-STREAM-003")
    try:
        level = Level(entry["level"])
    except ValueError:
        raise CatalogueError(f"{entry_id}: level must be MUST, SHOULD or MAY, got {entry['level']!r}") from None
    if entry["capability"] not in CAPABILITIES:
        raise CatalogueError(f"{entry_id}: capability must be one of {', '.join(CAPABILITIES)}")
    status = entry.get("status", "active")
    if status not in ("active", "retired"):
        raise CatalogueError(f"{entry_id}: status must be active or retired")
    for key in ("title", "statement", "source", "endpoint"):
        if not isinstance(entry[key], str) or not entry[key].strip():
            raise CatalogueError(f"{entry_id}: '{key}' must be a non-empty string")
    faults = _as_tuple(entry_id, "faults", entry["faults"])
    if not faults and status == "active":
        raise CatalogueError(f"{entry_id}: an active requirement needs at least one proving fault")
    breaks = _parse_breaks(entry_id, entry["breaks"])
    if level is Level.MUST and status == "active" and not any(b.how and b.shown_by for b in breaks):
        raise CatalogueError(
            f"{entry_id}: a MUST needs a breaks entry with client, how and shown_by (an SDK check, a client source "
            "line or 'docs: ...'); without that evidence the requirement is a SHOULD"
        )
    level_note = entry.get("level_note") or ""
    if not isinstance(level_note, str):
        raise CatalogueError(f"{entry_id}: 'level_note' must be a string")
    return Requirement(
        id=entry_id,
        level=level,
        title=entry["title"].strip(),
        statement=" ".join(entry["statement"].split()),
        source=entry["source"].strip(),
        endpoint=entry["endpoint"].strip(),
        capability=entry["capability"],
        breaks=breaks,
        faults=faults,
        tags=_as_tuple(entry_id, "tags", entry.get("tags")),
        status=status,
        level_note=" ".join(level_note.split()),
        see_also=_as_tuple(entry_id, "see_also", entry.get("see_also")),
    )


def parse_catalogue(text: str) -> Catalogue:
    # libyaml's loader when PyYAML has it: the catalogue is read at every start, ten times faster so.
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(data, dict) or not isinstance(data.get("requirements"), list):
        raise CatalogueError("the catalogue is a mapping with 'version' and a 'requirements' list")
    requirements = tuple(parse_requirement(entry) for entry in data["requirements"])
    seen: set[str] = set()
    for requirement in requirements:
        if requirement.id in seen:
            raise CatalogueError(f"{requirement.id}: duplicate id (ids are never reused)")
        seen.add(requirement.id)
    for requirement in requirements:
        for entry in requirement.breaks:
            if shown_by_kind(entry.shown_by) == "sdk" and entry.shown_by not in seen:
                raise CatalogueError(
                    f"{requirement.id}: breaks shown_by {entry.shown_by}, which is not a requirement of the catalogue"
                )
    _check_see_also(requirements)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return Catalogue(version=int(data.get("version", 1)), requirements=requirements, sha256=digest)


_RANK = {Level.MUST: 0, Level.SHOULD: 1, Level.MAY: 2}


def _check_see_also(requirements: tuple[Requirement, ...]) -> None:
    """``see_also`` names known requirements, never one of a higher level (the one finding must keep the
    severity of the behaviour), and has no cycle (every deferral ends at a primary)."""
    by_id = {r.id: r for r in requirements}
    for requirement in requirements:
        for other in requirement.see_also:
            if other not in by_id or other == requirement.id:
                raise CatalogueError(f"{requirement.id}: see_also names {other}, which is not another requirement")
            if _RANK[by_id[other].level] < _RANK[requirement.level]:
                raise CatalogueError(
                    f"{requirement.id}: see_also names {other} ({by_id[other].level.value}), of a higher level than "
                    f"{requirement.level.value}: the finding it defers to would understate the behaviour"
                )
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(rid: str, path: tuple[str, ...]) -> None:
        if state.get(rid) == 2:
            return
        if state.get(rid) == 1:
            raise CatalogueError(f"see_also has a cycle: {' -> '.join((*path, rid))}")
        state[rid] = 1
        for other in by_id[rid].see_also:
            visit(other, (*path, rid))
        state[rid] = 2

    for requirement in requirements:
        visit(requirement.id, ())


@cache
def load_catalogue(path: Path | None = None) -> Catalogue:
    """Load (once per process) and validate the catalogue."""
    source = path or spec_dir() / "requirements.yaml"
    return parse_catalogue(source.read_text(encoding="utf-8"))
