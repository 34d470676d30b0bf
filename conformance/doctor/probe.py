"""The probing: :func:`diagnose` tries the candidate bases of a pasted URL (``GET /models``), then, with a model,
one minimal request per endpoint, and assembles the :class:`Diagnosis`. The only module here that sends requests."""

from __future__ import annotations

import platform
from datetime import UTC, datetime

from conformance import __version__
from conformance.builders import ENDPOINTS, probe_body
from conformance.doctor.answers import classify_listing, endpoint_result
from conformance.doctor.findings import Attempt, Diagnosis, EndpointResult, ModelFindings
from conformance.doctor.model_advice import conclude_model, near_misses
from conformance.doctor.ticket import SupportTicket, failed_request, mask_key, sdk_version
from conformance.doctor.urls import candidate_bases, clean_url, client_settings, explain_url
from conformance.target import MODEL_CAPABILITIES, Target, TargetConfigError
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange, Redactor

DEFAULT_TIMEOUT = 10.0


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
                    results.append(endpoint_result(base, capability, exchange, redact))
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
        openai_sdk=sdk_version(),
        python=f"{platform.python_version()} ({platform.system() or 'unknown OS'})",
        pasted_url=redact(pasted),
        base_url=base,
        model=redact(model) if model else None,
        time_utc=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        api_key=mask_key(api_key),
        request=failed_request(relevant, redact) if relevant is not None else None,
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
