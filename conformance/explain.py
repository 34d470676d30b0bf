"""``oai-conformance explain ID``: everything the suite knows about one requirement, in one place.

:func:`explain` gathers, for a catalogue id, the requirement (statement, level and why that level), the
check function(s) bound to it, the probes each check reads (the transitive closure, as the engine sends
them) and the reference-provider faults that prove the check can fail, each with its source location.
It returns an :class:`Explanation` (``to_dict()`` is the ``--json`` output); :func:`render_text` is the
terminal view. Neither sends a request.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from conformance.core.catalogue import Catalogue, load_catalogue, profile_of, spec_dir
from conformance.core.results import Level, Outcome
from conformance.engine.deferral import owner_of
from conformance.engine.registry import PROBES, CheckDef, checks_of
from conformance.engine.registry import load as load_registry

#: What a level means (the RFC 2119 reading of spec/requirements.yaml's header).
LEVEL_MEANING = {
    "MUST": "real clients break when it is violated",
    "SHOULD": "strict conformance to the documented contract; clients may cope without it",
    "MAY": "informational: optional behaviour, reported but never failing the verdict",
}
#: Catalogue keys that, when an entry has them, say more about the requirement (and so about its level).
#: ``notes`` and ``since`` are optional keys the loader accepts but does not keep on ``Requirement``;
#: ``see_also`` is read as soon as the catalogue carries it.
EXTRA_KEYS = ("notes", "since", "see_also", "level_note")
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the directory holding the conformance package


class UnknownRequirement(LookupError):
    """No such id in the catalogue; ``suggestions`` are the closest ids (difflib)."""

    def __init__(self, requirement_id: str, suggestions: list[str]) -> None:
        self.requirement_id = requirement_id
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else "; see 'oai-conformance list'"
        super().__init__(f"no requirement {requirement_id!r} in the catalogue{hint}")


@dataclass(frozen=True)
class ProbeInfo:
    name: str
    source: str  # package-relative "path:line"
    doc: str  # the first line of the docstring, "" when there is none
    body: str  # the first line of the body: what the probe does, when it has no docstring
    reads: list[str]  # the probes it takes as arguments
    direct: bool  # read by the check itself (else only through another probe)
    slow: bool


@dataclass(frozen=True)
class CheckInfo:
    name: str  # how reports name it: "chat_stream.py::test_x"
    function: str
    source: str
    needs: list[str]
    cases: list[str]  # the cases it is registered for; [] for a plain check
    reads: list[str]  # the probes in its parameters
    probes: list[ProbeInfo]  # the transitive closure, direct reads first


@dataclass(frozen=True)
class FaultInfo:
    name: str
    site: str
    summary: str
    seen_in: str
    source: str
    legal: bool = False


@dataclass(frozen=True)
class Explanation:
    id: str
    title: str
    level: str
    level_meaning: str
    statement: str
    source: str
    endpoint: str
    capability: str
    profile: str
    status: str
    tags: list[str]
    breaks: list[dict[str, str]]  # {client, how, shown_by}
    checks: list[CheckInfo]
    faults: list[FaultInfo]
    extra: dict[str, Any] = field(default_factory=dict)  # notes, since, see_also -- when the entry has them
    missing_faults: list[str] = field(default_factory=list)  # listed in the catalogue, not registered
    defers_to: list[str] = field(default_factory=list)  # a failure here is SKIP "see ID" when one of these FAILs
    owners: dict[str, str] = field(default_factory=dict)  # proving fault → the requirement that reports it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- lookup ---------------------------------------------------------------------------------------------


def suggest(requirement_id: str, catalogue: Catalogue | None = None, n: int = 5) -> list[str]:
    """The catalogue ids closest to ``requirement_id`` (difflib), best first."""
    ids = (catalogue or load_catalogue()).ids()
    wanted = requirement_id.strip().upper()
    area, _, number = wanted.rpartition("-")
    # "CHAT-STREAM-3" or "-03": the same id zero-padded comes first (difflib ranks 053 like 003).
    padded = [f"{area}-{number.zfill(3)}"] if area and number.isdigit() else []
    close = [i for i in padded if i in ids]
    close += [i for i in difflib.get_close_matches(wanted, ids, n=n, cutoff=0.6) if i not in close]
    if not close:  # "CHAT-STREAM" or "STREAM-003": ids that contain what was typed
        close = [i for i in ids if wanted and wanted in i]
    return close[:n]


def relative(location: str) -> str:
    """``/abs/.../conformance/checks/x.py:12`` → ``conformance/checks/x.py:12`` (absolute when outside)."""
    path, sep, line = location.rpartition(":")
    if not sep:
        return location
    with contextlib.suppress(ValueError):  # outside the package: keep the absolute path
        path = Path(path).resolve().relative_to(_PACKAGE_ROOT).as_posix()
    return f"{path}:{line}"


def _location(func: Callable[..., Any]) -> str:
    try:
        path = inspect.getsourcefile(func) or "?"
        line = inspect.getsourcelines(func)[1]
    except (OSError, TypeError):
        return "?"
    return relative(f"{path}:{line}")


def _first_doc_line(func: Callable[..., Any]) -> str:
    doc = inspect.getdoc(func) or ""
    return doc.strip().splitlines()[0].strip() if doc.strip() else ""


def _first_body_line(func: Callable[..., Any]) -> str:
    """The first line of code after the signature (a docstring skipped): what a probe without one does."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return ""
    node = tree.body[0] if tree.body else None
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return ""
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]
    if not body:
        return ""
    return ast.unparse(body[0]).splitlines()[0]


