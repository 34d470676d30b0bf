"""The provider under test: where it is, how to authenticate, which models to use, what it may cost.

A ``Target`` is built from explicit arguments, falling back to the same environment variables the
official SDK reads (``OPENAI_BASE_URL``, ``OPENAI_API_KEY``). The base URL is normalised the way
openai-python uses it: the path prefix is kept verbatim (no ``/v1`` is added), a trailing slash is
irrelevant, and a full endpoint URL pasted as base is cut back to its base.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from conformance.core.catalogue import DECLARABLE_CAPABILITIES, FEATURES, PROFILES

# Endpoint paths a user may paste by mistake at the end of a base URL (longest first).
ENDPOINT_SUFFIXES = (
    "/chat/completions",
    "/completions",
    "/embeddings",
    "/models",
    "/moderations",
    "/images/generations",
    "/edits",
    "/files",
    "/fine-tunes",
    "/engines",
)
MODEL_CAPABILITIES = ("chat", "completions", "embeddings")


class TargetConfigError(ValueError):
    """The target is configured wrongly (a usage error: exit code 2)."""


def parse_capabilities(value: str | Iterable[str] | None) -> frozenset[str] | None:
    """``"chat, images"`` (or an iterable of names) → the declared set; None means "not declared: probe".

    ``chat`` brings its features (tools, logprobs, n, structured_outputs, vision, reasoning) along, ``responses``
    its own (responses_store, responses_background); ``-tools`` declares one of them absent."""
    if value is None:
        return None
    names = [name.strip() for name in (value.split(",") if isinstance(value, str) else list(value)) if name.strip()]
    absent = {name[1:].strip().replace("-", "_") for name in names if name.startswith("-")}
    declared = {name.replace("-", "_") for name in names if not name.startswith("-")}
    unknown = sorted((declared | absent) - set(DECLARABLE_CAPABILITIES))
    if unknown:
        raise TargetConfigError(
            f"unknown capability {', '.join(unknown)}; choose from {', '.join(DECLARABLE_CAPABILITIES)}"
        )
    features = {feature for family in FEATURES.values() for feature in family}
    if absent - features:
        raise TargetConfigError(
            f"only a feature of chat or responses can be declared absent with '-' ({', '.join(sorted(features))}): "
            f"leave {', '.join(sorted(absent - features))} out instead"
        )
    for family, brought in FEATURES.items():
        if family in declared:
            declared |= set(brought) - absent
    return frozenset(declared - absent)


def strip_endpoint_suffix(path: str) -> tuple[str, str | None]:
    """``/v1/chat/completions`` → (``/v1``, ``/chat/completions``); a path without one is returned as is."""
    path = path.rstrip("/")
    for suffix in ENDPOINT_SUFFIXES:
        if path.endswith(suffix):
            return path[: -len(suffix)], suffix
    return path, None


def clean_base_url(url: str, *, drop_query: bool = False, quote: bool = True) -> tuple[str, list[str]]:
    """Check that ``url`` can be a base URL; return it without fragment or trailing slash, and notes.

    The one place a base URL is checked and cleaned: :func:`normalise_base_url` (``run``, the plugin) and
    ``doctor`` both use it. Raises :class:`TargetConfigError` for something that is not an http(s) URL
    naming a host, or that carries credentials. A query string is refused (openai-python appends the
    operation path after the raw path *including* the query, so such a base cannot work with it), or with
    ``drop_query`` dropped with a note. ``quote=False`` keeps the URL itself out of the error messages:
    ``doctor`` reads whatever a user pasted, which may hold a secret, and its output goes into tickets.
    The endpoint path is not cut here (``doctor`` probes the URL as given first): see
    :func:`strip_endpoint_suffix`.
    """
    raw = url.strip()
    if not raw:
        raise TargetConfigError("the base URL is empty")
    try:
        parsed = httpx.URL(raw)
    except httpx.InvalidURL as exc:
        shown = f" {raw!r}" if quote else ""
        raise TargetConfigError(f"the base URL{shown} is not a URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        got = f", got {raw!r}" if quote else ""
        raise TargetConfigError(f"the base URL must start with http:// or https:// and name a host{got}")
    if parsed.userinfo:
        # Never echoed: the user:password part is a secret.
        raise TargetConfigError(
            "the base URL carries credentials (user:password@); pass the key with --api-key instead"
        )
    notes: list[str] = []
    if parsed.query or b"?" in parsed.raw_path:  # a bare trailing '?' breaks joining just the same
        if not drop_query:
            raise TargetConfigError("the base URL has a query string, which the official SDK cannot use as a base")
        if parsed.query:
            # Not echoed either: a query string may carry a key.
            notes.append("the query string was dropped: the official SDKs cannot use a base URL with a query string")
    return str(parsed.copy_with(query=None, fragment=None)).rstrip("/"), notes


def normalise_base_url(url: str) -> tuple[str, list[str]]:
    """Return the base URL to join paths to, and notes on what was changed and why: :func:`clean_base_url`,
    then a full endpoint URL pasted as base is cut back to its base."""
    cleaned, notes = clean_base_url(url)
    parsed = httpx.URL(cleaned)
    path, suffix = strip_endpoint_suffix(parsed.path)
    if suffix is not None:
        notes.append(f"the URL ended in the endpoint path {suffix!r}; using its base {path or '/'!r}")
    return str(parsed.copy_with(path=path or "/")).rstrip("/"), notes


@dataclass(frozen=True)
class Target:
    base_url: str
    api_key: str | None = field(default=None, repr=False)  # a repr lands in tracebacks (pytest -l)
    organization: str | None = None
    models: dict[str, str] = field(default_factory=dict)  # capability → model id given by the user
    name: str = ""
    # Time limits of one request: `timeout` bounds the whole of a non-streamed request (connect, headers
    # and body: a provider that trickles a byte a second cannot stretch it); `read_timeout` bounds a
    # silence between two reads (default: `timeout`); a stream is bounded by `max_stream_seconds`.
    timeout: float = 30.0
    connect_timeout: float = 5.0
    read_timeout: float | None = None
    max_requests: int = 400
    max_tokens: int = 16
    token_budget: int | None = None  # prompt + completion tokens billed (by `usage`) before POSTs stop
    max_body_bytes: int = 8 * 1024 * 1024
    max_stream_bytes: int = 4 * 1024 * 1024
    max_stream_seconds: float = 60.0
    max_stream_events: int = 5000
    max_run_seconds: float | None = None  # the whole run; requests that would start later are not sent
    concurrency: int = 4  # requests in flight at once
    max_retries: int = 2  # extra attempts after a 429 or 503, like openai-python's default
    max_retry_wait: float = 10.0  # the longest Retry-After honoured; a longer one is not waited for
    breaker_threshold: int = 2  # consecutive unanswered requests that open an endpoint's circuit breaker
    breaker_cooldown: float = 10.0  # seconds an open breaker waits before one trial request
    verify_tls: bool = True
    # Extra headers sent to the target's origin only; the values of `secret_headers` are redacted
    # like the key (both are left out of repr: a repr lands in tracebacks).
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    secret_headers: frozenset[str] = frozenset()
    notes: tuple[str, ...] = ()
    # What the provider offers, as the user declares it (None: not declared, so the suite probes and an
    # honest 404/501 becomes UNSUPPORTED), and which requirements run at all (see catalogue.in_profile).
    capabilities: frozenset[str] | None = None
    profile: str = "all"

    @classmethod
    def build(
        cls,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        organization: str | None = None,
        chat_model: str | None = None,
        completion_model: str | None = None,
        embedding_model: str | None = None,
        env: dict[str, str] | None = None,
        **limits: Any,
    ) -> Target:
        environ = os.environ if env is None else env
        url = base_url or environ.get("OPENAI_BASE_URL")
        if not url or not url.strip():
            raise TargetConfigError("no target: pass --base-url URL (or set OPENAI_BASE_URL)")
        base, notes = normalise_base_url(url)
        key = api_key if api_key is not None else environ.get("OPENAI_API_KEY")
        models = {
            capability: model
            for capability, model in (
                ("chat", chat_model),
                ("completions", completion_model),
                ("embeddings", embedding_model),
            )
            if model
        }
        target = cls(
            base_url=base,
            api_key=key or None,
            organization=organization or None,
            models=models,
            name=limits.pop("name", "") or base,
            notes=tuple(notes),
        )
        unknown = set(limits) - {f for f in cls.__dataclass_fields__ if f not in ("base_url", "api_key", "models")}
        if unknown:
            raise TargetConfigError(f"unknown target setting(s): {', '.join(sorted(unknown))}")
        if isinstance(limits.get("headers"), dict):
            limits["headers"] = tuple(limits["headers"].items())
        if limits.get("secret_headers") is not None:
            limits["secret_headers"] = frozenset(limits["secret_headers"])
        if "capabilities" in limits:
            limits["capabilities"] = parse_capabilities(limits["capabilities"])
        target = replace(target, **{k: v for k, v in limits.items() if v is not None})
        target.validate()
        return target

    def validate(self) -> None:
        times = (self.timeout, self.connect_timeout, self.read_timeout or 1, self.max_stream_seconds)
        if min(times) <= 0 or (self.max_run_seconds is not None and self.max_run_seconds <= 0):
            raise TargetConfigError("timeouts must be positive")
        if self.max_requests < 1:
            raise TargetConfigError("--max-requests must be at least 1")
        if not 1 <= self.max_tokens <= 4096:
            raise TargetConfigError("--max-tokens must be between 1 and 4096")
        if self.profile not in PROFILES:
            raise TargetConfigError(f"--profile must be one of {', '.join(PROFILES)}, got {self.profile!r}")
        if self.token_budget is not None and self.token_budget < 1:
            raise TargetConfigError("--token-budget must be at least 1")
        if min(self.max_body_bytes, self.max_stream_bytes, self.max_stream_events) < 1:
            raise TargetConfigError("size and event limits must be at least 1")
        if not 1 <= self.concurrency <= 64:
            raise TargetConfigError("--concurrency must be between 1 and 64")
        if not 0 <= self.max_retries <= 10 or self.max_retry_wait < 0:
            raise TargetConfigError("--max-retries must be between 0 and 10 and --max-retry-wait not negative")
        if self.breaker_threshold < 1:
            raise TargetConfigError("the circuit breaker threshold must be at least 1")
        if self.breaker_cooldown < 0:
            raise TargetConfigError("--breaker-cooldown must not be negative")
        unknown = {name.lower() for name in self.secret_headers} - {name.lower() for name, _ in self.headers}
        if unknown:
            raise TargetConfigError(f"secret header(s) {', '.join(sorted(unknown))} are not among the headers sent")

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every value no output may contain: the key and the values of the headers marked secret."""
        marked = {name.lower() for name in self.secret_headers}
        values = [value for name, value in self.headers if name.lower() in marked]
        return tuple(value for value in (self.api_key, *values) if value)

    def limits_dict(self) -> dict[str, Any]:
        """The limits and budgets a run used, as the report shows them."""
        return {
            "timeout_s": self.timeout,
            "connect_timeout_s": self.connect_timeout,
            "read_timeout_s": self.read_timeout if self.read_timeout is not None else self.timeout,
            "max_stream_seconds": self.max_stream_seconds,
            "max_stream_events": self.max_stream_events,
            "max_body_bytes": self.max_body_bytes,
            "max_stream_bytes": self.max_stream_bytes,
            "max_run_seconds": self.max_run_seconds,
            "max_requests": self.max_requests,
            "max_tokens": self.max_tokens,
            "token_budget": self.token_budget,
            "concurrency": self.concurrency,
            "max_retries": self.max_retries,
            "max_retry_wait_s": self.max_retry_wait,
            "breaker_threshold": self.breaker_threshold,
            "breaker_cooldown_s": self.breaker_cooldown,
            "verify_tls": self.verify_tls,
        }

    def public_dict(self) -> dict[str, Any]:
        """What a report may say about the target: never the key, only whether one was set."""
        return {
            "name": self.name,
            "base_url": self.base_url,
            "api_key_set": bool(self.api_key),
            "organization_set": bool(self.organization),
            "models": dict(self.models),
            "timeout_s": self.timeout,
            "max_requests": self.max_requests,
            "max_tokens": self.max_tokens,
            "headers": sorted({name.lower() for name, _ in self.headers}),  # names only, never values
            "limits": self.limits_dict(),
            "notes": list(self.notes),
            "profile": self.profile,
            "capabilities": sorted(self.capabilities) if self.capabilities is not None else None,
        }


