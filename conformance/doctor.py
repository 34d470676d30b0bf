"""``oai-conformance doctor``: from whatever URL a user pasted, find the base URL that works and say what to set.

The classic support cases this answers (see ``../shared/seeds``):

* a host, ``host/v1`` or ``host/v1/chat/completions`` pasted where a base URL belongs -- the official
  SDKs append the operation path to ``base_url`` verbatim and never add ``/v1``;
* a model that "does not exist" because it is called on the wrong endpoint (a fine-tuned completion
  model on ``/chat/completions``), or whose name is a near miss of a listed one;
* the facts a support ticket needs, with the key masked.

The module is split into pure functions (candidate bases, URL advice, near-miss matching, the model
conclusion: testable without a network), :func:`diagnose` which does the probing through
:class:`~conformance.transport.client.HttpClient`, and :func:`render` for the terminal.
"""

from __future__ import annotations

import difflib
import json
import platform
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import httpx
from rich.console import Console
from rich.text import Text

from conformance import __version__
from conformance.probes import ENDPOINTS, model_ids, probe_body
from conformance.target import ENDPOINT_SUFFIXES, MODEL_CAPABILITIES, Target, TargetConfigError
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange, Redactor
from conformance.transport.urls import join_url

__all__ = [
    "EXIT_MODEL",
    "EXIT_NO_BASE",
    "EXIT_OK",
    "EXIT_USAGE",
    "Attempt",
    "ClientSettings",
    "Diagnosis",
    "EndpointResult",
    "FailedRequest",
    "ModelFindings",
    "SupportTicket",
    "UrlProblem",
    "candidate_bases",
    "classify_listing",
    "clean_url",
    "client_settings",
    "conclude_model",
    "dedupe_v1",
    "diagnose",
    "explain_url",
    "mask_key",
    "near_misses",
    "render",
    "strip_endpoint_suffix",
]

EXIT_OK = 0  # a working base was found (and the model, if given, answers somewhere)
EXIT_MODEL = 1  # the base was found, but the key was refused or the model answers nowhere
EXIT_USAGE = 2  # the URL or an option is unusable
EXIT_NO_BASE = 3  # no candidate base answered GET /models

MAX_BASE_PROBES = 6
DEFAULT_TIMEOUT = 10.0
DETAIL_CHARS = 300  # one-line excerpts in the findings
TICKET_BODY_CHARS = 2000  # the error body in the support ticket

_V1_RUN = re.compile(r"(?:/v1){2,}(?=/|$)")
_KIND = {"chat": "a chat model", "completions": "a completion model", "embeddings": "an embedding model"}
_FIELD = {"chat": "`messages`", "completions": "`prompt`", "embeddings": "`input`"}
_RESPONSE_LIST = {"chat": "choices", "completions": "choices", "embeddings": "data"}
_HOST_ONLY_CLIENTS = "NextChat / ChatGPT-Next-Web and other clients that add /v1 themselves"


