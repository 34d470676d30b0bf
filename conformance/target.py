"""The provider under test: where it is, how to authenticate, which models to use, what it may cost.

A ``Target`` is built from explicit arguments, falling back to the same environment variables the
official SDK reads (``OPENAI_BASE_URL``, ``OPENAI_API_KEY``). The base URL is normalised the way
openai-python uses it: the path prefix is kept verbatim (no ``/v1`` is added), a trailing slash is
irrelevant, and a full endpoint URL pasted as base is cut back to its base.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

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


def normalise_base_url(url: str) -> tuple[str, list[str]]:
    """Return the base URL to join paths to, and notes on what was changed and why."""
    notes: list[str] = []
    raw = url.strip()
    if not raw:
        raise TargetConfigError("the base URL is empty; pass --base-url or set OPENAI_BASE_URL")
    try:
        parsed = httpx.URL(raw)
    except httpx.InvalidURL as exc:
        raise TargetConfigError(f"the base URL {raw!r} is not a URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise TargetConfigError(f"the base URL must start with http:// or https:// and name a host, got {raw!r}")
    if parsed.userinfo:
        raise TargetConfigError(
            "the base URL carries credentials (user:password@); pass the key with --api-key instead"
        )
    if parsed.query:
        # openai-python appends the operation path after the raw path *including* the query, so a
        # base URL with a query string cannot work with the official client.
        raise TargetConfigError("the base URL has a query string, which the official SDK cannot use as a base")
    path = parsed.path.rstrip("/")
    for suffix in ENDPOINT_SUFFIXES:
        if path.endswith(suffix):
            notes.append(
                f"the URL ended in the endpoint path {suffix!r}; using its base {path[: -len(suffix)] or '/'!r}"
            )
            path = path[: -len(suffix)]
            break
    base = str(parsed.copy_with(path=path or "/", fragment=None)).rstrip("/")
    return base, notes


@dataclass(frozen=True)
class Target:
    base_url: str
    api_key: str | None = None
    organization: str | None = None
    models: dict[str, str] = field(default_factory=dict)  # capability → model id given by the user
    name: str = ""
    timeout: float = 30.0
    connect_timeout: float = 5.0
    max_requests: int = 400
    max_tokens: int = 16
    max_body_bytes: int = 8 * 1024 * 1024
    max_stream_bytes: int = 4 * 1024 * 1024
    max_stream_seconds: float = 60.0
    max_stream_events: int = 5000
    verify_tls: bool = True
    notes: tuple[str, ...] = ()

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
        if not url:
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
        target = replace(target, **{k: v for k, v in limits.items() if v is not None})
        target.validate()
        return target

    def validate(self) -> None:
        if self.timeout <= 0 or self.max_stream_seconds <= 0:
            raise TargetConfigError("timeouts must be positive")
        if self.max_requests < 1:
            raise TargetConfigError("--max-requests must be at least 1")
        if not 1 <= self.max_tokens <= 4096:
            raise TargetConfigError("--max-tokens must be between 1 and 4096")

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
            "notes": list(self.notes),
        }
