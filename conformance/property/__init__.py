"""Property tests: schemathesis runs ``spec/openapi.yaml`` against the target, once per suite run, in worker
processes whose every request goes through the run's one transport policy.

* :mod:`.driver` -- the run (:class:`PropertyDriver`; the ``property_run`` probe is in conformance/probes/property.py);
* :mod:`.pool`, :mod:`.worker` -- the worker processes: a zygote, the fuzzing workers (an engine per
  operation) and the hand-built worker (:mod:`.hand_run`: happy paths, edge values, auth probes, with
  :mod:`.hand_built` and :mod:`.judging`);
* :mod:`.relay`, :mod:`.protocol`, :mod:`.wire` -- the workers' requests sent by the run's policy, and
  what the run and its workers say to each other;
* :mod:`.hooks` -- a schema's hooks (admission, shaping); :mod:`.verdicts` -- our own rules on an answer;
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
