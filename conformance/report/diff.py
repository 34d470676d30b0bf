"""Compare two reports requirement by requirement: regressions, fixes, other changes, score change.

A **regression** is a requirement that went from PASS, UNSUPPORTED or SKIP to FAIL, TIMEOUT or ERROR;
``oai-conformance diff`` exits 1 when there is one. A **fix** went from FAIL, TIMEOUT or ERROR to PASS.
Every other change of outcome (FAIL → TIMEOUT, PASS → UNSUPPORTED, …) is listed but gates nothing.
Requirements present in only one report (a grown catalogue, a ``--requirements`` selection) are
listed as added or removed; an added requirement that fails is not a regression — there was
nothing to regress from; gate it with a baseline instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.report import mdtext as md
from conformance.report.view import PROBLEMS, Report, first_line, fmt_score, provider, yes_no

GOOD = ("PASS", "UNSUPPORTED", "SKIP")


@dataclass(frozen=True, slots=True)
class Change:
    id: str
    level: str
    title: str
    old: str | None  # None: the requirement is not in the old report
    new: str | None  # None: not in the new report
    message: str = ""  # the first line of the new message (why it is what it is now)


@dataclass
class ReportDiff:
    old: Report
    new: Report
    regressions: list[Change] = field(default_factory=list)
    fixes: list[Change] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    added: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)
    unchanged: int = 0

    @property
    def has_regressions(self) -> bool:
        return bool(self.regressions)

    @property
    def exit_code(self) -> int:
        return 1 if self.regressions else 0

    @property
    def score_change(self) -> float | None:
        old, new = self.old["summary"]["score"], self.new["summary"]["score"]
        return None if old is None or new is None else round(new - old, 1)


def diff_reports(old: Report, new: Report) -> ReportDiff:
    result = ReportDiff(old=old, new=new)
    before = {row["id"]: row for row in old["results"]}
    after = {row["id"]: row for row in new["results"]}
    for row in new["results"]:
        previous = before.get(row["id"])
        change = Change(
            id=row["id"],
            level=row["level"],
            title=row["title"],
            old=previous["outcome"] if previous else None,
            new=row["outcome"],
            message=first_line(row["message"]),
        )
        if previous is None:
            result.added.append(change)
        elif change.old == change.new:
            result.unchanged += 1
        elif change.old in GOOD and change.new in PROBLEMS:
            result.regressions.append(change)
        elif change.old in PROBLEMS and change.new == "PASS":
            result.fixes.append(change)
        else:
            result.changes.append(change)
    for row in old["results"]:
        if row["id"] not in after:
            result.removed.append(Change(row["id"], row["level"], row["title"], row["outcome"], None))
    return result


def _arrow(change: Change) -> str:
    return f"{change.old or '—'} → {change.new or '—'}"


def _score_line(diff: ReportDiff) -> str:
    old, new = diff.old["summary"]["score"], diff.new["summary"]["score"]
    delta = diff.score_change
    suffix = "" if delta is None else f" ({delta:+g})"
    return f"score {fmt_score(old)} → {fmt_score(new)}{suffix}"


def _verdict_line(diff: ReportDiff) -> str:
    parts = []
    for key, name in (("client_compatible", "client-compatible"), ("spec_conformant", "spec-conformant")):
        before, after = diff.old["summary"]["verdicts"][key], diff.new["summary"]["verdicts"][key]
        parts.append(f"{name} {yes_no(before)} → {yes_no(after)}")
    return " · ".join(parts)


def _notes(diff: ReportDiff) -> list[str]:
    notes = []
    old_suite, new_suite = diff.old["suite"], diff.new["suite"]
    if old_suite["catalogue_sha256"] != new_suite["catalogue_sha256"]:
        notes.append(
            f"the catalogue changed (v{old_suite['catalogue_version']} → v{new_suite['catalogue_version']}): "
            "some changes may come from the checks, not the provider"
        )
    return notes


SECTIONS = (
    ("regressions", "Regressions"),
    ("fixes", "Fixes"),
    ("changes", "Other changes"),
    ("added", "Added requirements"),
    ("removed", "Removed requirements"),
)


def render_diff_text(diff: ReportDiff) -> str:
    old_name, new_name = provider(diff.old), provider(diff.new)
    names = old_name if old_name == new_name else f"{old_name} → {new_name}"
    lines = [
        f"oai-conformance diff: {names}",
        f"{diff.old['run'].get('started') or '?'} → {diff.new['run'].get('started') or '?'}",
        _score_line(diff),
        _verdict_line(diff),
        *(f"note: {note}" for note in _notes(diff)),
    ]
    for attribute, heading in SECTIONS:
        changes: list[Change] = getattr(diff, attribute)
        if not changes:
            continue
        lines += ["", f"{heading} ({len(changes)}):"]
        width = max(len(change.id) for change in changes)
        for change in changes:
            lines.append(f"  {change.id:<{width}}  {change.level:<6}  {_arrow(change):<20}  {change.title}")
            if change.message and change.new in PROBLEMS:
                lines.append(f"  {'':<{width}}  {md.one_line(change.message)}")
    lines += ["", f"{diff.unchanged} unchanged; " + _verdict(diff)]
    return "\n".join(lines) + "\n"


def _verdict(diff: ReportDiff) -> str:
    if diff.regressions:
        return f"{len(diff.regressions)} regression(s)"
    return "no regressions"


def render_diff_markdown(diff: ReportDiff) -> str:
    old_name, new_name = provider(diff.old), provider(diff.new)
    names = md.text(old_name if old_name == new_name else f"{old_name} → {new_name}")
    lines = [
        f"## oai-conformance diff: {names}",
        "",
        f"**{_score_line(diff)}** · {_verdict_line(diff)} · {_verdict(diff)}",
        "",
        *(f"> **Note:** {md.text(note)}\n" for note in _notes(diff)),
    ]
    for attribute, heading in SECTIONS:
        changes: list[Change] = getattr(diff, attribute)
        if not changes:
            continue
        rows = [
            [
                md.code(change.id, in_table=True),
                change.level,
                _arrow(change),
                md.text(change.title),
                md.text(change.message, 120) if change.new in PROBLEMS else "",
            ]
            for change in changes
        ]
        lines += [
            f"### {heading} ({len(changes)})",
            "",
            *md.table(["requirement", "level", "outcome", "title", "why"], rows),
            "",
        ]
    lines.append(f"{diff.unchanged} requirement(s) unchanged.")
    return "\n".join(lines) + "\n"