# -- data -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """One ``GET {base}/models`` probe of a candidate base and what it showed.

    ``outcome`` is one of: ``models`` (200 with a ``data`` array: the base works), ``key-rejected`` /
    ``key-missing`` (401 with a JSON body: the base is right, the credentials are not), ``not-found``,
    ``html`` (a web page, not the API), ``error-200`` (an error body with HTTP 200), ``not-a-model-list``,
    ``redirect``, ``http-error``, ``unreachable``, ``timeout`` or ``transport-error``.
    """

    base_url: str
    url: str
    status: int | None
    outcome: str
    detail: str

    @property
    def found(self) -> bool:
        return self.outcome in ("models", "key-rejected", "key-missing")


@dataclass(frozen=True)
class UrlProblem:
    """What was wrong with the pasted URL: ``endpoint-url``, ``doubled-v1``, ``missing-v1``, ``extra-v1``
    or ``other``."""

    kind: str
    message: str


@dataclass(frozen=True)
class ClientSettings:
    """The values to configure for the working base."""

    base_url: str
    python: str
    node: str
    env: str
    host_only: str | None  # for clients that take the URL without /v1 and add it themselves
    host_only_note: str


@dataclass(frozen=True)
class EndpointResult:
    """One minimal request for the model on one endpoint."""

    capability: str
    method: str
    path: str  # as the base's path plus the operation, e.g. "/v1/chat/completions"
    url: str
    status: int | None
    ok: bool
    message: str  # the provider's error verbatim (error.message, or a raw body excerpt); "" when ok
    request_id: str | None = None


@dataclass(frozen=True)
class ModelFindings:
    name: str
    listed: bool | None  # None when the model list could not be read
    near_misses: tuple[str, ...]
    endpoints: tuple[EndpointResult, ...]
    conclusion: str

    @property
    def answers_on(self) -> tuple[str, ...]:
        return tuple(result.capability for result in self.endpoints if result.ok)


@dataclass(frozen=True)
class FailedRequest:
    """The most relevant failing request, redacted, as a support ticket should quote it."""

    method: str
    url: str
    request_body: str | None
    status: int | None
    error_body: str
    request_id: str | None


@dataclass(frozen=True)
class SupportTicket:
    """The facts a provider's support needs (seed 003), never the full key."""

    tool: str
    openai_sdk: str
    python: str
    pasted_url: str
    base_url: str | None
    model: str | None
    time_utc: str
    api_key: str  # masked
    request: FailedRequest | None

    def lines(self) -> list[str]:
        rows = [
            ("tool", self.tool),
            ("openai SDK", self.openai_sdk),
            ("python", self.python),
            ("pasted URL", self.pasted_url),
            ("base URL", self.base_url or "none found"),
            ("model", self.model or "(none given)"),
            ("time (UTC)", self.time_utc),
            ("API key", self.api_key),
        ]
        if self.request is None:
            rows.append(("failing request", "none"))
        else:
            request = self.request
            rows.append(("request", f"{request.method} {request.url}"))
            if request.request_body:
                rows.append(("request body", request.request_body))
            rows.append(("status", str(request.status) if request.status is not None else "no HTTP answer"))
            if request.request_id:
                rows.append(("request id", request.request_id))
            rows.append(("response", request.error_body or "(empty body)"))
        return [f"{label + ':':<16}{value}" for label, value in rows]

    def text(self) -> str:
        return "\n".join(self.lines())


@dataclass(frozen=True)
class Diagnosis:
    """Everything ``doctor`` found. Every string in it is redacted: it never holds the API key."""

    pasted_url: str
    candidates: tuple[str, ...]
    attempts: tuple[Attempt, ...]
    base_url: str | None
    key_status: str  # "accepted", "not required", "rejected", "missing" or "unknown"
    url_problems: tuple[UrlProblem, ...]
    settings: ClientSettings | None
    listed_models: tuple[str, ...] | None
    model: ModelFindings | None
    notes: tuple[str, ...]
    ticket: SupportTicket
    requests: int

    @property
    def exit_code(self) -> int:
        if self.base_url is None:
            return EXIT_NO_BASE
        if self.key_status in ("rejected", "missing"):
            return EXIT_MODEL
        if self.model is not None and not self.model.answers_on:
            return EXIT_MODEL
        return EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        data = {"tool": "oai-conformance doctor", **asdict(self)}
        if self.model is not None:
            data["model"]["answers_on"] = list(self.model.answers_on)
        data["ticket"]["text"] = self.ticket.text()
        data["exit_code"] = self.exit_code
        return data


# -- pure functions: URLs ------------------------------------------------------------------------------


