"""Named faults: real-world deviations from the OpenAI contract, each breaking one rule.

The registry (:class:`Fault`, :data:`FAULTS`, the sites and :class:`FaultSet`) is in :mod:`._registry`,
the helpers the faults share in :mod:`._asgi` and :mod:`._stream`. The faults themselves live in one
module per area of the suite's checks (``chat``, ``chat_stream``, ``errors``, ``transport``...): a fault
sits with the first requirement of spec/requirements.yaml that lists it. Legal variations sit with
their area, or in :mod:`.variations` for streams. The exception is :mod:`.timing`: providers that are
serial, stalled or hung as a whole, whose faults act on every request rather than on one area's.

Each fault models a real deviation; ``seen_in`` says where. The catalogue (spec/requirements.yaml)
lists, for every requirement, the faults that must make it FAIL; the meta-tests hold both to each other.

Importing this package imports every area module, and so registers every fault.
"""

from __future__ import annotations

from . import (  # noqa: F401  (imported to register their faults)
    auth,
    base_url,
    chat,
    chat_fields,
    chat_format,
    chat_messages,
    chat_params,
    chat_reasoning,
    chat_stream,
    chat_stream_options,
    chat_tools,
    chat_tools_parallel,
    completions,
    completions_stream,
    embeddings,
    errors,
    files,
    fine_tunes,
    images,
    legacy,
    models,
    moderations,
    property,
    responses,
    responses_background,
    responses_stream,
    responses_tools,
    sdk,
    timing,
    transport,
    variations,
)
from ._registry import FAULTS, SITES, Fault, FaultSet, fault, variation

__all__ = ["FAULTS", "SITES", "Fault", "FaultSet", "fault", "variation"]
