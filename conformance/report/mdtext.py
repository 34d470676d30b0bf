"""Markdown quoting for text that comes from a provider (bodies, headers) or the catalogue.

GitHub renders raw HTML and Markdown in PR comments and step summaries; a provider's error body
such as ``</details><script>`` or ``| x |`` must neither break the layout nor be interpreted. Inline
text is backslash-escaped (CommonMark allows escaping any ASCII punctuation); anything verbatim goes
into a code span, where HTML is never interpreted.
"""

from __future__ import annotations

import re

from conformance.report.view import shorten

# Enough to neutralise emphasis, links, code, HTML, tables and strike-through in inline text.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
_BACKTICKS = re.compile(r"`+")


def one_line(text: str) -> str:
    # A newline would end a list item or a table row; ⏎ keeps the information visible.
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", " ⏎ ")


def text(value: object, limit: int | None = None) -> str:
    """Plain inline text, on one line, with every Markdown-significant character escaped."""
    flat = one_line(str(value))
    if limit is not None:
        flat = shorten(flat, limit)
    return _INLINE_SPECIAL.sub(r"\\\1", flat)


def code(value: object, limit: int | None = None, *, in_table: bool = False) -> str:
    """A code span holding ``value`` verbatim (on one line), fenced by more backticks than it contains."""
    flat = one_line(str(value))
    if limit is not None:
        flat = shorten(flat, limit)
    if not flat:
        return "(empty)"
    if in_table:
        # GFM splits table cells before parsing code spans; \| is the documented way to keep a pipe.
        flat = flat.replace("|", "\\|")
    longest = max((len(run) for run in _BACKTICKS.findall(flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def table(header: list[str], rows: list[list[str]], align: str | None = None) -> list[str]:
    """A GFM table; cells must already be escaped. ``align`` is one of l/r/c per column."""
    marks = {"l": "---", "r": "---:", "c": ":---:"}
    spec = align or "l" * len(header)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks[a] for a in spec) + " |"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines
