"""What ``doctor`` finds, as frozen data: the base-URL probes, the URL advice, the model findings and the whole
:class:`Diagnosis` with its exit code. No logic beyond reading these back."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from conformance.doctor.ticket import SupportTicket

EXIT_OK = 0  # a working base was found (and the model, if given, answers somewhere)
EXIT_MODEL = 1  # the base was found, but the key was refused or the model answers nowhere
EXIT_USAGE = 2  # the URL or an option is unusable
EXIT_NO_BASE = 3  # no candidate base answered GET /models


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