# -- command-line flags for the limits (``oai-conformance run``) ------------------------------------------


def add_limit_arguments(group: Any) -> None:
    """The time, size, cost and politeness flags of ``run``; every default is the Target's own."""
    d = Target.__dataclass_fields__
    group.add_argument(
        "--connect-timeout",
        type=float,
        metavar="S",
        help=f"time to connect (default: {d['connect_timeout'].default:g})",
    )
    group.add_argument(
        "--read-timeout", type=float, metavar="S", help="longest silence between reads (default: --timeout)"
    )
    group.add_argument(
        "--max-stream-seconds",
        type=float,
        metavar="S",
        help=f"longest stream (default: {d['max_stream_seconds'].default:g})",
    )
    group.add_argument(
        "--max-stream-events",
        type=int,
        metavar="N",
        help=f"most events read of a stream (default: {d['max_stream_events'].default})",
    )
    group.add_argument(
        "--max-body-bytes", type=int, metavar="N", help=f"response body cap (default: {d['max_body_bytes'].default})"
    )
    group.add_argument(
        "--max-stream-bytes", type=int, metavar="N", help=f"stream body cap (default: {d['max_stream_bytes'].default})"
    )
    group.add_argument(
        "--run-timeout",
        type=float,
        metavar="S",
        help="time limit of the whole run; later checks are not run (default: none)",
    )
    group.add_argument(
        "--token-budget",
        type=int,
        metavar="N",
        help="stop sending POSTs once the provider billed N prompt + completion tokens (default: none)",
    )
    group.add_argument(
        "--concurrency", type=int, metavar="N", help=f"requests in flight at once (default: {d['concurrency'].default})"
    )
    group.add_argument(
        "--max-retries", type=int, metavar="N", help=f"retries after a 429 or 503 (default: {d['max_retries'].default})"
    )
    group.add_argument(
        "--max-retry-wait",
        type=float,
        metavar="S",
        help=f"longest Retry-After honoured; longer ones are not retried (default: {d['max_retry_wait'].default:g})",
    )
    group.add_argument(
        "--breaker-cooldown",
        type=float,
        metavar="S",
        help="how long an open circuit breaker waits before one trial request "
        f"(default: {d['breaker_cooldown'].default:g})",
    )
    group.add_argument("--insecure", action="store_true", help="do not verify TLS certificates (default: verify)")
    group.add_argument(
        "--header", action="append", default=[], metavar="'NAME: VALUE'", help="send this header too (repeatable)"
    )
    group.add_argument(
        "--secret-header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="send this header too and redact its value from every output, like the key (repeatable)",
    )


