"""Baselines: the reviewed, expected outcomes of one provider (WPT-style expectations).

A baseline is a small YAML file kept next to the CI job that scores a provider::

    provider: acme-gateway
    expectations:
      ERR-001:
        outcome: FAIL                 # or a list, for a flaky one: [FAIL, TIMEOUT]
        reason: error bodies are {"code", "msg"}; vendor ticket open
        link: https://tracker.example/VENDOR-42

Semantics (applied by ``conformance.report.gates``):

* a **listed** requirement must have one of its listed outcomes, nothing else;
* a requirement **not listed** is expected to PASS; SKIP and UNSUPPORTED are tolerated for it (they
  depend on configuration and on what the provider declines, not on regressions);
* ERROR is the suite's own bug and never the provider's: it is reported, never gated, and
  ``baseline update`` never records it.

So CI fails on *new* failures, and on *unexpected passes*: a listed failure that now passes means the
baseline is stale and should be updated (``oai-conformance baseline update REPORT.json FILE``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from conformance.report.view import FAILURES, OUTCOMES, Report, provider

TODO_REASON = "TODO: explain"
_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z][A-Z0-9]*)*-[0-9]{3}$")
_ENTRY_KEYS = {"outcome", "reason", "link"}
_TOP_KEYS = {"provider", "expectations"}

HEADER = """\
# oai-conformance baseline: the reviewed outcomes expected of one provider.
# Not listed: expected to PASS (SKIP and UNSUPPORTED tolerated). Listed: must have exactly the listed
# outcome(s); a listed failure that now passes fails the gate until this file is updated with
#   oai-conformance baseline update REPORT.json THIS_FILE
# Replace every "TODO: explain" with the reason (and a link to the issue) when you review it.
"""


class BaselineError(ValueError):
    """The baseline file is missing, not YAML, or not shaped like a baseline."""


@dataclass(frozen=True, slots=True)
class Expectation:
    outcomes: tuple[str, ...]
    reason: str = ""
    link: str | None = None

    def to_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"outcome": self.outcomes[0] if len(self.outcomes) == 1 else list(self.outcomes)}
        entry["reason"] = self.reason
        if self.link:
            entry["link"] = self.link
        return entry


@dataclass
class Baseline:
    provider: str | None = None
    expectations: dict[str, Expectation] = field(default_factory=dict)


@dataclass
class BaselineUpdate:
    """What ``update_baseline`` did, for the command to print."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def _outcomes(value: Any, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) and item in OUTCOMES for item in items):
        raise BaselineError(f"{where}: outcome must be one of {', '.join(OUTCOMES)} (or a list of them), not {value!r}")
    return tuple(dict.fromkeys(items))  # keeps order, drops repeats


def parse_baseline(data: Any, source: str = "baseline") -> Baseline:
    if data is None:
        return Baseline()
    if not isinstance(data, dict):
        raise BaselineError(f"{source}: expected a mapping with 'provider' and 'expectations'")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise BaselineError(
            f"{source}: unknown key(s) {', '.join(map(str, unknown))} (allowed: provider, expectations)"
        )
    name = data.get("provider")
    if name is not None and not isinstance(name, str):
        raise BaselineError(f"{source}: provider must be a string")
    raw = data.get("expectations") or {}
    if not isinstance(raw, dict):
        raise BaselineError(f"{source}: expectations must be a mapping of requirement id to expectation")
    expectations: dict[str, Expectation] = {}
    for rid, entry in raw.items():
        where = f"{source}: {rid}"
        if not isinstance(rid, str) or not _ID.match(rid):
            raise BaselineError(f"{where}: not a requirement id (like CHAT-STREAM-003)")
        if not isinstance(entry, dict) or "outcome" not in entry:
            raise BaselineError(f"{where}: expected a mapping with at least 'outcome'")
        extra = sorted(set(entry) - _ENTRY_KEYS)
        if extra:
            raise BaselineError(
                f"{where}: unknown key(s) {', '.join(map(str, extra))} (allowed: outcome, reason, link)"
            )
        reason, link = entry.get("reason", ""), entry.get("link")
        if not isinstance(reason, str) or (link is not None and not isinstance(link, str)):
            raise BaselineError(f"{where}: reason and link must be strings")
        expectations[rid] = Expectation(_outcomes(entry["outcome"], where), reason, link)
    return Baseline(name, expectations)


def load_baseline(path: str | Path) -> Baseline:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BaselineError(f"{path}: not valid YAML: {exc}") from exc
    return parse_baseline(data, str(path))


def dump_baseline(baseline: Baseline) -> str:
    data: dict[str, Any] = {
        "provider": baseline.provider,
        "expectations": {rid: entry.to_dict() for rid, entry in baseline.expectations.items()},
    }
    if not baseline.expectations:
        data["expectations"] = {}
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000, default_flow_style=False)
    return HEADER + body


def save_baseline(baseline: Baseline, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(dump_baseline(baseline), encoding="utf-8")
    return target


def update_baseline(baseline: Baseline | None, report: Report) -> tuple[Baseline, BaselineUpdate]:
    """The baseline that makes ``report`` pass its gate, keeping every reviewed reason and link.

    Failures not listed are added with the reason "TODO: explain"; listed entries whose requirement
    now PASSes are dropped; a listed entry whose outcome changed takes the new outcome (keeping its
    reason); ERROR rows and requirements absent from the report leave their entries untouched.
    """
    old = baseline or Baseline()
    done = BaselineUpdate()
    entries: dict[str, Expectation] = {}
    in_report = set()
    for row in report["results"]:
        rid, outcome = row["id"], row["outcome"]
        in_report.add(rid)
        entry = old.expectations.get(rid)
        if outcome == "ERROR" or (entry is not None and outcome in entry.outcomes):
            if entry is not None:
                entries[rid] = entry
        elif outcome == "PASS":
            if entry is not None:
                done.dropped.append(rid)
        elif entry is not None:
            entries[rid] = replace(entry, outcomes=(outcome,))
            done.changed.append(rid)
        elif outcome in FAILURES:
            entries[rid] = Expectation((outcome,), TODO_REASON)
            done.added.append(rid)
        # Unlisted SKIP and UNSUPPORTED are tolerated: nothing to record.
    for rid, entry in old.expectations.items():
        if rid not in in_report:
            entries[rid] = entry  # not run this time (a selection, a retired id): keep as reviewed
    return Baseline(old.provider or provider(report), entries), done
