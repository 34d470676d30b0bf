"""Re-issue, with curl, every request behind a failure in a report.json, and keep the raw answers.

    python replay.py reports/<server>/report.json --api-key KEY --out reports/<server>/evidence.txt

For each requirement whose outcome is FAIL, TIMEOUT or ERROR, the exchanges recorded as its evidence
are sent again to the (still running) server with ``curl -sS -i`` exactly as recorded, by the rule of
``oai-conformance evidence`` (conformance/replay/plan.py): method, URL, every recorded header, the full
body, and the auth kind the request carried -- ``--api-key`` where it carried the key, the suite's wrong
key where it carried that, no Authorization where it had none, the recorded value otherwise. A request
that cannot be sent as it was (a body a report of schema 1.1 cut) is listed, not sent. The curl command
and the raw status line, headers and body are written to ``--out``. This is the raw evidence the
baselines cite; a person reads it against the documented contract before a failure is published.
(``oai-conformance evidence`` does the same through the suite's transport and says per request whether
the answer reproduces the recorded one.)

Only loopback URLs are replayed: the peers run on 127.0.0.1. Run it with the Python that has the project
installed (_common.sh: helper_python).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from conformance.replay.plan import NotReplayable, Replay, rebuild

PROBLEMS = ("FAIL", "TIMEOUT", "ERROR")
REDACTED = "[REDACTED]"
MAX_PER_REQUIREMENT = 3
MAX_ANSWER_CHARS = 3000
LOOPBACK = ("127.0.0.1", "localhost", "::1")
SAME_REQUEST = ("auth", "request_headers", "request_body", "request_body_base64", "request_body_file")


class Raw(str):
    """A command-line word that is already quoted for the shell."""


def curl_args(again: Replay, api_key: str) -> tuple[list[str], list[str]]:
    """The curl command to run, and the same command as printed (the key shown as $KEY)."""
    run = ["curl", "-sS", "-i", "--max-time", "30", "-X", again.method]
    if again.stream:
        run.append("-N")
    if "accept-encoding" in again.headers:
        run.append("--compressed")  # sent as recorded; the raw answer is shown decoded
    shown = list(run)
    for name, value in again.headers.items():
        run += ["-H", f"{name}: {value}"]
        shown += ["-H", f"{name}: {value.replace(api_key, '$KEY') if api_key else value}"]
    if again.body is not None:
        # the body goes through stdin: it may hold bytes an argument cannot (a NUL from a fuzzed request)
        run += ["--data-binary", "@-"]
        body = again.body.decode("utf-8", errors="replace")
        printable = all(ch.isprintable() or ch in "\r\n\t" for ch in body) and len(body) <= MAX_ANSWER_CHARS
        if printable:
            shown += ["--data-binary", body]
        else:
            shown += ["--data-binary", Raw(f"@body ({len(again.body)} bytes, as recorded in report.json)")]
    run.append(again.url)
    shown.append(again.url)
    return run, shown


def replay(evidence: dict, report: dict, report_dir: Path, api_key: str) -> str:
    base = report["target"]["base_url"]
    try:
        again = rebuild(
            evidence,
            recorded_base=base,
            base_url=base,
            api_key=api_key or None,
            headers={},
            report_dir=report_dir,
            schema=str(report.get("schema_version", "")),
        )
    except NotReplayable as exc:
        return f"{evidence['method']} {evidence['url']}\n(not replayed: {exc})\n"
    host = urlsplit(again.url).hostname or ""
    run, shown = curl_args(again, api_key)
    printed = " ".join(part if isinstance(part, Raw) else shlex.quote(part) for part in shown)
    printed = printed.replace("'$KEY'", '"$KEY"')
    notes = "".join(f"# note: {note}\n" for note in again.notes)
    if host not in LOOPBACK:
        return f"{notes}$ {printed}\n(not replayed: {host} is not a loopback address)\n"
    try:
        done = subprocess.run(run, input=again.body, capture_output=True, timeout=40, check=False)
        answer = done.stdout.decode("utf-8", errors="replace").replace("\r\n", "\n")
        if done.returncode:
            answer += f"\n(curl exit {done.returncode}: {done.stderr.decode(errors='replace').strip()})"
    except subprocess.TimeoutExpired:
        answer = "(no complete answer within 40 s)"
    if api_key:
        answer = answer.replace(api_key, REDACTED)
    if len(answer) > MAX_ANSWER_CHARS:
        answer = answer[:MAX_ANSWER_CHARS] + f"\n… ({len(answer) - MAX_ANSWER_CHARS} more characters)"
    return f"{notes}$ {printed}\n{answer.rstrip()}\n"


def exchanges(row: dict) -> list[dict]:
    found: list[dict] = []
    for check in row["checks"]:
        if check["outcome"] not in PROBLEMS or not check.get("violation"):
            continue
        for item in check["violation"].get("evidence") or []:
            if item.get("method") and item.get("url"):
                found.append(item)
    return found[:MAX_PER_REQUIREMENT]


def render(report: dict, api_key: str, report_dir: Path) -> str:
    target = report["target"]
    lines = [
        f"# Raw evidence for {target['name']}: every request behind a FAIL, TIMEOUT or ERROR in report.json,",
        f"# re-issued with curl against the running server on {dt.date.today().isoformat()}.",
        "# The suite's message comes first; then the curl command and the server's raw answer.",
        "",
    ]
    seen: dict[str, str] = {}
    for row in report["results"]:
        if row["outcome"] not in PROBLEMS:
            continue
        lines.append(f"=== {row['id']} ({row['level']}) {row['outcome']}: {row['title']}")
        lines += [f"    {line}" for line in (row["message"] or "").splitlines()[:6]]
        items = exchanges(row)
        if not items:
            lines.append("(no recorded exchange to replay)")
        for item in items:
            key = json.dumps([item[k] for k in ("method", "url")] + [item.get(k) for k in SAME_REQUEST], sort_keys=True)
            if key in seen:
                lines.append(f"(same request as under {seen[key]})")
                continue
            seen[key] = row["id"]
            lines.append(replay(item, report, report_dir, api_key))
        lines.append("")
    if len(lines) == 4:
        lines.append("(no failures)")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report")
    parser.add_argument("--api-key", default="", help="the key to restore where the report redacted it")
    parser.add_argument("--out", help="write here (default: standard output)")
    args = parser.parse_args(argv)
    report = json.loads(Path(args.report).read_text(encoding="utf-8"))
    text = render(report, args.api_key, Path(args.report).parent)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