@cache
def _raw_entries() -> dict[str, dict[str, Any]]:
    """The catalogue entries as written, for the optional keys ``Requirement`` does not keep."""
    text = (spec_dir() / "requirements.yaml").read_text(encoding="utf-8")
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return {str(entry.get("id")): entry for entry in data.get("requirements", []) if isinstance(entry, dict)}


# --- building -------------------------------------------------------------------------------------------


def _probe_order(names: tuple[str, ...]) -> list[str]:
    """The closure of ``names`` breadth-first: the check's own reads, then what they read, and so on."""
    order: list[str] = []
    pending = [name for name in names if name in PROBES]
    while pending:
        name = pending.pop(0)
        if name in order:
            continue
        order.append(name)
        pending.extend(arg for arg in PROBES[name].argnames if arg in PROBES)
    return order


def _probe_info(name: str, direct: bool) -> ProbeInfo:
    definition = PROBES[name]
    return ProbeInfo(
        name=name,
        source=_location(definition.func),
        doc=_first_doc_line(definition.func),
        body=_first_body_line(definition.func),
        reads=[arg for arg in definition.argnames if arg in PROBES],
        direct=direct,
        slow=definition.slow,
    )


def _check_infos(definitions: list[CheckDef]) -> list[CheckInfo]:
    """One entry per check function: a function registered once per case is listed once, with its cases."""
    grouped: dict[Callable[..., Any], list[CheckDef]] = {}
    for definition in definitions:
        grouped.setdefault(definition.func, []).append(definition)
    infos = []
    for func, variants in grouped.items():
        first = variants[0]
        order = _probe_order(first.argnames)
        infos.append(
            CheckInfo(
                name=f"{first.module}.py::{func.__name__}",
                function=f"{func.__module__}.{func.__qualname__}",
                source=_location(func),
                needs=list(first.needs),
                cases=[v.case for v in variants if v.case is not None],
                reads=list(first.argnames),
                probes=[_probe_info(name, name in first.argnames) for name in order],
            )
        )
    return infos


def _fault_infos(names: tuple[str, ...]) -> tuple[list[FaultInfo], list[str]]:
    from conformance.reference import FAULTS

    infos, missing = [], []
    for name in names:
        fault = FAULTS.get(name)
        if fault is None:
            missing.append(name)
            continue
        infos.append(FaultInfo(name, fault.site, fault.summary, fault.seen_in, _fault_location(fault), fault.legal))
    return infos, missing


def _fault_location(fault: Any) -> str:
    """Where the fault is declared: its function, or -- when that is a shared wrapper from a helper module
    (``_stream.plain_only``...), the same line for many faults -- the line of the area module naming it."""
    location = _location(fault.apply)
    path = location.rpartition(":")[0]
    if not Path(path).name.startswith("_"):
        return location
    from conformance.reference import faults as package

    literal = f'"{fault.name}"'
    for module in sorted(Path(package.__file__).parent.glob("[!_]*.py")):
        for number, line in enumerate(module.read_text(encoding="utf-8").splitlines(), 1):
            if literal in line:
                return relative(f"{module}:{number}")
    return location


