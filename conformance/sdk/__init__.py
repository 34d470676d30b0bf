"""The real-client oracle: the official SDKs driven against the target through the run's one transport
policy, and what they made of it.

* :mod:`.python` -- openai-python in-process, ``http_client=httpx.Client(transport=policy)``;
* :mod:`.node` -- openai-node in a subprocess, its requests sent on through the policy by the loopback
  :mod:`.forwarder`;
* :mod:`.outcomes` -- a flow's run, and the outcome a check reports for what the client raised.
"""

from conformance.sdk.node import (
    CACHE_ENV,
    NODE_OPENAI_VERSION,
    NodeResults,
    NodeRun,
    NodeSetup,
    cache_dir,
    prepare_node,
    run_node,
)
from conformance.sdk.outcomes import (
    NODE,
    PYTHON,
    PYTHON_STRICT,
    NodeError,
    SdkOutcome,
    SdkRun,
    describe,
    details,
    error_fields,
    exception_name,
    raise_for_error,
    raise_for_limits,
    read,
    wrong_value,
)
from conformance.sdk.python import PythonSdk, Replay
from conformance.transport.policy import LeftOrigin

__all__ = [
    "CACHE_ENV",
    "NODE",
    "NODE_OPENAI_VERSION",
    "PYTHON",
    "PYTHON_STRICT",
    "LeftOrigin",
    "NodeError",
    "NodeResults",
    "NodeRun",
    "NodeSetup",
    "PythonSdk",
    "Replay",
    "SdkOutcome",
    "SdkRun",
    "cache_dir",
    "describe",
    "details",
    "error_fields",
    "exception_name",
    "prepare_node",
    "raise_for_error",
    "raise_for_limits",
    "read",
    "run_node",
    "wrong_value",
]
