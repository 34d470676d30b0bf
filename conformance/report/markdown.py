"""Markdown report: sized for a pull-request comment and ``$GITHUB_STEP_SUMMARY``.

Summary first (provider, score, verdicts, counts, cost), then one row per capability, then what
failed with enough evidence to act on, and the full requirement table folded away in ``<details>``.
"""

from __future__ import annotations

from conformance.report import mdtext as md
from conformance.report.view import (
    LEVELS,
    OUTCOMES,
    PROBLEMS,
    SYMBOLS,
    Report,
    Row,
    breaks_text,
    client_readiness,
    counts_text,
    exchange_line,
    first_evidence,
    first_line,
    fmt_score,
    provider,
    rows_with,
    violation,
)

# A PR comment holds at most 65,536 characters: keep each quoted value short.
EXPECTED_LIMIT = 200
RECEIVED_LIMIT = 300
NOTE_LIMIT = 120


def verdict(flag: bool, name: str) -> str:
    return f"✅ {name}" if flag else f"❌ not {name}"


def mark(flag: bool) -> str:
    return "✅" if flag else "❌"


def render_markdown(report: Report) -> str:
    lines = [
        *_header(report),
        *_readiness(report),
        *_capabilities(report),
        *_failures(report),
        *_unsupported(report),
        *_full_table(report),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _header(report: Report) -> list[str]:
    summary, usage, run, suite = report["summary"], report["usage"], report["run"], report["suite"]
    verdicts = summary["verdicts"]
    lines = [f"## OpenAI compatibility: {md.text(provider(report))}", ""]
    if run["aborted"]:
        lines += [f"> **Run aborted:** {md.text(run['aborted'])}", ""]
    lines += [
        f"**Score {fmt_score(summary['score'])}** · {verdict(verdicts['client_compatible'], 'client-compatible')} · "
        f"{verdict(verdicts['spec_conformant'], 'spec-conformant')}",
        "",
    ]
    counts = summary["counts"]
    lines += md.table(
        [*OUTCOMES, "requests", "completion tokens"],
        [[str(counts[o]) for o in OUTCOMES] + [str(usage["requests"]), str(usage["completion_tokens"])]],
        "r" * (len(OUTCOMES) + 2),
    )
    started = f" · {run['started']}" if run.get("started") else ""
    lines += [
        "",
        f"{md.code(report['target']['base_url'])} · oai-conformance {md.text(suite['version'])} · "
        f"catalogue v{suite['catalogue_version']}{started} · {run['duration_s']:.1f} s",
        "",
    ]
    return lines


def _readiness(report: Report) -> list[str]:
    rows = [
        [md.text(client), status, ", ".join(md.code(i) for i in failing) or "—"]
        for client, status, failing in client_readiness(report)
    ]
    return ["### Client readiness", "", *md.table(["client", "status", "failing requirements"], rows, "lll"), ""]


def _capabilities(report: Report) -> list[str]:
    table = report["summary"]["by_capability"]
    if not table:
        return []
    rows = [
        [
            md.text(name),
            fmt_score(cap["score"]),
            mark(cap["client_compatible"]),
            mark(cap["spec_conformant"]),
            counts_text(cap["counts"]),
        ]
        for name, cap in sorted(table.items())
    ]
    return [
        "### By capability",
        "",
        *md.table(["capability", "score", "client-compatible", "spec-conformant", "results"], rows, "lrccl"),
        "",
    ]


def _failures(report: Report) -> list[str]:
    failed = rows_with(report, *PROBLEMS)
    if not failed:
        return ["### What failed", "", "Nothing: every requirement that ran passed or was not applicable.", ""]
    # MUST first: those are the ones that break clients.
    failed.sort(key=lambda row: LEVELS.index(row["level"]))
    lines = [f"### What failed ({len(failed)})", ""]
    for row in failed:
        lines += _failure(row)
    lines.append("")
    return lines


def _failure(row: Row) -> list[str]:
    outcome = row["outcome"]
    lines = [f"- {SYMBOLS[outcome]} **{outcome}** {md.code(row['id'])} ({row['level']}) {md.text(row['title'])}"]
    found = violation(row)
    if found:
        if found.get("pointer"):
            lines.append(f"  - at: {md.code(found['pointer'])}")
        if found.get("expected") is not None:
            lines.append(f"  - expected: {md.code(found['expected'], EXPECTED_LIMIT)}")
        if found.get("actual") is not None:
            lines.append(f"  - received: {md.code(found['actual'], RECEIVED_LIMIT)}")
        if found.get("expected") is None and found.get("actual") is None:
            lines.append(f"  - {md.text(found['title'])}")
    elif row["message"]:
        lines.append(f"  - {md.text(row['message'], RECEIVED_LIMIT)}")
    if outcome == "ERROR":
        lines.append("  - this is a bug in the suite, not the provider's fault")
    elif row["breaks"]:
        lines.append(f"  - breaks: {md.text('; '.join(breaks_text(row)))}")
    evidence = first_evidence(row)
    if evidence:
        lines.append(f"  - evidence: {md.code(exchange_line(evidence))}")
    return lines


def _unsupported(report: Report) -> list[str]:
    rows = rows_with(report, "UNSUPPORTED")
    if not rows:
        return []
    lines = [f"### Unsupported ({len(rows)})", "", "Declined honestly by the provider; left out of the score.", ""]
    for row in rows:
        note = first_line(row["message"])
        suffix = f" — {md.text(note, NOTE_LIMIT)}" if note else ""
        lines.append(f"- {md.code(row['id'])} ({row['level']}) {md.text(row['title'])}{suffix}")
    lines.append("")
    return lines


def _full_table(report: Report) -> list[str]:
    results = report["results"]
    rows = [
        [
            md.code(row["id"], in_table=True),
            row["level"],
            md.text(row["capability"]),
            f"{SYMBOLS[row['outcome']]} {row['outcome']}",
            md.text(row["title"]),
            md.text(first_line(row["message"]), NOTE_LIMIT) if row["outcome"] != "PASS" else "",
        ]
        for row in results
    ]
    return [
        "<details>",
        f"<summary>All {len(results)} requirements</summary>",
        "",
        *md.table(["requirement", "level", "capability", "outcome", "title", "note"], rows),
        "",
        "</details>",
    ]