def explain(requirement_id: str) -> Explanation:
    """Everything about one requirement; ids are matched case-insensitively.

    Raises :class:`UnknownRequirement` (with suggestions) for an id the catalogue does not have.
    """
    catalogue = load_catalogue()
    wanted = requirement_id.strip().upper()
    if wanted not in catalogue:
        raise UnknownRequirement(requirement_id, suggest(requirement_id, catalogue))
    requirement = catalogue[wanted]
    load_registry()
    faults, missing = _fault_infos(requirement.faults)
    raw = _raw_entries().get(wanted, {})
    return Explanation(
        id=requirement.id,
        title=requirement.title,
        level=requirement.level.value,
        level_meaning=LEVEL_MEANING.get(requirement.level.value, ""),
        statement=requirement.statement,
        source=requirement.source,
        endpoint=requirement.endpoint,
        capability=requirement.capability,
        profile=profile_of(requirement),
        status=requirement.status,
        tags=list(requirement.tags),
        breaks=[entry.to_dict() for entry in requirement.breaks],
        checks=_check_infos(checks_of(requirement.id)),
        faults=faults,
        extra={key: raw[key] for key in EXTRA_KEYS if raw.get(key) not in (None, "", [])},
        missing_faults=missing,
        defers_to=list(catalogue.primaries(requirement.id)),
        owners=_owners(catalogue, requirement.id),
    )


def _owners(catalogue: Catalogue, requirement_id: str) -> dict[str, str]:
    """For each proving fault of the requirement, the requirement its failure is reported under, where
    another requirement listing the same fault owns the behaviour (the meta-tests' rule)."""
    found: dict[str, str] = {}
    for fault in catalogue[requirement_id].faults:
        listing = {r.id for r in catalogue.active if fault in r.faults and r.level is not Level.MAY}

        def outcome_of(rid: str, listing: set[str] = listing) -> Outcome:
            return Outcome.FAIL if rid in listing else Outcome.PASS

        owner = owner_of(requirement_id, outcome_of, catalogue)
        if owner is not None:
            found[fault] = owner
    return found


# --- text ------------------------------------------------------------------------------------------------


def _extra_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return " ".join(str(value).split())


def render_text(explanation: Explanation) -> str:
    """The terminal view: plain text, one section per kind of fact."""
    e = explanation
    lines = [f"{e.id}  {e.title}", ""]
    lines += [f"  {e.statement}", ""]
    status = "" if e.status == "active" else f"  ({e.status})"
    lines.append(f"level       {e.level} -- {e.level_meaning}{status}")
    lines.append(f"source      {e.source}")
    lines.append(f"endpoint    {e.endpoint}   capability {e.capability}   profile {e.profile}")
    if e.tags:
        lines.append(f"tags        {', '.join(e.tags)}")
    for key, value in e.extra.items():
        if key != "see_also":
            lines.append(f"{key:<11} {_extra_text(value)}")
    lines += ["", f"why {e.level}: when it is violated, these break ({len(e.breaks)}):"]
    for entry in e.breaks:
        lines.append(f"  - {entry['client']}: {entry['how']}" if entry["how"] else f"  - {entry['client']}")
        if entry["shown_by"]:
            lines.append(f"      shown by {entry['shown_by']}")
    if not e.breaks:
        lines.append("  (none listed)")

    lines += ["", f"check{'s' if len(e.checks) != 1 else ''} ({len(e.checks)}):"]
    if not e.checks:
        lines.append("  (no check is registered for this requirement)")
    for check in e.checks:
        lines.append(f"  {check.name}   {check.source}")
        if check.needs:
            lines.append(f"    needs: {', '.join(check.needs)}")
        if check.cases:
            lines.append(f"    cases ({len(check.cases)}): {', '.join(check.cases)}")
        lines.append(f"    reads: {', '.join(check.reads) if check.reads else '(no probe)'}")
        lines.append("    probes sent for it:")
        if not check.probes:
            lines.append("      (none)")
        for p in check.probes:
            via = "" if p.direct else "  (via another probe)"
            slow = "  [slow]" if p.slow else ""
            lines.append(f"      {p.name}   {p.source}{via}{slow}")
            lines.append(f"        {p.doc}" if p.doc else f"        (no docstring) {p.body}".rstrip())

    lines += [
        "",
        f"proving faults ({len(e.faults)}): the reference provider with one of them makes this FAIL "
        '(or SKIP "see ID" where another requirement reports the same behaviour)',
    ]
    for fault in e.faults:
        owned = f"   -> SKIP see {e.owners[fault.name]}" if fault.name in e.owners else ""
        lines.append(f"  {fault.name}   site {fault.site}   {fault.source}{owned}")
        lines.append(f"    {fault.summary}")
        lines.append(f"    seen in: {fault.seen_in}")
    for name in e.missing_faults:
        lines.append(f"  {name}   (listed in the catalogue but not registered by the reference provider)")
    if "see_also" in e.extra:
        lines += ["", f"see also    {_extra_text(e.extra['see_also'])}"]
        lines.append('            (when this FAILs, their failures are reported as SKIP "see ' + e.id + '")')
    if e.defers_to:
        lines += ["", f"defers to   {', '.join(e.defers_to)}"]
        lines.append('            (when one of them FAILs, a failure here is reported as SKIP "see" it)')
    return "\n".join(lines) + "\n"
