"""What a pasted URL may mean, without a network: the candidate bases to probe, what was wrong with the URL given
the base that works, and the values to configure for it."""

from __future__ import annotations

import re

import httpx

from conformance.doctor.findings import ClientSettings, UrlProblem
from conformance.target import clean_base_url, strip_endpoint_suffix
from conformance.transport.urls import join_url

MAX_BASE_PROBES = 6

_V1_RUN = re.compile(r"(?:/v1){2,}(?=/|$)")
_HOST_ONLY_CLIENTS = "NextChat / ChatGPT-Next-Web and other clients that add /v1 themselves"


def clean_url(url: str) -> tuple[str, list[str]]:
    """The pasted URL without trailing slash, query or fragment, and notes on what was dropped.

    :func:`~conformance.target.clean_base_url` with the query dropped (noted, not echoed) and the URL kept out
    of its error messages; raises :class:`TargetConfigError` (a usage error) for something that is not an
    http(s) URL. Adds the doctor's note on a trailing slash.
    """
    cleaned, notes = clean_base_url(url, drop_query=True, quote=False)
    path = httpx.URL(url.strip()).path
    if path.endswith("/") and path != "/":
        notes.append(
            "the trailing slash is harmless for the official SDKs (they add one before joining); "
            "some other clients then send '//chat/completions'"
        )
    return cleaned, notes


def url_path(url: str) -> str:
    """The path of ``url`` without a trailing slash: the API prefix of a base (``/v1``, ``/api/v1``, or "")."""
    return httpx.URL(url).path.rstrip("/")


def _with_path(url: str, path: str) -> str:
    return str(httpx.URL(url).copy_with(path=path or "/", query=None, fragment=None)).rstrip("/")


def dedupe_v1(path: str) -> str:
    """Collapse repeated ``/v1`` segments: ``/v1/v1`` → ``/v1``, ``/api/v1/v1/x`` → ``/api/v1/x``."""
    return _V1_RUN.sub("/v1", path)


def candidate_bases(url: str) -> list[str]:
    """The bases worth probing for a pasted URL, most likely intent first.

    1. the URL as given (trailing slash stripped);
    2. the URL with a known endpoint suffix cut off (``/chat/completions``, ``/models``, ...);
    3. that plus ``/v1`` when it does not already end in ``/v1``;
    4. when the path repeats ``/v1`` (``/v1/v1``), the de-duplicated form;
    5. last, when it ends in ``/v1``, the same without it (for providers served at the root).
    """
    given, _ = clean_url(url)
    stem_path, _ = strip_endpoint_suffix(url_path(given))
    stem = _with_path(given, stem_path)
    bases = [given, stem]
    if not stem_path.endswith("/v1"):
        bases.append(_with_path(given, stem_path + "/v1"))
    deduped = dedupe_v1(stem_path)
    if deduped != stem_path:
        bases.append(_with_path(given, deduped))
    if deduped.endswith("/v1"):
        bases.append(_with_path(given, deduped[: -len("/v1")]))
    unique: list[str] = []
    for base in bases:
        if base not in unique:
            unique.append(base)
    return unique[:MAX_BASE_PROBES]


def explain_url(pasted: str, base: str) -> list[UrlProblem]:
    """What was wrong with ``pasted`` given that ``base`` is the base that works ([] when nothing was)."""
    given, _ = clean_url(pasted)
    if given == base:
        return []
    stem_path, suffix = strip_endpoint_suffix(url_path(given))
    base_path = url_path(base)
    problems: list[UrlProblem] = []
    if suffix is not None:
        problems.append(
            UrlProblem(
                "endpoint-url",
                f"You pasted a full endpoint URL (ending in {suffix}) as the base URL. The official SDKs append "
                f"the operation path to base_url, so they would call {join_url(given, suffix)}.",
            )
        )
    stem = _with_path(given, stem_path)
    deduped = dedupe_v1(stem_path)
    if deduped != stem_path and base_path in (deduped, deduped.removesuffix("/v1")):
        problems.append(
            UrlProblem(
                "doubled-v1",
                f"The path repeats /v1 ({stem_path}): usually /v1 was added to a base that already had it, or a "
                f"base with /v1 was given to a client that appends /v1 itself. With it, requests go to "
                f"{join_url(stem, 'chat/completions')}.",
            )
        )
    elif base_path == stem_path + "/v1":
        problems.append(
            UrlProblem(
                "missing-v1",
                f"The URL lacks /v1. The official SDKs never add /v1: with base_url {stem} they call "
                f"{join_url(stem, 'chat/completions')}, which this provider does not serve. The SDK needs {base}.",
            )
        )
    if base_path == deduped.removesuffix("/v1") and deduped.endswith("/v1"):
        problems.append(
            UrlProblem(
                "extra-v1",
                f"This provider serves its API without /v1, at {base}; with the /v1 the SDK would call "
                f"{join_url(_with_path(given, deduped), 'chat/completions')}.",
            )
        )
    if not problems:
        problems.append(UrlProblem("other", f"The pasted URL is not a working base; {base} is."))
    return problems


def client_settings(base: str) -> ClientSettings:
    """The exact values for the official SDKs, and for clients that add /v1 themselves."""
    if url_path(base).endswith("/v1"):
        host_only: str | None = base[: -len("/v1")]
        note = f"{_HOST_ONLY_CLIENTS}: {host_only}"
    else:
        host_only = None
        note = (
            f"{_HOST_ONLY_CLIENTS} cannot reach this provider: its base does not end in /v1, and they "
            "always append /v1/chat/completions (use a client that takes a full base URL)"
        )
    return ClientSettings(
        base_url=base,
        python=f'OpenAI(base_url="{base}")',
        node=f'new OpenAI({{ baseURL: "{base}" }})',
        env=f"OPENAI_BASE_URL={base}",
        host_only=host_only,
        host_only_note=note,
    )
