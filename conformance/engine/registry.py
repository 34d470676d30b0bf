"""The registry: probes (the requests a run sends) and checks (one requirement judged from them).

Both are plain functions, registered by decorators, in the manner of schemathesis'
``core/registries.py``::

    @probe
    def chat_stream(client: HttpClient, chat_model: str) -> StreamExchange:
        return probes.chat_stream(client, chat_model)

    @check("CHAT-STREAM-003", needs="chat")
    def stream_ends_with_done(chat_stream: StreamExchange) -> None:
        ...

A probe's parameters name other probes, or ``run_state`` (the run itself); a check's parameters name
probes (and ``case`` for a check registered once per case). What a check raises decides its outcome
(see :mod:`conformance.engine.judge`). Neither knows about pytest: the pytest plugin is one adapter
over this registry, the CLI another.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

from conformance.core.catalogue import DECLARABLE_CAPABILITIES, CatalogueError, load_catalogue

ROOT = "run_state"  # the one argument of a probe that is not itself a probe
CASE = "case"  # the argument that receives a check's case value

F = TypeVar("F", bound=Callable[..., Any])


class RegistryError(RuntimeError):
    """A declaration the engine cannot use: an unknown id or argument, a cycle, a name used twice."""


@dataclass(frozen=True)
class ProbeDef:
    name: str
    func: Callable[..., Any]
    argnames: tuple[str, ...]
    after: tuple[str, ...]  # probes that must have finished first, when this run sends them too
    slow: bool  # queued before the others; the checks that read it are judged last
    generator: bool  # yields its value; the rest of the generator is its teardown
    origin: str
    last: bool = False  # sent after every other probe of the run that does not read it

    @property
    def source(self) -> str:
        return _source(self.func)


@dataclass(frozen=True)
class CheckDef:
    requirement: str
    func: Callable[..., Any]
    argnames: tuple[str, ...]  # the probes it reads (``case`` excluded)
    needs: tuple[str, ...]
    module: str  # the area module's short name, e.g. "chat_stream"
    case: str | None = None
    value: Any = field(default=None, compare=False)

    @property
    def name(self) -> str:
        """How reports name the check: ``chat_stream.py::test_x`` or ``errors.py::test_y[case]``."""
        base = f"{self.module}.py::{self.func.__name__}"
        return base if self.case is None else f"{base}[{self.case}]"

    @property
    def source(self) -> str:
        return _source(self.func)


PROBES: dict[str, ProbeDef] = {}
CHECKS: dict[str, CheckDef] = {}  # by name, in registration order


def _source(func: Callable[..., Any]) -> str:
    code = getattr(func, "__code__", None)
    path = inspect.getsourcefile(func) or "?"
    return f"{path}:{code.co_firstlineno if code else '?'}"


def probe(func: F | None = None, *, after: tuple[str, ...] = (), slow: bool = False, last: bool = False) -> Any:
    """Register a probe; the function is returned unchanged.

    ``after`` orders probes that touch the same state on the provider (cancel a job only after it was
    read); ``slow`` marks a long probe (the property run, the openai-node script): it is started first,
    and the checks that read it are judged after the others. ``last`` marks a request that may change
    how the provider treats the others -- an error about a configured model, which a gateway such as
    LiteLLM answers by putting that model in a cooldown for every client: it is sent after every other
    probe of the run (but those that read it), so no verdict depends on whether it came first.
    """

    def declare(func: F) -> F:
        name = func.__name__
        origin = f"{func.__module__}.{func.__qualname__}"
        known = PROBES.get(name)
        if known is not None and known.origin != origin:
            raise RegistryError(f"probe {name!r} is declared twice: {known.origin} and {origin}")
        argnames = tuple(inspect.signature(func).parameters)
        generator = inspect.isgeneratorfunction(func)
        PROBES[name] = ProbeDef(name, func, argnames, tuple(after), slow, generator, origin, last)
        return func

    return declare(func) if func is not None else declare


def check(
    requirement_id: str, *, needs: str | tuple[str, ...] = (), cases: Mapping[str, Any] | None = None
) -> Callable[[F], F]:
    """Bind a check function to a catalogue requirement; an unknown id is refused with the fix.

    ``needs`` declares preconditions (a model for a capability, an endpoint family the user did not
    declare absent); when one is not met the check is SKIP or UNSUPPORTED without running. ``cases``
    registers the function once per case, its value passed as the ``case`` argument.
    """
    if requirement_id not in load_catalogue():
        raise CatalogueError(
            f"@check({requirement_id!r}): no such id in spec/requirements.yaml; add the requirement there first"
        )
    needed = (needs,) if isinstance(needs, str) else tuple(needs)
    unknown = [need for need in needed if need not in DECLARABLE_CAPABILITIES]
    if unknown:
        raise CatalogueError(
            f"@check({requirement_id!r}): unknown needs {unknown}; known: {', '.join(DECLARABLE_CAPABILITIES)}"
        )

    def register(func: F) -> F:
        module = func.__module__.rsplit(".", 1)[-1]
        argnames = tuple(arg for arg in inspect.signature(func).parameters if arg != CASE)
        variants = [(None, None)] if cases is None else list(cases.items())
        for case, value in variants:
            definition = CheckDef(requirement_id, func, argnames, needed, module, case, value)
            known = CHECKS.get(definition.name)
            if known is not None and known.func.__qualname__ != func.__qualname__:
                raise RegistryError(f"check {definition.name!r} is declared twice")
            CHECKS[definition.name] = definition
        return func

    return register


@cache
def load() -> None:
    """Import every probe and check module of the suite (registration happens on import)."""
    for package in ("conformance.probes", "conformance.checks"):
        root = importlib.import_module(package)
        for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda m: m.name):
            importlib.import_module(f"{package}.{info.name}")


def all_checks() -> list[CheckDef]:
    """Every registered check, in judging order: by area module, then as declared."""
    load()
    return sorted(CHECKS.values(), key=lambda c: c.module)


def closure(names: Iterable[str]) -> set[str]:
    """The probes named and every probe they depend on."""
    seen: set[str] = set()
    pending = [name for name in names if name in PROBES]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        pending.extend(arg for arg in PROBES[name].argnames if arg in PROBES)
    return seen


def reads_slow(definition: CheckDef) -> bool:
    """Whether a check reads a slow probe, directly or through another probe (it is judged last)."""
    return any(PROBES[name].slow for name in closure(definition.argnames))


def checks_of(requirement_id: str) -> list[CheckDef]:
    return [c for c in all_checks() if c.requirement == requirement_id]
