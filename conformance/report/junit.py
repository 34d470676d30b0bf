"""JUnit XML: one ``<testcase>`` per requirement, for CI test tabs (GitLab, Jenkins, Azure, GitHub actions).

classname is the capability and name is ``"ID title"``. FAIL and TIMEOUT become ``<failure>``, ERROR
(the suite broke) ``<error>``, SKIP and UNSUPPORTED ``<skipped>``. Built with ElementTree so that
escaping is right whatever the provider sent.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from conformance.report.view import (
    Report,
    Row,
    breaks_text,
    client_readiness,
    exchange_line,
    first_line,
    fmt_score,
    primary_check,
    provider,
)

# XML 1.0 cannot carry most C0 controls, lone surrogates or U+FFFE/U+FFFF even as character
# references; a provider's body may contain them, so they are shown as \xNN / \uNNNN instead.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(value: object) -> str:
    return _NOT_XML.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", str(value)
    )


def render_junit(report: Report) -> str:
    results = report["results"]
    counts = report["summary"]["counts"]
    stats = {
        "tests": str(len(results)),
        "failures": str(counts["FAIL"] + counts["TIMEOUT"]),
        "errors": str(counts["ERROR"]),
        "skipped": str(counts["SKIP"] + counts["UNSUPPORTED"]),
        "time": f"{report['run']['duration_s']:.3f}",
    }
    root = ET.Element("testsuites", {"name": "oai-conformance", **stats})
    suite = ET.SubElement(root, "testsuite", {"name": _clean(f"oai-conformance: {provider(report)}"), **stats})
    if report["run"].get("started"):
        suite.set("timestamp", report["run"]["started"])
    properties = ET.SubElement(suite, "properties")
    for name, value in _properties(report):
        ET.SubElement(properties, "property", {"name": name, "value": _clean(value)})
    for row in results:
        suite.append(_testcase(row))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _properties(report: Report) -> list[tuple[str, str]]:
    summary = report["summary"]
    props = [
        ("provider", provider(report)),
        ("base_url", report["target"]["base_url"]),
        ("score", fmt_score(summary["score"])),
        ("client_compatible", str(summary["verdicts"]["client_compatible"]).lower()),
        ("spec_conformant", str(summary["verdicts"]["spec_conformant"]).lower()),
        ("suite_version", report["suite"]["version"]),
        ("catalogue_version", str(report["suite"]["catalogue_version"])),
        ("requests", str(report["usage"]["requests"])),
        ("completion_tokens", str(report["usage"]["completion_tokens"])),
    ]
    for client, status, failing in client_readiness(report):
        props.append((f"readiness.{client}", status + (f" ({', '.join(failing)})" if failing else "")))
    if report["run"]["aborted"]:
        props.append(("aborted", report["run"]["aborted"]))
    return props


def _testcase(row: Row) -> ET.Element:
    seconds = sum(check["duration_s"] for check in row["checks"])
    case = ET.Element(
        "testcase",
        {
            "classname": _clean(row["capability"]),
            "name": _clean(f"{row['id']} {row['title']}"),
            "time": f"{seconds:.3f}",
        },
    )
    outcome = row["outcome"]
    if outcome in ("FAIL", "TIMEOUT"):
        child = ET.SubElement(case, "failure", {"message": _clean(_headline(row)), "type": outcome})
        child.text = _clean(_details(row))
    elif outcome == "ERROR":
        child = ET.SubElement(case, "error", {"message": _clean(_headline(row)), "type": "ERROR"})
        child.text = _clean(_details(row))
    elif outcome in ("SKIP", "UNSUPPORTED"):
        reason = first_line(row["message"])
        ET.SubElement(case, "skipped", {"message": _clean(f"{outcome}: {reason}" if reason else outcome)})
    return case


def _headline(row: Row) -> str:
    check = primary_check(row)
    found = check["violation"] if check else None
    return f"{row['level']}: {found['title'] if found else first_line(row['message']) or row['outcome']}"


def _details(row: Row) -> str:
    check = primary_check(row)
    found: dict[str, Any] | None = check["violation"] if check else None
    lines = [f"{row['id']} ({row['level']}) {row['title']}", f"endpoint: {row['endpoint']}"]
    if found:
        lines.append(found["title"])
        if found.get("pointer"):
            lines.append(f"at: {found['pointer']}")
        if found.get("expected") is not None:
            lines.append(f"expected: {found['expected']}")
        if found.get("actual") is not None:
            lines.append(f"received: {found['actual']}")
        if found.get("detail"):
            lines.append(found["detail"])
        lines.extend(f"evidence: {exchange_line(evidence)}" for evidence in found.get("evidence", []))
    elif row["message"]:
        lines.append(row["message"])
    if row["breaks"] and row["outcome"] != "ERROR":
        lines.append(f"breaks: {'; '.join(breaks_text(row))}")
    return "\n".join(lines)