def clean_url(url: str) -> tuple[str, list[str]]:
    """The pasted URL without trailing slash, query or fragment, and notes on what was dropped.

    Raises :class:`TargetConfigError` (a usage error) for something that is not an http(s) URL.
    """
    raw = url.strip()
    if not raw:
        raise TargetConfigError("the URL is empty")
    if "://" not in raw:
        raise TargetConfigError("the URL must start with http:// or https://")
    try:
        parsed = httpx.URL(raw)
    except httpx.InvalidURL as exc:
        raise TargetConfigError(f"not a URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise TargetConfigError("the URL must start with http:// or https:// and name a host")
    if parsed.userinfo:
        # Not echoed: the user:password part is a secret.
        raise TargetConfigError("the URL carries credentials (user:password@); pass the key with --api-key instead")
    notes: list[str] = []
    if parsed.query:
        # Not echoed either: a query string may carry a key. openai-python appends the operation path
        # after the raw path *including* the query, so such a base cannot work with it.
        notes.append("the query string was dropped: the official SDKs cannot use a base URL with a query string")
    if parsed.path.endswith("/") and parsed.path != "/":
        notes.append(
            "the trailing slash is harmless for the official SDKs (they add one before joining); "
            "some other clients then send '//chat/completions'"
        )
    return str(parsed.copy_with(query=None, fragment=None)).rstrip("/"), notes


def _path(url: str) -> str:
    return httpx.URL(url).path.rstrip("/")


def _with_path(url: str, path: str) -> str:
    return str(httpx.URL(url).copy_with(path=path or "/", query=None, fragment=None)).rstrip("/")


def strip_endpoint_suffix(path: str) -> tuple[str, str | None]:
    """``/v1/chat/completions`` → (``/v1``, ``/chat/completions``); a path without one is returned as is."""
    path = path.rstrip("/")
    for suffix in ENDPOINT_SUFFIXES:
        if path.endswith(suffix):
            return path[: -len(suffix)], suffix
    return path, None


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
    stem_path, _ = strip_endpoint_suffix(_path(given))
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
    stem_path, suffix = strip_endpoint_suffix(_path(given))
    base_path = _path(base)
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
    if _path(base).endswith("/v1"):
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


# -- pure functions: models ----------------------------------------------------------------------------


def near_misses(model: str, available: Sequence[str], limit: int = 5) -> list[str]:
    """Listed names the user probably meant: case/whitespace-insensitive equality first, then prefix or
    suffix matches (``ref-chat-latest`` → ``ref-chat``, ``gpt-4o`` → ``openai/gpt-4o``), then difflib close
    matches. The exact name itself is never a near miss."""
    wanted = model.strip().lower()
    if not wanted:
        return []
    others = [name for name in dict.fromkeys(available) if name != model]
    lowered = {name: name.strip().lower() for name in others}
    found: list[str] = [name for name in others if lowered[name] == wanted]
    for name in others:
        low = lowered[name]
        shorter = min(len(low), len(wanted))
        if shorter >= 3 and low != wanted and (low.startswith(wanted) or wanted.startswith(low)):
            found.append(name)
    for name in others:
        low = lowered[name]
        shorter = min(len(low), len(wanted))
        if shorter >= 3 and low != wanted and (low.endswith(wanted) or wanted.endswith(low)) and name not in found:
            found.append(name)
    by_lower: dict[str, list[str]] = {}
    for name in others:
        by_lower.setdefault(lowered[name], []).append(name)
    for close in difflib.get_close_matches(wanted, list(by_lower), n=limit, cutoff=0.75):
        found.extend(by_lower[close])
    return list(dict.fromkeys(found))[:limit]


def _api_prefix(base: str) -> str:
    return _path(base)


def conclude_model(model: str, base: str, listed_models: Sequence[str] | None, answers_on: Sequence[str]) -> str:
    """One sentence: what the model is and where to call it, or that it is not served here."""
    prefix = _api_prefix(base)
    listed = None if listed_models is None else model in listed_models
    unlisted = ""
    if listed is False:
        unlisted = " GET /models does not list it, though: clients that pick from that list will not offer it."
    if len(answers_on) == 1:
        capability = answers_on[0]
        endpoint = f"{prefix}/{ENDPOINTS[capability]}"
        sentence = f"{model} is {_KIND[capability]}: call POST {endpoint} with {_FIELD[capability]}"
        if capability != "chat":
            sentence += f", not {prefix}/chat/completions"
        return sentence + "." + unlisted
    if answers_on:
        where = " and ".join(f"POST {prefix}/{ENDPOINTS[capability]}" for capability in answers_on)
        return f"{model} answers on {where}." + unlisted
    if listed:
        return (
            f"{model} is listed by GET {prefix}/models but answered on no endpoint: see the errors above "
            "(the key may lack access to it, or the provider's routing for it is broken)."
        )
    suggestions = near_misses(model, listed_models or ())
    if suggestions:
        others = f" (or {', '.join(suggestions[1:])})" if len(suggestions) > 1 else ""
        return f"{model} is not served here; did you mean {suggestions[0]}{others}?"
    if listed_models is None:
        return f"{model} answered on no endpoint, and the model list could not be read."
    if not listed_models:
        return (
            f"{model} is not served here, and GET {prefix}/models is empty: ask the provider for the exact "
            "model name to call (an empty list does not mean there are no models)."
        )
    sample = ", ".join(listed_models[:5]) + (", …" if len(listed_models) > 5 else "")
    return f"{model} is not served here, and nothing listed resembles it; GET {prefix}/models lists {sample}."


def mask_key(key: str | None) -> str:
    """At most the first 3 and last 4 characters (as the reference provider's ``mask_key``)."""
    if not key:
        return "not set"
    if len(key) < 12:
        return "***"
    return f"{key[:3]}{'*' * (len(key) - 7)}{key[-4:]}"


# -- reading answers ----------------------------------------------------------------------------------


def _one_line(text: str, limit: int = DETAIL_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _json(exchange: Exchange) -> Any:
    try:
        return exchange.json()
    except (ValueError, UnicodeDecodeError):
        return None


def _error_message(exchange: Exchange, redact: Redactor) -> str:
    """The provider's error verbatim: ``error.message`` (or a flat ``message``/``msg``/``detail``), else an
    excerpt of the raw body."""
    payload = _json(exchange)
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return redact(error["message"])
        if isinstance(error, str) and error:
            return redact(error)
        for key in ("message", "msg", "detail"):
            if isinstance(payload.get(key), str) and payload[key]:
                return redact(payload[key])
    text = exchange.text.strip()
    return redact(_one_line(text)) if text else "(empty body)"


def _transport(exchange: Exchange, redact: Redactor) -> tuple[str, str]:
    kind = {"connect": "unreachable", "timeout": "timeout"}.get(exchange.error or "", "transport-error")
    return kind, redact(f"{exchange.error}: {exchange.error_detail}")


def _is_html(exchange: Exchange) -> bool:
    return "html" in exchange.media_type or exchange.text.lstrip()[:15].lower().startswith(("<!doctype", "<html"))


def classify_listing(base: str, exchange: Exchange, redact: Redactor, *, key_given: bool) -> tuple[Attempt, list[str]]:
    """Judge one ``GET {base}/models`` answer; the model ids when it is a model list."""
    url = redact(exchange.url)
    status = exchange.status

    def attempt(outcome: str, detail: str) -> Attempt:
        return Attempt(base, url, status, outcome, detail)

    if not exchange.ok or status is None:
        outcome, detail = _transport(exchange, redact)
        return attempt(outcome, detail), []
    if status == 200:
        payload = _json(exchange)
        if isinstance(payload, dict) and isinstance(payload.get("data"), list):
            ids = model_ids(exchange)
            shown = "no models listed (empty list)" if not ids else f"{len(ids)} model{'s' * (len(ids) != 1)} listed"
            return attempt("models", f"200 · {shown}"), ids
        if isinstance(payload, dict) and ("error" in payload or payload.get("success") is False or "msg" in payload):
            # Seed 001: {"code":"105","msg":"token invalid.","success":false} with HTTP 200.
            return attempt("error-200", f"200 · an error inside a 200 answer: {_error_message(exchange, redact)}"), []
        if _is_html(exchange):
            return attempt("html", "200 · an HTML page, not the API (a web UI or gateway page answers here)"), []
        return attempt("not-a-model-list", f"200 · not a model list: {redact(_one_line(exchange.text))}"), []
    message = _error_message(exchange, redact)
    if status == 401 and _json(exchange) is not None:
        outcome = "key-rejected" if key_given else "key-missing"
        label = "key rejected" if key_given else "a key is required"
        return attempt(outcome, f"401 · {label}: {message}"), []
    if 300 <= status < 400:
        location = redact(exchange.headers.get("location", "no Location header"))
        return attempt("redirect", f"{status} · redirects to {location} (not followed)"), []
    if status == 404:
        return attempt("not-found", f"404 · {message}"), []
    return attempt("http-error", f"{status} · {message}"), []


def _endpoint_result(base: str, capability: str, exchange: Exchange, redact: Redactor) -> EndpointResult:
    path = f"{_api_prefix(base)}/{ENDPOINTS[capability]}"
    request_id = exchange.headers.get("x-request-id") or exchange.headers.get("request-id")
    common = {"capability": capability, "method": "POST", "path": path, "url": redact(exchange.url)}
    if not exchange.ok or exchange.status is None:
        _, detail = _transport(exchange, redact)
        return EndpointResult(**common, status=None, ok=False, message=detail, request_id=request_id)
    status = exchange.status
    if 200 <= status < 300:
        payload = _json(exchange)
        expected = _RESPONSE_LIST[capability]
        if isinstance(payload, dict) and "error" not in payload and isinstance(payload.get(expected), list):
            return EndpointResult(**common, status=status, ok=True, message="", request_id=request_id)
        message = f"answered {status} but not a {capability} response: {redact(_one_line(exchange.text))}"
        return EndpointResult(**common, status=status, ok=False, message=message, request_id=request_id)
    return EndpointResult(
        **common, status=status, ok=False, message=_error_message(exchange, redact), request_id=request_id
    )


def _failed_request(exchange: Exchange, redact: Redactor) -> FailedRequest:
    body = exchange.request_body.decode("utf-8", errors="replace") if exchange.request_body else None
    if exchange.ok:
        text = exchange.text.strip()
        error_body = redact(text[:TICKET_BODY_CHARS] + ("…" if len(text) > TICKET_BODY_CHARS else ""))
    else:
        error_body = redact(f"no HTTP answer ({exchange.error}: {exchange.error_detail})")
    return FailedRequest(
        method=exchange.method,
        url=redact(exchange.url),
        request_body=redact(body) if body else None,
        status=exchange.status,
        error_body=error_body,
        request_id=exchange.headers.get("x-request-id") or exchange.headers.get("request-id"),
    )


def _sdk_version() -> str:
    try:
        return f"openai {metadata.version('openai')} (Python)"
    except metadata.PackageNotFoundError:
        return "not installed"


# -- probing ------------------------------------------------------------------------------------------


def _target(base: str, api_key: str | None, timeout: float, requests: int) -> Target:
    target = Target(
        base_url=base,
        api_key=api_key,
        name="doctor",
        timeout=timeout,
        connect_timeout=min(timeout, 5.0),
        max_requests=requests,
        max_tokens=1,
    )
    target.validate()
    return target


def diagnose(
    url: str, api_key: str | None = None, model: str | None = None, timeout: float = DEFAULT_TIMEOUT
) -> Diagnosis:
    """Probe the candidate bases of ``url`` (at most six ``GET /models``), then, with ``model``, one minimal
    request per endpoint (``max_tokens: 1``). Raises :class:`TargetConfigError` for an unusable URL."""
    if timeout <= 0:
        raise TargetConfigError("--timeout must be positive")
    api_key = api_key or None
    model = model if model else None
    pasted, notes = clean_url(url)
    candidates = candidate_bases(pasted)
    redact = Redactor([api_key] if api_key else [])
    attempts: list[Attempt] = []
    exchanges: list[Exchange] = []
    requests = 0
    base: str | None = None
    listed: list[str] | None = None
    key_status = "unknown"

    for candidate in candidates:
        with HttpClient(_target(candidate, api_key, timeout, 1)) as client:
            exchange = client.request("GET", "models")
            requests += client.usage.requests
        attempt, ids = classify_listing(candidate, exchange, redact, key_given=api_key is not None)
        attempts.append(attempt)
        exchanges.append(exchange)
        if attempt.outcome == "models":
            base, listed = candidate, ids
            key_status = "accepted" if api_key else "not required"
            break
        if attempt.found:
            base = candidate
            key_status = "rejected" if attempt.outcome == "key-rejected" else "missing"
            break
        if attempt.outcome in ("unreachable", "timeout"):
            # Every candidate shares the origin: the others cannot answer either.
            break

    findings: ModelFindings | None = None
    model_exchanges: dict[str, Exchange] = {}
    if model is not None:
        if base is None:
            findings = ModelFindings(model, None, (), (), f"{model} was not tried: no working base URL was found.")
        elif key_status in ("rejected", "missing"):
            why = "the key was rejected" if key_status == "rejected" else "the provider requires a key"
            findings = ModelFindings(model, None, (), (), f"{model} was not tried: {why} (401).")
        else:
            results: list[EndpointResult] = []
            with HttpClient(_target(base, api_key, timeout, len(MODEL_CAPABILITIES))) as client:
                for capability in MODEL_CAPABILITIES:
                    exchange = client.request("POST", ENDPOINTS[capability], json_body=probe_body(capability, model))
                    model_exchanges[capability] = exchange
                    results.append(_endpoint_result(base, capability, exchange, redact))
                requests += client.usage.requests
            answers = [result.capability for result in results if result.ok]
            is_listed = None if listed is None else model in listed
            findings = ModelFindings(
                name=model,
                listed=is_listed,
                near_misses=tuple(near_misses(model, listed or ())) if not is_listed else (),
                endpoints=tuple(results),
                conclusion=redact(conclude_model(model, base, listed, answers)),
            )

    if base is not None and listed is not None and not listed:
        notes.append(
            "GET /models answered with an empty list: that does not mean there are no models (clients that read "
            "the list will show none; enter the model name by hand and test it with --model)"
        )
    if base is None and attempts and all(a.outcome == "unreachable" for a in attempts):
        notes.append("nothing answered at this host and port: check the host, the port, and that the server runs")
    elif base is None and (disguised := next((a for a in attempts if a.outcome == "error-200"), None)):
        notes.append(
            f"{disguised.base_url} answered GET /models with HTTP 200 carrying an error: this provider reports "
            "errors with status 200, which the official SDKs cannot read as errors; it is probably the base URL, "
            "and the error (often a refused key) is the thing to fix"
        )
    elif base is None:
        notes.append(
            "no candidate answered GET /models with a model list or a 401: if this provider does not implement "
            "GET /models, ask it for its base URL (the URL its /chat/completions hangs off)"
        )
    if base is not None and key_status == "rejected":
        notes.append("the key was rejected here, but the 401 shows this is the API's base URL: check the key")

    # The request a support ticket should quote: the chat call if it failed (what users hit first), else
    # the pasted URL's own failing probe, else the 401.
    relevant: Exchange | None = None
    chat_result = next((r for r in findings.endpoints if r.capability == "chat"), None) if findings else None
    if chat_result is not None and not chat_result.ok:
        relevant = model_exchanges["chat"]
    elif attempts and attempts[0].outcome != "models":
        relevant = exchanges[0]
    ticket = SupportTicket(
        tool=f"oai-conformance {__version__} doctor",
        openai_sdk=_sdk_version(),
        python=f"{platform.python_version()} ({platform.system() or 'unknown OS'})",
        pasted_url=redact(pasted),
        base_url=base,
        model=redact(model) if model else None,
        time_utc=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        api_key=mask_key(api_key),
        request=_failed_request(relevant, redact) if relevant is not None else None,
    )
    return Diagnosis(
        pasted_url=redact(pasted),
        candidates=tuple(redact(c) for c in candidates),
        attempts=tuple(attempts),
        base_url=base,
        key_status=key_status,
        url_problems=tuple(explain_url(pasted, base)) if base is not None else (),
        settings=client_settings(base) if base is not None else None,
        listed_models=tuple(listed) if listed is not None else None,
        model=findings,
        notes=tuple(notes),
        ticket=ticket,
        requests=requests,
    )


# -- terminal ------------------------------------------------------------------------------------------


def _line(console: Console, *parts: str | tuple[str, str]) -> None:
    console.print(Text.assemble(*parts), soft_wrap=True)


def render(diagnosis: Diagnosis, console: Console) -> None:
    """The findings for a person: where the API is, what to set, the model, and a ticket to paste."""
    _line(console, ("oai-conformance doctor", "bold"), f" · {diagnosis.pasted_url}")
    console.print()
    _line(console, ("Base URL probes", "bold"), " (GET {base}/models)")
    width = max((len(attempt.base_url) for attempt in diagnosis.attempts), default=0)
    for attempt in diagnosis.attempts:
        if attempt.outcome == "models":
            mark = ("✓", "green")
        elif attempt.found:
            mark = ("!", "yellow")
        else:
            mark = ("✗", "red")
        _line(console, "  ", mark, f" {attempt.base_url:<{width}}  →  {attempt.detail}")
    skipped = diagnosis.candidates[len(diagnosis.attempts) :]
    if diagnosis.base_url is None and skipped:
        _line(console, ("  not tried (same host): ", "dim"), ", ".join(skipped))
    console.print()

    if diagnosis.base_url is None:
        _line(console, ("No working base URL found.", "bold red"))
    else:
        key = {
            "accepted": ("key accepted", "green"),
            "not required": ("no key needed for GET /models", "green"),
            "rejected": ("key rejected", "bold yellow"),
            "missing": ("a key is required: pass --api-key", "bold yellow"),
        }.get(diagnosis.key_status, ("", ""))
        _line(console, ("Working base URL: ", "bold"), (diagnosis.base_url, "bold green"), "  (", key, ")")
        console.print()
        _line(console, ("What was wrong with the pasted URL", "bold"))
        if not diagnosis.url_problems:
            _line(console, "  • nothing: it is the base URL the official SDKs need")
        for problem in diagnosis.url_problems:
            _line(console, f"  • {problem.message}")
        if diagnosis.settings is not None:
            settings = diagnosis.settings
            console.print()
            _line(console, ("Configure", "bold"))
            _line(console, "  Python SDK   ", (settings.python, "cyan"))
            _line(console, "  Node SDK     ", (settings.node, "cyan"))
            _line(console, "  environment  ", (settings.env, "cyan"))
            _line(console, f"  {settings.host_only_note}")
    for note in diagnosis.notes:
        _line(console, ("  note: ", "dim"), note)

    model = diagnosis.model
    if model is not None:
        console.print()
        _line(console, ("Model ", "bold"), (model.name, "bold"))
        if model.listed is not None:
            listed = "yes" if model.listed else "no"
            near = f"; near misses: {', '.join(model.near_misses)}" if model.near_misses else ""
            _line(console, f"  listed by GET /models: {listed}{near}")
        width = max((len(result.path) for result in model.endpoints), default=0)
        for result in model.endpoints:
            status = str(result.status) if result.status is not None else "no answer"
            mark = ("✓", "green") if result.ok else ("✗", "red")
            tail = f" · {result.message}" if result.message else ""
            _line(console, "  ", mark, f" POST {result.path:<{width}}  {status}{tail}")
        _line(console, "  → ", (model.conclusion, "bold"))

    console.print()
    _line(console, ("Support ticket", "bold"), " (copy as is; the key is masked)")
    for line in diagnosis.ticket.lines():
        _line(console, f"  {line}")
    console.print()
    _line(console, (f"{diagnosis.requests} request{'s' * (diagnosis.requests != 1)} sent.", "dim"))


def to_json(diagnosis: Diagnosis) -> str:
    """The findings as one JSON object (``--json``)."""
    return json.dumps(diagnosis.to_dict(), indent=2, ensure_ascii=False)
