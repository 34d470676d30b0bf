"""Re-issue, with curl, every request behind a failure in a report.json, and keep the raw answers.

    python replay.py reports/<server>/report.json --api-key KEY --out reports/<server>/evidence.txt

For each requirement whose outcome is FAIL, TIMEOUT or ERROR, the exchanges recorded as its evidence
are sent again to the (still running) server with ``curl -sS -i`` exactly as recorded: method, URL,
content type, accept, organization and body; the Authorization header is restored from ``--api-key``
where the report redacted it, and kept as recorded otherwise (the wrong-key probe) or left out (the
no-key probe). The curl command and the raw status line, headers and body are written to ``--out``.
This is the raw evidence the baselines cite; a person reads it against the documented contract
before a failure is published.

Only loopback URLs are replayed: the peers run on 127.0.0.1.
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

PROBLEMS = ("FAIL", "TIMEOUT", "ERROR")
REDACTED = "[REDACTED]"
MAX_PER_REQUIREMENT = 3
MAX_ANSWER_CHARS = 3000
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Raw(str):
    """A command-line word that is already quoted for the shell."""


def curl_args(evidence: dict, api_key: str) -> tuple[list[str], list[str]]:
    """The curl command to run, and the same command as printed (the key shown as $KEY)."""
    headers = {k.lower(): v for k, v in (evidence.get("request_headers") or {}).items()}
    body = evidence.get("request_body")
    streamed = "text/event-stream" in headers.get("accept", "") or (body is not None and '"stream": true' in body)
    streamed = streamed or (body is not None and '"stream":true' in body)
    run = ["curl", "-sS", "-i", "--max-time", "30", "-X", evidence["method"]]
    if streamed:
        run.append("-N")
    shown = list(run)
    for name in ("content-type", "accept", "openai-organization", "authorization"):
        value = headers.get(name)
        if value is None:
            continue
        if name == "authorization" and REDACTED in value:
            run += ["-H", f"authorization: {value.replace(REDACTED, api_key)}"]
            shown += ["-H", f"authorization: {value.replace(REDACTED, '$KEY')}"]
            continue
        run += ["-H", f"{name}: {value}"]
        shown += ["-H", f"{name}: {value}"]
    if body is not None:
        # the body goes through stdin: it may hold bytes an argument cannot (a NUL from a fuzzed request)
        run += ["--data-binary", "@-"]
        printable = body.isprintable() or all(ch.isprintable() or ch in "\r\n\t" for ch in body)
        shown += ["--data-binary", body if printable else Raw("$'" + body.encode("unicode_escape").decode() + "'")]
    run.append(evidence["url"])
    shown.append(evidence["url"])
    return run, shown


def replay(evidence: dict, api_key: str) -> str:
    host = urlsplit(evidence["url"]).hostname or ""
    run, shown = curl_args(evidence, api_key)
    body = evidence.get("request_body")
    stdin = body.encode("utf-8", errors="surrogateescape") if body is not None else None
    printed = " ".join(part if isinstance(part, Raw) else shlex.quote(part) for part in shown)
    printed = printed.replace("'$KEY'", '"$KEY"')
    if host not in LOOPBACK:
        return f"$ {printed}\n(not replayed: {host} is not a loopback address)\n"
    try:
        done = subprocess.run(run, input=stdin, capture_output=True, timeout=40, check=False)
        answer = done.stdout.decode("utf-8", errors="replace").replace("\r\n", "\n")
        if done.returncode:
            answer += f"\n(curl exit {done.returncode}: {done.stderr.decode(errors='replace').strip()})"
    except subprocess.TimeoutExpired:
        answer = "(no complete answer within 40 s)"
    if api_key:
        answer = answer.replace(api_key, REDACTED)
    if len(answer) > MAX_ANSWER_CHARS:
        answer = answer[:MAX_ANSWER_CHARS] + f"\n… ({len(answer) - MAX_ANSWER_CHARS} more characters)"
    return f"$ {printed}\n{answer.rstrip()}\n"


def exchanges(row: dict) -> list[dict]:
    found: list[dict] = []
    for check in row["checks"]:
        if check["outcome"] not in PROBLEMS or not check.get("violation"):
            continue
        for item in check["violation"].get("evidence") or []:
            if item.get("method") and item.get("url"):
                found.append(item)
    return found[:MAX_PER_REQUIREMENT]


def render(report: dict, api_key: str) -> str:
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
            key = json.dumps([item["method"], item["url"], item.get("request_headers"), item.get("request_body")])
            if key in seen:
                lines.append(f"(same request as under {seen[key]})")
                continue
            seen[key] = row["id"]
            lines.append(replay(item, api_key))
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
    text = render(report, args.api_key)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
