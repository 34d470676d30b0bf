"""The probes: ``@probe`` functions by area, each a request (or a flow) the checks of that area read.

The request builders they call are in :mod:`conformance.builders`; the engine sends each probe at most
once per run, and only if a selected check reads it."""
