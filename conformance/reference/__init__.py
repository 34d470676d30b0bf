"""The built-in reference provider: a small, deterministic, fully conformant OpenAI-compatible server.

It is the suite's default target, the fixture of the project's own tests, and -- with named
:data:`FAULTS` switched on -- a catalogue of real-world deviations, one rule broken per fault.
"""

from __future__ import annotations

from .app import create_app
from .auth import DEFAULT_API_KEY
from .catalog import REFERENCE_MODELS
from .faults import FAULTS, FaultSet
from .policy import Policy
from .server import ReferenceServer

__all__ = ["DEFAULT_API_KEY", "FAULTS", "REFERENCE_MODELS", "FaultSet", "Policy", "ReferenceServer", "create_app"]
