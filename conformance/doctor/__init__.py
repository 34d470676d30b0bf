"""``oai-conformance doctor``: from whatever URL a user pasted, find the base URL that works and say what to set.

The classic support cases this answers (see ``../shared/seeds``):

* a host, ``host/v1`` or ``host/v1/chat/completions`` pasted where a base URL belongs -- the official
  SDKs append the operation path to ``base_url`` verbatim and never add ``/v1``;
* a model that "does not exist" because it is called on the wrong endpoint (a fine-tuned completion
  model on ``/chat/completions``), or whose name is a near miss of a listed one;
* the facts a support ticket needs, with the key masked.

The package is split by what each module holds; all but :mod:`.probe` work without a network:

* :mod:`.findings` -- the frozen data (:class:`Diagnosis` and its parts) and the exit codes;
* :mod:`.urls` -- candidate bases, what was wrong with the pasted URL, the values to configure;
* :mod:`.model_advice` -- near-miss model names and the one-sentence model conclusion;
* :mod:`.answers` -- judging one ``GET /models`` answer or one model request;
* :mod:`.ticket` -- the support ticket: the masked key and the failing request, redacted;
* :mod:`.probe` -- :func:`diagnose`, which does the probing through :class:`~conformance.transport.client.HttpClient`;
* :mod:`.output` -- :func:`render` for the terminal and :func:`to_json`.
"""

from conformance.doctor.answers import classify_listing
from conformance.doctor.findings import (
    EXIT_MODEL,
    EXIT_NO_BASE,
    EXIT_OK,
    EXIT_USAGE,
    Attempt,
    ClientSettings,
    Diagnosis,
    EndpointResult,
    ModelFindings,
    UrlProblem,
)
from conformance.doctor.model_advice import conclude_model, near_misses
from conformance.doctor.output import render, to_json
from conformance.doctor.probe import diagnose
from conformance.doctor.ticket import FailedRequest, SupportTicket, mask_key
from conformance.doctor.urls import (
    candidate_bases,
    clean_url,
    client_settings,
    dedupe_v1,
    explain_url,
    strip_endpoint_suffix,
)

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
    "to_json",
]
