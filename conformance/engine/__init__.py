"""The engine: a registry of probes and checks, and the loop that plans the probes the selected checks
need, sends them side by side through the one HTTP client, and judges every check into a frozen
:class:`RunRecord`. The CLI, the Python API and the pytest plugin are adapters over it."""

from conformance.engine.registry import CHECKS, PROBES, CheckDef, ProbeDef, RegistryError, check, probe
from conformance.engine.run import RunRecord, execute, select
from conformance.engine.state import RunState

__all__ = [
    "CHECKS",
    "PROBES",
    "CheckDef",
    "ProbeDef",
    "RegistryError",
    "RunRecord",
    "RunState",
    "check",
    "execute",
    "probe",
    "select",
]
