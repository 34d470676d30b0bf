"""Reading what came back: one ``GET {base}/models`` judged as an :class:`Attempt`, one model request as an
:class:`EndpointResult`, the provider's error quoted verbatim and redacted."""

from __future__ import annotations

from typing import Any

from conformance.builders import ENDPOINTS, model_ids
from conformance.doctor.findings import Attempt, EndpointResult
from conformance.doctor.urls import url_path
from conformance.transport.exchange import Exchange, Redactor

DETAIL_CHARS = 300  # one-line excerpts in the findings

_RESPONSE_LIST = {"chat": "choices", "completions": "choices", "embeddings": "data"}


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


def endpoint_result(base: str, capability: str, exchange: Exchange, redact: Redactor) -> EndpointResult:
    path = f"{url_path(base)}/{ENDPOINTS[capability]}"
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
