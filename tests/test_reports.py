"""Renderers, diff and merge: golden files over a hand-made report, invariants over a real run.

The golden inputs are ``tests/golden/report.json`` (every outcome, a ``<script>`` and Markdown
metacharacters in a provider's body) and ``tests/golden/report-previous.json`` (the same provider a
week earlier). After a deliberate change to a renderer, review the new output and rewrite the
golden files with ``UPDATE_GOLDEN=1 python -m pytest tests/test_reports.py``.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from conformance.cli import main
from conformance.core.results import Level, Outcome
from conformance.core.scoring import Scored, summarise
from conformance.reference import ReferenceServer
from conformance.report.badge import BADGE_SCHEMA, badge, render_badge
from conformance.report.diff import diff_reports, render_diff_markdown, render_diff_text
from conformance.report.html import render_html
from conformance.report.json_report import validate_report
from conformance.report.junit import render_junit
from conformance.report.markdown import render_markdown
from conformance.report.merge import build_matrix, render_merge_html, render_merge_markdown
from tests.conftest import TEST_KEY
from tests.suite_runs import score

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
INJECTED = "<script>alert('pwned')</script>"
# A network asset of any kind: the page must work offline and load nothing.
ASSET_PATTERNS = [
    r"<script[^>]*\bsrc\s*=",
    r"<link[^>]*\bhref\s*=",
    r"<img\b",
    r"<iframe\b",
    r"url\(",
    r"@import",
    r"\bsrc\s*=\s*[\"']?https?:",
    r"\bhref\s*=\s*[\"']?https?:",
]


def load(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


def recomputed(report: dict[str, Any]) -> dict[str, Any]:
    """A copy whose summary is recomputed from its results (for reports edited in a test)."""
    scored = [Scored(Level(r["level"]), r["capability"], Outcome(r["outcome"])) for r in report["results"]]
    return {**report, "summary": summarise(scored)}


def with_outcome(report: dict[str, Any], rid: str, outcome: str, message: str = "") -> dict[str, Any]:
    changed = copy.deepcopy(report)
    for row in changed["results"]:
        if row["id"] == rid:
            row["outcome"], row["message"] = outcome, message
            for check in row["checks"]:
                check.update(outcome=outcome, message=message, violation=None)
    return recomputed(changed)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no golden file {name}: run with UPDATE_GOLDEN=1 and review it"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} changed: review the output, then rerun with UPDATE_GOLDEN=1"


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return load("report.json")


@pytest.fixture(scope="module")
def previous() -> dict[str, Any]:
    return load("report-previous.json")


# --- the golden inputs themselves --------------------------------------------------------------


@pytest.mark.parametrize("name", ["report.json", "report-previous.json"])
def test_golden_inputs_are_valid_reports(name: str) -> None:
    fixture = load(name)
    validate_report(fixture)
    if UPDATE:  # after editing the results by hand (or a change to scoring), recompute the summary
        (GOLDEN / name).write_text(
            json.dumps(recomputed(fixture), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return
    assert fixture["summary"] == recomputed(fixture)["summary"], "summary is stale: rerun with UPDATE_GOLDEN=1"


def test_golden_report_covers_every_outcome(report: dict[str, Any]) -> None:
    assert {row["outcome"] for row in report["results"]} == {o.value for o in Outcome}


# --- golden outputs ---------------------------------------------------------------------------

RENDERERS: dict[str, Callable[[dict[str, Any], dict[str, Any]], str]] = {
    "report.md": lambda new, old: render_markdown(new),
    "junit.xml": lambda new, old: render_junit(new),
    "report.html": lambda new, old: render_html(new),
    "badge.json": lambda new, old: render_badge(new),
    "diff.txt": lambda new, old: render_diff_text(diff_reports(old, new)),
    "diff.md": lambda new, old: render_diff_markdown(diff_reports(old, new)),
    "merge.md": lambda new, old: render_merge_markdown(build_matrix([new, old])),
    "merge.html": lambda new, old: render_merge_html(build_matrix([new, old])),
}


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_golden_output(name: str, report: dict[str, Any], previous: dict[str, Any]) -> None:
    check_golden(name, RENDERERS[name](report, previous))


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_renderers_are_pure(name: str, report: dict[str, Any], previous: dict[str, Any]) -> None:
    new, old = copy.deepcopy(report), copy.deepcopy(previous)
    first = RENDERERS[name](new, old)
    assert (new, old) == (report, previous), "a renderer changed its input"
    assert RENDERERS[name](new, old) == first


# --- Markdown -----------------------------------------------------------------------------------


def test_markdown_summarises_and_lists_every_failure(report: dict[str, Any]) -> None:
    text = render_markdown(report)
    assert text.startswith("## OpenAI compatibility: acme-gateway\n")
    assert "**Score 57.1** · ❌ not client-compatible · ❌ not spec-conformant" in text
    failed = text.split("### What failed (5)")[1].split("### Unsupported")[0]
    for rid in ("CHAT-STREAM-003", "CHAT-004", "CMPL-001", "ERR-001", "ERR-013"):
        assert f"`{rid}`" in failed
    assert "`POST https://llm.acme.example/v1/chat/completions → 401`" in failed
    assert "breaks: strict SSE parsers; relays; inference-benchmarker: connection closed before completion" in failed
    assert "breaks: openai-python: the APIStatusError's .type, .code and .param are None" in failed  # client: how
    unsupported = text.split("### Unsupported (2)")[1].split("<details>")[0]
    assert "`EMB-001`" in unsupported
    assert "`EMB-004`" in unsupported
    assert text.count("<details>") == text.count("</details>") == 1


def test_markdown_says_when_a_run_aborted(report: dict[str, Any]) -> None:
    aborted = copy.deepcopy(report)
    aborted["run"]["aborted"] = "target unreachable: ConnectError: [Errno 111]"
    assert "> **Run aborted:** target unreachable: ConnectError: \\[Errno 111\\]\n" in render_markdown(aborted)
    assert "Run aborted:</strong> target unreachable" in render_html(aborted)


def test_markdown_quotes_provider_text(report: dict[str, Any]) -> None:
    hostile = with_outcome(report, "EMB-001", "UNSUPPORTED", "</details><img src=x onerror=alert(1)> | *x*")
    text = render_markdown(hostile)
    assert not re.search(r"(?<!\\)<(img|/details)", text.split("<details>")[0])  # only escaped: \<img
    assert text.count("</details>") == 1
    assert "\\</details\\>\\<img" in text.split("<details>")[1]
    assert r"\</details\>\<img src=x onerror=alert(1)\> \| \*x\*" in text
    # Verbatim bodies sit in code spans, fenced by more backticks than they contain.
    assert '``{"code":"105","msg":"token invalid. <script>' in render_markdown(report)


# --- JUnit --------------------------------------------------------------------------------------


def test_junit_has_one_testcase_per_requirement(report: dict[str, Any]) -> None:
    root = ET.fromstring(render_junit(report))
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [f"{r['id']} {r['title']}" for r in report["results"]]
    assert [c.get("classname") for c in cases] == [r["capability"] for r in report["results"]]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "12",
        "4",
        "1",
        "3",
    )
    by_id = {c.get("name", "").split()[0]: c for c in cases}
    assert by_id["CHAT-STREAM-003"].find("failure") is not None
    assert by_id["CHAT-004"].find("failure").get("type") == "TIMEOUT"  # type: ignore[union-attr]
    assert by_id["CMPL-001"].find("error") is not None
    assert by_id["EMB-001"].find("skipped").get("message", "").startswith("UNSUPPORTED: ")  # type: ignore[union-attr]
    assert by_id["MODELS-001"].find("*") is None
    failure = by_id["ERR-001"].find("failure")
    assert failure is not None
    assert INJECTED in (failure.text or "")
    assert "expected: " in (failure.text or "")
    assert "evidence: POST https://" in (failure.text or "")


def test_junit_survives_characters_xml_cannot_carry(report: dict[str, Any]) -> None:
    broken = copy.deepcopy(report)
    broken["results"][0]["title"] = "nul \x00 and escape \x1b[31m"
    root = ET.fromstring(render_junit(broken))
    assert "nul \\x00 and escape \\x1b[31m" in (root.find("testsuite/testcase").get("name") or "")  # type: ignore[union-attr]


# --- HTML ---------------------------------------------------------------------------------------


def test_html_loads_nothing_from_the_network(report: dict[str, Any]) -> None:
    page = render_html(report)
    for pattern in ASSET_PATTERNS:
        assert not re.search(pattern, page, re.IGNORECASE), pattern
    assert page.count("<script") == 1  # ours, inline
    assert "default-src 'none'" in page


def test_html_escapes_provider_text(report: dict[str, Any]) -> None:
    page = render_html(report)
    assert INJECTED not in page
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in page


def test_html_has_every_requirement_filters_and_evidence(report: dict[str, Any]) -> None:
    page = render_html(report)
    for row in report["results"]:
        assert f'<tr id="req-{row["id"]}" data-outcome="{row["outcome"]}" data-level="{row["level"]}"' in page
    for name in ('name="outcome"', 'name="level"', 'name="capability"'):
        assert name in page
    stream = page.split('id="req-CHAT-STREAM-003"')[1].split("</tr>")[0]
    assert "<details>" in stream
    assert "Bearer [REDACTED]" in stream
    assert "event stream (6 lines)" in stream
    assert "data: {&#34;id&#34;:&#34;chatcmpl-1&#34;" in stream
    assert "<details>" not in page.split('id="req-MODELS-001"')[1].split("</tr>")[0]


# --- badge --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failures", "message", "color"),
    [
        ({}, "100% · client-compatible", "green"),
        ({"ERR-013": "SHOULD"}, "75% · client-compatible", "yellow"),
        ({"ERR-001": "MUST"}, "25% · not client-compatible", "red"),
    ],
)
def test_badge_colour_follows_the_verdicts(
    report: dict[str, Any], failures: dict[str, str], message: str, color: str
) -> None:
    small = copy.deepcopy(report)
    small["results"] = [r for r in small["results"] if r["id"] in ("ERR-001", "ERR-013")]
    for row in small["results"]:
        row["outcome"] = "FAIL" if row["id"] in failures else "PASS"
    result = badge(recomputed(small))
    jsonschema.validate(result, BADGE_SCHEMA)
    assert result == {"schemaVersion": 1, "label": "OpenAI compatibility", "message": message, "color": color}


def test_badge_of_an_aborted_run_is_grey(report: dict[str, Any]) -> None:
    aborted = copy.deepcopy(report)
    aborted["run"]["aborted"] = "target unreachable: ConnectError"
    assert badge(aborted)["color"] == "lightgrey"
    jsonschema.validate(json.loads(render_badge(report)), BADGE_SCHEMA)


# --- diff ---------------------------------------------------------------------------------------


def test_diff_sorts_changes(report: dict[str, Any], previous: dict[str, Any]) -> None:
    diff = diff_reports(previous, report)
    assert [c.id for c in diff.regressions] == ["CHAT-004", "CHAT-STREAM-003", "CMPL-001"]
    assert [c.id for c in diff.fixes] == ["MODELS-004"]
    assert [c.id for c in diff.added] == ["AUTH-001"]
    assert [c.id for c in diff.removed] == ["MODELS-008"]
    assert diff.score_change == -19.1  # CHAT-STREAM-003, CMPL-001 are SHOULD now
    assert diff.exit_code == 1


def test_diff_of_a_fix_only_exits_0(report: dict[str, Any]) -> None:
    fixed = with_outcome(report, "ERR-001", "PASS")
    diff = diff_reports(report, fixed)
    assert diff.exit_code == 0
    assert [c.id for c in diff.fixes] == ["ERR-001"]
    text = render_diff_text(diff)
    assert "Fixes (1):" in text
    assert "Regressions" not in text
    assert text.endswith("no regressions\n")


def test_diff_between_bad_outcomes_is_not_a_regression(report: dict[str, Any]) -> None:
    diff = diff_reports(report, with_outcome(report, "ERR-001", "TIMEOUT", "slow"))
    assert diff.exit_code == 0
    assert [(c.old, c.new) for c in diff.changes] == [("FAIL", "TIMEOUT")]


def write(tmp_path: Path, name: str, data: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_cli_diff_exit_codes(
    tmp_path: Path, report: dict[str, Any], previous: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = write(tmp_path, "old.json", previous), write(tmp_path, "new.json", report)
    assert main(["diff", old, new]) == 1
    assert "Regressions (3):" in capsys.readouterr().out
    fixed = write(tmp_path, "fixed.json", with_outcome(report, "ERR-001", "PASS"))
    assert main(["diff", new, fixed, "--format", "md"]) == 0
    assert "### Fixes (1)" in capsys.readouterr().out
    assert main(["diff", new, new]) == 0


# --- merge --------------------------------------------------------------------------------------


def test_merge_lists_both_providers(report: dict[str, Any], previous: dict[str, Any]) -> None:
    other = copy.deepcopy(previous)
    other["target"]["name"] = "other-provider"
    matrix = build_matrix([report, other])
    assert matrix.names == ["acme-gateway", "other-provider"]
    text = render_merge_markdown(matrix)
    assert "|  | acme-gateway | other-provider |" in text
    assert "| `MODELS-008` MUST Retrieving an unknown model is a 404 |  | ✅ |" in text  # blank: not run
    assert "| **score** | 57.1 | 76.2 |" in text
    page = render_merge_html(matrix)
    assert "acme-gateway" in page
    assert "other-provider" in page
    for rid in {r["id"] for r in report["results"] + other["results"]}:
        assert f'id="req-{rid}"' in page


def test_merge_disambiguates_repeated_names(report: dict[str, Any], previous: dict[str, Any]) -> None:
    names = build_matrix([report, previous]).names
    assert names == ["acme-gateway (2026-01-15T09:30:00+00:00)", "acme-gateway (2026-01-08T09:30:00+00:00)"]


def test_cli_merge_and_report(
    tmp_path: Path, report: dict[str, Any], previous: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = write(tmp_path, "a.json", report), write(tmp_path, "b.json", previous)
    assert main(["merge", a, b, "--format", "html", "--out", str(tmp_path / "m.html")]) == 0
    assert (tmp_path / "m.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["report", a, "--format", "md"]) == 0
    assert capsys.readouterr().out == render_markdown(report)
    assert main(["report", a, "--format", "junit", "--out", str(tmp_path / "out" / "junit.xml")]) == 0
    assert (tmp_path / "out" / "junit.xml").read_text(encoding="utf-8") == render_junit(report)


def test_cli_rejects_what_is_not_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.json").write_text('{"schema_version": "1.0"}', encoding="utf-8")
    (tmp_path / "text.json").write_text("not json", encoding="utf-8")
    assert main(["report", str(tmp_path / "bad.json"), "--format", "md"]) == 2
    assert "not a valid oai-conformance report" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "text.json"), "--format", "md"]) == 2
    assert main(["diff", str(tmp_path / "missing.json"), str(tmp_path / "bad.json")]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["report", str(tmp_path / "bad.json"), "--format", "pdf"])
    assert exc.value.code == 2


# --- a real run: every renderer over a report the suite produced ---------------------------------


@pytest.fixture(scope="module")
def real_report(reference_server: ReferenceServer) -> dict[str, Any]:
    return score(reference_server.fault_base_url("stream-no-done", "error-flat-body"), TEST_KEY)


def test_every_format_renders_a_real_report(real_report: dict[str, Any]) -> None:
    ids = [row["id"] for row in real_report["results"]]
    failing = [row["id"] for row in real_report["results"] if row["outcome"] in ("FAIL", "TIMEOUT")]
    problems = {row["id"]: row["message"] for row in real_report["results"] if row["outcome"] != "PASS"}
    assert {"CHAT-STREAM-003", "ERR-001"} <= set(failing), problems
    markdown = render_markdown(real_report)
    summary_part = markdown.split("\n<details>\n")[0]
    assert [rid for rid in failing if f"`{rid}`" not in summary_part] == []
    assert len(ET.fromstring(render_junit(real_report)).findall(".//testcase")) == len(ids)
    page = render_html(real_report)
    assert [rid for rid in ids if f'id="req-{rid}"' not in page] == []
    assert TEST_KEY not in page + markdown + render_junit(real_report)
    jsonschema.validate(badge(real_report), BADGE_SCHEMA)
    assert badge(real_report)["color"] == "red"


# --- CI integration files ---------------------------------------------------------------------


def test_action_is_a_composite_action_with_declared_inputs() -> None:
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    action = yaml.safe_load(text)
    assert action["runs"]["using"] == "composite"
    inputs = set(action["inputs"])
    expected = {"base-url", "api-key", "chat-model", "completion-model", "embedding-model", "fail-on", "min-score"}
    assert expected | {"baseline", "out", "python-version", "version", "target", "config"} <= inputs
    assert set(re.findall(r"inputs\.([a-z-]+)", text)) <= inputs
    assert {"score", "client-compatible", "spec-conformant"} <= set(action["outputs"])
    for step in action["runs"]["steps"]:
        # Inputs reach shell scripts through env only (no script injection through ${{ }}).
        assert "${{" not in step.get("run", ""), step.get("name")
    uses = [step.get("uses", "") for step in action["runs"]["steps"]]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    assert "github.action_path" in text
    assert "GITHUB_STEP_SUMMARY" in text


# --- scripts/check_html.py (no Chromium needed) ----------------------------------------------------


def _check_html_module() -> Any:
    spec = importlib.util.spec_from_file_location("check_html", ROOT / "scripts" / "check_html.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_check_html_skips_without_chromium(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    check_html = _check_html_module()
    assert check_html.main([str(tmp_path / "report.html"), "--chromium", str(tmp_path / "no-chromium")]) == 0
    assert capsys.readouterr().out.strip() == "skipped: chromium not installed"


def test_check_html_verifies_the_dom(report: dict[str, Any]) -> None:
    check_html = _check_html_module()
    page = render_html(report)
    ids = check_html.expected_ids(page, None)
    assert ids == [row["id"] for row in report["results"]]
    # The source is what a browser gets before the script runs: the "ready" marker is what is missing.
    assert check_html.verify_dom(page, ids) == ['the page\'s script did not finish (no data-js="ready" on <html>)']
    rendered = page.replace('<html lang="en">', '<html lang="en" data-js="ready">')
    assert check_html.verify_dom(rendered, ids) == []
    assert check_html.verify_dom(rendered.replace("CHAT-004", "CHAT-XXX"), ids) == [
        "1 requirement id(s) missing: CHAT-004"
    ]


# --- breaks: {client, how, shown_by} since schema 1.1; plain strings in older reports ---------------


def test_report_rows_carry_breaks_as_objects(report: dict[str, Any]) -> None:
    row = next(row for row in report["results"] if row["id"] == "ERR-001")
    assert report["schema_version"] == "1.1"
    assert row["breaks"][0] == {
        "client": "openai-python",
        "how": "the APIStatusError's .type, .code and .param are None",
        "shown_by": "SDK-PY-011",
    }


def test_an_older_report_with_string_breaks_still_renders(previous: dict[str, Any]) -> None:
    assert previous["schema_version"] == "1.0"
    assert all(isinstance(entry, str) for row in previous["results"] for entry in row["breaks"])
    validate_report(previous)
    failing = with_outcome(previous, "ERR-001", "FAIL", "no envelope")
    text = render_markdown(failing)
    assert "breaks: openai-python (.code/.type/.param are None); openai-node" in text
    assert render_junit(failing)
    assert render_html(failing)
