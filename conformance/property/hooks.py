"""A schema of a property run and the hooks it runs for every case: the run's admission (a spent share of
the budget, a provider gone silent), the shaping of generated bodies (models, token limits, real files)
and the booking of requests that got no answer.

The run (:class:`~conformance.property.driver.PropertyDriver`) and its worker processes
(:mod:`conformance.property.worker`) load their schemas here; how a case is admitted and which ``requests``
adapter sends it (the policy itself, or the relay to the run) is theirs.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Final

from conformance.property.config import schemathesis_config
from conformance.property.spec import FILE_FIELDS, is_multipart, shape_body, subset
from conformance.property.verdicts import Verdicts
from conformance.property.wire import through_adapter

if TYPE_CHECKING:
    from requests.adapters import HTTPAdapter
    from schemathesis.generation.case import Case

_RUN_KEY: Final = "x-oai-conformance-run"


class CaseHooks(Verdicts):
    """The state the hooks of a run's schemas act on; the run or the worker provides it."""

    operations: dict[str, dict[str, Any]]  # label -> operation of the description
    models: dict[str, str]
    hand_built: set[int]  # ids of hand-built cases: charged, never reshaped
    auth_probed: set[str]
    lock: threading.Lock

    def _admit(self, case: Case, reserve: int) -> None:
        """Let ``case`` go out with room for ``reserve`` more requests after it, or raise Stop."""
        raise NotImplementedError

    def _adapter(self) -> HTTPAdapter:
        """The ``requests`` adapter every request of a schema goes out through."""
        raise NotImplementedError

    def _load(self, spec: dict[str, Any], labels: set[str]) -> Any:
        import schemathesis

        selected = subset(spec, labels)
        selected[_RUN_KEY] = id(self)
        config = schemathesis_config(self.target, self.operations, labels)
        schema = schemathesis.openapi.from_dict(selected, config=config)
        shape_files = self._shape_files

        # A map_body hook of this schema only; schemathesis annotates hook functions, which a bound
        # method does not allow.
        def map_body(context: Any, body: Any) -> Any:
            return shape_files(context, body)

        schema.hook(map_body)
        hooks = self

        def after_network_error(context: Any, case: Case, request: Any) -> None:
            with hooks.lock:
                hooks.result.unanswered.append(f"{case.operation.label}: no answer within {hooks.target.timeout:g} s")

        schema.hook(after_network_error)
        return through_adapter(schema, self._adapter())

    def before_call(self, case: Case) -> None:
        """Admit the case (the run stops when its share, with room for the probes its checks send, is spent
        or the provider went silent everywhere); shape generated JSON bodies."""
        label = case.operation.label
        with self.lock:
            # The first authenticated 2xx of an operation makes ignored_auth send two probes (no key, a
            # wrong key) that pass no hook: keep room for them.
            reserve = 2 if self.target.api_key and label not in self.auth_probed else 0
        self._admit(case, reserve)
        operation = self.operations.get(label, {})
        if id(case) in self.hand_built or not isinstance(case.body, dict) or is_multipart(operation):
            return
        shape_body(case.body, operation.get("x-capability", ""), self.models, self.target.max_tokens)

    def _shape_files(self, context: Any, body: Any) -> Any:
        """Shape generated multipart bodies: real files instead of random bytes, and the same model and
        ``n`` limits as JSON bodies.

        It runs as map_body, when a case is generated and before schemathesis records whether it is
        valid: an edit in before_call makes it revalidate the body, and it calls every body holding
        binary data invalid (a positive case would turn negative). The coverage phase, which skips
        map_* hooks, is off.
        """
        from schemathesis.transport.serialization import Binary

        operation = getattr(context, "operation", None)
        spec = self.operations.get(operation.label, {}) if operation is not None else {}
        if not isinstance(body, dict) or not is_multipart(spec):
            return body
        for name, make in FILE_FIELDS.items():
            if isinstance(body.get(name), bytes | str):
                body[name] = Binary(make())
        shape_body(body, spec.get("x-capability", ""), self.models, self.target.max_tokens)
        return body


# -- the one global hook -----------------------------------------------------------------------------------

_HOOKED: dict[int, CaseHooks] = {}
_HOOK_LOCK = threading.Lock()
_hook_installed = False


def hooked(owner: CaseHooks) -> None:
    """Let ``owner`` act on the cases of the schemas it loads (until :func:`unhooked`)."""
    _install_hook()
    _HOOKED[id(owner)] = owner


def unhooked(owner: CaseHooks) -> None:
    _HOOKED.pop(id(owner), None)


def _install_hook() -> None:
    """Register our ``before_call`` once per process. schemathesis dispatches ``before_call`` to global
    hooks only; ours acts on the schemas of a running property run and leaves any other alone."""
    global _hook_installed
    with _HOOK_LOCK:
        if _hook_installed:
            return
        import schemathesis

        @schemathesis.hook("before_call")
        def _oai_conformance_before_call(context: Any, case: Case, kwargs: dict[str, Any]) -> None:
            raw = getattr(case.operation.schema, "raw_schema", None)
            key = raw.get(_RUN_KEY) if isinstance(raw, dict) else None
            owner = _HOOKED.get(key) if isinstance(key, int) else None
            if owner is not None:
                owner.before_call(case)

        _hook_installed = True
