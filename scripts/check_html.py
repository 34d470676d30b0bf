#!/usr/bin/env python3
"""Open a report.html in headless Chromium and check the rendered DOM.

    python scripts/check_html.py conformance-report/report.html [--report report.json] [--chromium PATH]

Checks that, after the page's own script ran, the DOM still holds the summary (score and verdicts),
every requirement id, and the marker the script sets when it finished (``data-js="ready"``). The
requirement ids come from ``--report`` (default: report.json next to the page), else from the page.

Exit 0 when every check holds, 1 when one does not; 0 with "skipped: chromium not installed" when
there is no Chromium, so that this never makes a machine without a browser fail.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

DEFAULT_CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
_ROW_ID = re.compile(r'<tr id="req-([A-Z0-9-]+)"')


def dump_dom(chromium: str, page: Path, timeout: float = 60.0) -> str:
    # A fresh profile: no extensions, no cached state, nothing left behind.
    with tempfile.TemporaryDirectory(prefix="oai-conformance-chromium-") as profile:
        command = [chromium, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri()]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return done.stdout


def expected_ids(page_source: str, report_path: Path | None) -> list[str]:
    if report_path is not None and report_path.exists():
        report = json.loads(report_path.read_text(encoding="utf-8"))
        return [row["id"] for row in report["results"]]
    return _ROW_ID.findall(page_source)


def verify_dom(dom: str, ids: list[str]) -> list[str]:
    """Problems found in the rendered DOM (empty when it is fine)."""
    problems = []
    if 'id="summary"' not in dom or 'id="score"' not in dom:
        problems.append("the summary (score and verdicts) is missing")
    if "client-compatible" not in dom or "spec-conformant" not in dom:
        problems.append("the verdicts are missing")
    if 'data-js="ready"' not in dom:
        problems.append('the page\'s script did not finish (no data-js="ready" on <html>)')
    missing = [rid for rid in ids if rid not in dom]
    if missing:
        problems.append(f"{len(missing)} requirement id(s) missing: {', '.join(missing[:10])}")
    if not ids:
        problems.append("no requirement ids to look for")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page", type=Path, help="the report.html to open")
    parser.add_argument("--report", type=Path, help="the report.json it was rendered from (default: next to it)")
    parser.add_argument("--chromium", default=DEFAULT_CHROMIUM, help=f"browser binary (default: {DEFAULT_CHROMIUM})")
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        print("skipped: chromium not installed")
        return 0
    if not args.page.exists():
        print(f"error: {args.page} does not exist")
        return 1
    source = args.page.read_text(encoding="utf-8")
    ids = expected_ids(source, args.report or args.page.with_name("report.json"))
    try:
        dom = dump_dom(args.chromium, args.page)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"error: could not render {args.page}: {exc}")
        return 1
    problems = verify_dom(dom, ids)
    for problem in problems:
        print(f"FAIL: {problem}")
    if problems:
        return 1
    print(f"ok: {args.page} renders with its summary and all {len(ids)} requirement ids")
    return 0


if __name__ == "__main__":
    sys.exit(main())
