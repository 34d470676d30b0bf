"""Property tests: schemathesis runs ``spec/openapi.yaml`` against the target, once per suite run, through
the run's one transport policy.

* :mod:`.driver` -- the run (:class:`PropertyDriver`; the ``property_run`` probe is in conformance/probes/property.py);
* :mod:`.hand_built` -- the hand-built cases (happy paths, edge values, auth probes) and their judging;
* :mod:`.pool`, :mod:`.worker` -- the generated cases, in worker processes (an engine per operation);
  :mod:`.relay`, :mod:`.protocol` -- their requests sent by the run, their findings sent back;
* :mod:`.hooks` -- a schema's hooks (admission, shaping); :mod:`.verdicts` -- our own rules on an answer;
* :mod:`.wire` -- schemathesis' requests sent through the policy;
* :mod:`.spec` -- the description, the covered operations, request data and the edge cases;
* :mod:`.results` -- findings, their classes and our own rules; :mod:`.evidence` -- their evidence.
"""

from conformance.property.config import DISABLED_CHECKS, MAX_EXAMPLES, SEED
from conformance.property.driver import (
    BUDGET_SHARE,
    PropertyDriver,
    run_property_tests,
)
from conformance.property.results import (
    AUTH,
    CLASSES,
    CONTENT_TYPE,
    EDGE_VALUES,
    ENVELOPE,
    INVALID_INPUT,
    REACHABILITY,
    SCHEMA,
    STATUS,
    VALID_5XX,
    PropertyFailure,
    PropertyRun,
    classify,
    envelope_problem,
)
from conformance.property.spec import (
    EDGE_CASES,
    MAX_N,
    METHODS,
    MULTIPART,
    SPEC_FILE,
    TRAINING_JSONL,
    EdgeCase,
    claimed,
    load_spec,
    operations,
    shape_body,
    tiny_png,
)

__all__ = [
    "AUTH",
    "BUDGET_SHARE",
    "CLASSES",
    "CONTENT_TYPE",
    "DISABLED_CHECKS",
    "EDGE_CASES",
    "EDGE_VALUES",
    "ENVELOPE",
    "INVALID_INPUT",
    "MAX_EXAMPLES",
    "MAX_N",
    "METHODS",
    "MULTIPART",
    "REACHABILITY",
    "SCHEMA",
    "SEED",
    "SPEC_FILE",
    "STATUS",
    "TRAINING_JSONL",
    "VALID_5XX",
    "EdgeCase",
    "PropertyDriver",
    "PropertyFailure",
    "PropertyRun",
    "claimed",
    "classify",
    "envelope_problem",
    "load_spec",
    "operations",
    "run_property_tests",
    "shape_body",
    "tiny_png",
]
