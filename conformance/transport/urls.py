"""Where a request goes: the base URL joined as openai-python joins it, and the origin the key is locked to."""

from __future__ import annotations

import httpx


def join_url(base_url: str, path: str) -> str:
    """Join like openai-python's ``_prepare_url`` (copied from httpx ``_merge_url``).

    The base gets a trailing slash if it has none, and the relative path is appended without its
    leading slash: ``http://h/v1`` + ``/chat/completions`` → ``http://h/v1/chat/completions``. No
    ``/v1`` is ever added. Absolute URLs are returned unchanged.
    """
    if path[:8].lower().startswith(("http://", "https://")):  # schemes are case-insensitive
        return path
    base = base_url if base_url.endswith("/") else base_url + "/"
    return base + path.lstrip("/")


def origin(url: str) -> tuple[str, str, int]:
    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return (parsed.scheme, parsed.host, port)
