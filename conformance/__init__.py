"""oai-conformance: score an OpenAI-compatible HTTP API against a catalogue of requirements.

Library use::

    from conformance import Target, run
    report = run(Target.build("http://127.0.0.1:8000/v1", api_key="sk-...", chat_model="m"), out_dir="out")
    print(report["summary"]["verdicts"])
"""

from __future__ import annotations

__version__ = "0.1.0"

from conformance.core.results import Level, Outcome, Violation
from conformance.target import Target, TargetConfigError


def run(*args, **kwargs):  # type: ignore[no-untyped-def]
    """Run the suite against a target and return the report (see ``conformance.runner.run``)."""
    from conformance.runner import run as _run

    return _run(*args, **kwargs)


__all__ = ["Level", "Outcome", "Target", "TargetConfigError", "Violation", "__version__", "run"]
