"""Behaviour switches of the reference provider.

The clean provider runs with ``Policy()``.  Faults registered at the ``"policy"`` site
return ``dataclasses.replace(policy, ...)`` to turn one behaviour off; the app computes
the effective policy once, when it is created, and consults it on every request.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Policy"]


@dataclass(frozen=True, slots=True)
class Policy:
    """What the provider enforces and honours.  Every default is the conformant behaviour."""

    #: Every ``/v1`` route requires ``Authorization: Bearer <key>`` (when the app has a key).
    require_auth: bool = True
    #: Optional parameters are type- and range-checked (400 on a bad value).  When off, a bad
    #: optional value is silently replaced by its default; required fields are always checked.
    validate_params: bool = True
    #: Unknown request parameters are rejected with 400 (OpenAI itself ignores many; off by default).
    reject_unknown_params: bool = False
    #: A model id that is not in the catalogue is a 404 ``model_not_found``.
    reject_unknown_models: bool = True
    #: A known model used on the wrong endpoint is a 404 naming the right endpoint.
    enforce_model_endpoints: bool = True
    #: ``n`` > 1 yields that many choices (when off, exactly one choice is returned).
    honour_n: bool = True
    #: ``stop`` sequences cut the output.
    honour_stop: bool = True
    #: ``max_tokens`` / ``max_completion_tokens`` truncate the output (finish reason ``length``).
    honour_max_tokens: bool = True
    #: ``logprobs`` / ``top_logprobs`` are returned when requested.
    support_logprobs: bool = True
    #: ``tools`` / ``tool_choice`` can produce tool calls.
    support_tools: bool = True
    #: ``response_format`` json_object / json_schema produce JSON content.
    support_response_format: bool = True
    #: ``stream_options.include_usage`` adds the usage chunk.
    support_stream_usage: bool = True
    #: The field of ``message`` and ``delta`` that carries the reasoning text (conformance/reference/reasoning.py).
    reasoning_field: str = "reasoning_content"