def limits_from_args(args: Any) -> dict[str, Any]:
    """Target settings from the flags of :func:`add_limit_arguments` (None: keep the default)."""
    headers, secret = [], []
    for raw, is_secret in [*((h, False) for h in args.header), *((h, True) for h in args.secret_header)]:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip() or not value.strip():
            # Never quote it: the value may be the secret.
            raise TargetConfigError("--header and --secret-header take 'Name: value' (a name, a colon, a value)")
        headers.append((name.strip(), value.strip()))
        if is_secret:
            secret.append(name.strip())
    return {
        "connect_timeout": args.connect_timeout,
        "read_timeout": args.read_timeout,
        "max_stream_seconds": args.max_stream_seconds,
        "max_stream_events": args.max_stream_events,
        "max_body_bytes": args.max_body_bytes,
        "max_stream_bytes": args.max_stream_bytes,
        "max_run_seconds": args.run_timeout,
        "token_budget": args.token_budget,
        "concurrency": args.concurrency,
        "max_retries": args.max_retries,
        "max_retry_wait": args.max_retry_wait,
        "breaker_cooldown": args.breaker_cooldown,
        "verify_tls": False if args.insecure else None,
        "headers": tuple(headers) or None,
        "secret_headers": frozenset(secret) if secret else None,
    }
