"""Request bodies of the evidence: where a report keeps them, and reading them back byte for byte.

A report keeps every evidence request whole (a replay must send the same bytes), but its size stays
sane: a body larger than :data:`INLINE_BODY_BYTES`, or any body once the report already holds
:data:`INLINE_BUDGET_BYTES` of them, is stored whole beside report.json (``evidence/<sha256>.bin``) and
the evidence item names the file (``request_body_file``, ``request_body_sha256``). Nothing is ever cut.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

INLINE_BODY_BYTES: Final = 64 * 1024
INLINE_BUDGET_BYTES: Final = 2 * 1024 * 1024
EVIDENCE_DIR: Final = "evidence"


class BodyUnavailable(Exception):
    """The body an evidence item names cannot be read back as it was sent (a missing or altered file)."""


def evidence_items(report: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """Every evidence item of the report, with its result row and check."""
    for row in report.get("results") or []:
        for check in row.get("checks") or []:
            violation = check.get("violation") or {}
            for item in violation.get("evidence") or []:
                yield row, check, item


def inline_body(item: dict[str, Any]) -> bytes | None:
    """The body an evidence item holds in the report itself (text or base64), or None."""
    if item.get("request_body_base64") is not None:
        return base64.b64decode(item["request_body_base64"])
    text = item.get("request_body")
    return None if text is None else text.encode("utf-8", errors="surrogateescape")


def read_body(item: dict[str, Any], report_dir: Path) -> bytes | None:
    """The body as it was kept: inline, or from the file beside the report (its digest checked)."""
    name = item.get("request_body_file")
    if not name:
        return inline_body(item)
    path = (report_dir / name).resolve()
    if report_dir.resolve() not in path.parents:
        raise BodyUnavailable(f"{name} is not beside the report")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BodyUnavailable(f"cannot read {name}: {exc.strerror or exc}") from exc
    digest = item.get("request_body_sha256")
    if digest and hashlib.sha256(data).hexdigest() != digest:
        raise BodyUnavailable(f"{name} is not the body that was sent (its SHA-256 differs)")
    return data


def store_large_bodies(report: dict[str, Any], report_dir: Path) -> list[Path]:
    """Move the bodies too large to keep in the report into files beside it (the report is changed in
    place to name them); the files written."""
    written: list[Path] = []
    spent = 0
    for _, _, item in evidence_items(report):
        data = inline_body(item)
        if data is None:
            continue
        if len(data) <= INLINE_BODY_BYTES and spent + len(data) <= INLINE_BUDGET_BYTES:
            spent += len(data)
            continue
        digest = hashlib.sha256(data).hexdigest()
        name = f"{EVIDENCE_DIR}/{digest}.bin"
        path = report_dir / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            written.append(path)
        item["request_body"] = None
        item.pop("request_body_base64", None)
        item["request_body_file"] = name
        item["request_body_sha256"] = digest
    return written
