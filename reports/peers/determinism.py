"""Compare the per-requirement outcomes of several report.json files of one server.

    python determinism.py RUN1/report.json RUN2/report.json RUN3/report.json [--json OUT]

Prints one line per run (wall time, requests, score, outcome counts), then every requirement whose
outcome is not the same in all runs, with its outcome and message in each run. Exit status: 0 when
every requirement has the same outcome in every run, 1 when any differs, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path


def load(path: str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def outcomes(report: dict) -> dict[str, tuple[str, str]]:
    return {
        row["id"]: (row["outcome"], (row.get("message") or "").splitlines()[0][:160] if row.get("message") else "")
        for row in report["results"]
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+")
    parser.add_argument("--json", help="also write the comparison here as JSON")
    args = parser.parse_args(argv)
    if len(args.reports) < 2:
        parser.error("give at least two report.json files")
    reports = [load(path) for path in args.reports]
    runs = [outcomes(report) for report in reports]
    summary = []
    for number, (report, run) in enumerate(zip(reports, runs, strict=True), 1):
        counts = Counter(outcome for outcome, _ in run.values())
        wall = report["run"].get("duration_s")
        score = report["summary"].get("score")
        requests = report.get("usage", {}).get("requests")
        summary.append(
            {"run": number, "duration_s": wall, "score": score, "requests": requests, "counts": dict(counts)}
        )
        shown = " ".join(f"{key}={counts[key]}" for key in sorted(counts))
        print(f"run {number}: {wall} s, {requests} requests, score {score}, {shown}")
    ids = sorted(set().union(*runs))
    differing = []
    for rid in ids:
        seen = [run.get(rid, ("ABSENT", "")) for run in runs]
        if len({outcome for outcome, _ in seen}) > 1:
            differing.append(
                {"id": rid, "outcomes": [outcome for outcome, _ in seen], "messages": [message for _, message in seen]}
            )
    name = reports[0]["target"].get("name")
    if differing:
        print(f"{name}: {len(differing)} of {len(ids)} requirements differ between the {len(runs)} runs:")
        for row in differing:
            print(f"  {row['id']}: " + " / ".join(row["outcomes"]))
            for number, (outcome, message) in enumerate(zip(row["outcomes"], row["messages"], strict=True), 1):
                if message:
                    print(f"      run {number} {outcome}: {message}")
    else:
        print(f"{name}: all {len(ids)} requirements have the same outcome in all {len(runs)} runs")
    if args.json:
        document = {"server": name, "runs": summary, "differing": differing}
        Path(args.json).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
