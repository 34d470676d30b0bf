"""The fault registry: :class:`Fault`, :data:`FAULTS`, :data:`SITES`, :func:`fault`, :func:`variation` and
:class:`FaultSet`, the active faults of one app.

A fault is a function registered with :func:`fault` at one *site* -- a point where the app passes a
value through :meth:`FaultSet.apply` before using it.  The function is called as
``apply(value, **ctx)`` and returns the (possibly replaced) value.  It must accept ``**ctx`` even when
it ignores it, so sites can pass more context later, and should name its first parameter ``value``
(ctx keys never use that name).

Sites, and what ``value`` is there:

``policy``
    The :class:`~conformance.reference.policy.Policy` (once, when the app is created); return
    ``dataclasses.replace(policy, ...)``.
``request``
    The parsed JSON request body of a POST, before validation (ctx ``path=`` the request path);
    return a (possibly rewritten) body, or an :class:`~conformance.reference.errors.ApiError` to
    answer with instead (it goes through the ``error`` site like every error).
``models.list`` / ``models.retrieve``
    The response dict before serialisation.
``chat.response`` / ``completion.response`` / ``embedding.response``
    The response dict (ctx ``request=`` the request body dict).
``chat.chunks`` / ``completion.chunks``
    Every stream item before serialisation: dict chunks, then the literal string ``"[DONE]"``
    (ctx ``request=``).
``images.request``
    The parameters dict (JSON body of a generation, text fields of an edit or variation) before
    validation; ctx ``route="generations"|"edits"|"variations"``.
``images.response`` / ``moderations.response`` / ``edits.response``
    The response dict (ctx ``route=`` and ``base_url=`` for images, ``request=`` the body otherwise).
``files.request``
    The text fields of an upload before validation (ctx ``route="upload"``).
``files.response`` / ``fine_tunes.response`` / ``engines.response``
    The response dict; ctx ``route=`` says which operation ("upload", "list", "retrieve" for files;
    "create", "list", "retrieve", "cancel", "events" for fine-tunes; "list", "retrieve" for engines).
``files.content``
    ``(bytes, media_type)`` of ``GET /files/{id}/content`` (ctx ``file=`` the stored file).
``files.delete`` / ``models.delete``
    ``(status, payload or None for an empty body, really_delete)`` of a DELETE that found its object
    (ctx ``file_id=`` / ``model_id=``).
``fine_tunes.stream``
    The items of a streamed event list: event dicts, then ``"[DONE]"`` (ctx ``request=``).
``responses.response``
    The JSON answer of a Responses API route (ctx ``route="create"|"retrieve"|"delete"|"input_items"|"cancel"``,
    ``request=`` the body of a create, None otherwise). For ``cancel`` the value is the answer or the
    :class:`~conformance.reference.errors.ApiError` refusing it (either may be returned), with ctx
    ``terminal=`` (the response had finished before this cancel) and ``stored=`` (the response object).
``responses.events``
    The event dicts of a streamed response, each with its ``sequence_number`` (ctx ``request=``).
``stream.frames``
    The ``bytes`` wire pieces after serialisation, one SSE event each including its blank line;
    each list item is sent as its own body message (ctx ``request=``, ``kind="chat"|"completion"``).
``stream.headers``
    The dict of response headers of a stream (ctx ``request=``, ``kind=``).
``error``
    A ``(status, payload)`` tuple for every error response, including 401, 404 and 405
    (ctx ``api_error=`` the :class:`~conformance.reference.errors.ApiError`, ``path=`` the request
    path); any JSON-serialisable
    payload may be returned.
``asgi``
    The whole ASGI app; return a wrapped app (middleware).  Applied last, outermost.

Active faults at one site run in sorted-name order.

A fault may declare *parameters* with their defaults (``params={"seconds": 45.0}``): a timing fault's
delays are real-world figures by default, and a test passes short ones. A fault named with parameters
(``"transport-stall;seconds=2;after=30"``, the same in a ``/_fault/`` URL) gets them, merged over its
defaults, as ``params=`` beside the site's ctx; a fault without parameters never gets that key.

While a request is traced (:data:`TRACE` holds a set, see
:class:`~conformance.reference.middleware.TraceMiddleware`), every :meth:`FaultSet.apply` adds its site
to that set, whether or not a fault is active there.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, TypeVar

__all__ = ["FAULTS", "SITES", "TRACE", "Fault", "FaultSet", "fault", "variation"]

F = TypeVar("F", bound=Callable[..., Any])

SITES: Final = (
    "policy",
    "request",
    "models.list",
    "models.retrieve",
    "chat.response",
    "chat.chunks",
    "completion.response",
    "completion.chunks",
    "embedding.response",
    # images, moderations, files, fine-tunes, edits, engines, model delete
    "images.request",
    "images.response",
    "moderations.response",
    "files.request",
    "files.response",
    "files.content",
    "files.delete",
    "fine_tunes.response",
    "fine_tunes.stream",
    "edits.response",
    "engines.response",
    "models.delete",
    "responses.response",
    "responses.events",
    "stream.frames",
    "stream.headers",
    "error",
    "asgi",
)

#: The sites the request being handled has passed through, or None when it is not traced.
TRACE: ContextVar[set[str] | None] = ContextVar("oai_conformance_trace", default=None)

_KEBAB: Final = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass(frozen=True, slots=True)
class Fault:
    name: str  # kebab-case, e.g. "stream-no-done"
    site: str  # where it applies, one of SITES
    summary: str  # one line: what the provider does wrong
    seen_in: str  # the real-world server/issue it is modelled on
    apply: Callable[..., Any]
    legal: bool = False  # a *variation*: legal behaviour that must not make any check fail
    # Parameter defaults (numbers); a fault with none is called without ``params=``.
    params: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))


#: Every registered fault (and variation) by name.
FAULTS: dict[str, Fault] = {}


def fault(
    name: str,
    *,
    site: str,
    summary: str,
    seen_in: str,
    legal: bool = False,
    params: Mapping[str, float] | None = None,
) -> Callable[[F], F]:
    """Decorator: register the function as the fault ``name`` at ``site``; returns the function unchanged."""
    if site not in SITES:
        raise ValueError(f"fault {name!r}: unknown site {site!r}; sites are: {', '.join(SITES)}")
    if not _KEBAB.fullmatch(name):
        raise ValueError(f"fault name {name!r} is not kebab-case")
    if name in FAULTS:
        raise ValueError(f"duplicate fault name {name!r}")

    def register(function: F) -> F:
        if name in FAULTS:
            raise ValueError(f"duplicate fault name {name!r}")
        defaults = MappingProxyType({key: float(value) for key, value in (params or {}).items()})
        FAULTS[name] = Fault(name, site, summary, seen_in, function, legal, defaults)
        return function

    return register


def variation(
    name: str, *, site: str, summary: str, seen_in: str, params: Mapping[str, float] | None = None
) -> Callable[[F], F]:
    """Register a legal variation: behaviour the contract allows, which no check may fail."""
    return fault(name, site=site, summary=summary, seen_in=seen_in, legal=True, params=params)


def parse_spec(spec: str) -> tuple[str, dict[str, float]]:
    """``"name;key=value;key=value"`` → the fault's name and the parameters given (ValueError when malformed
    or unknown to the fault)."""
    name, *pairs = spec.split(";")
    given: dict[str, float] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        try:
            given[key] = float(raw)
        except ValueError:
            sep = ""
        if not sep or not key:
            raise ValueError(f"fault {name!r}: parameters are key=number, got {pair!r}")
    known = FAULTS[name].params if name in FAULTS else given
    unknown = sorted(set(given) - set(known))
    if unknown:
        choices = ", ".join(sorted(known)) or "none"
        raise ValueError(f"fault {name!r} has no parameter {', '.join(unknown)} (its parameters: {choices})")
    return name, given


def _unknown(name: str) -> str:
    """An unknown fault's name, with the closest known names (there are hundreds)."""
    close = difflib.get_close_matches(name, FAULTS, n=3, cutoff=0.6)
    return f"{name} (did you mean {', '.join(close)}?)" if close else name


class FaultSet:
    """The active faults of one app.  ``FaultSet()`` is the clean, conformant provider."""

    __slots__ = ("_by_site", "names", "params")

    def __init__(self, names: Iterable[str] = ()) -> None:
        # A bare string is one fault name, not an iterable of one-letter names.
        specs = [parse_spec(spec) for spec in ((names,) if isinstance(names, str) else names)]
        chosen = frozenset(name for name, _ in specs)
        unknown = sorted(chosen - FAULTS.keys())
        if unknown:
            listed = "`oai-conformance serve --list-faults` lists them all"
            raise ValueError(f"unknown fault(s): {'; '.join(map(_unknown, unknown))} ({listed})")
        self.names: frozenset[str] = chosen
        # Every parameterised fault's parameters: its defaults, with what its spec gave over them.
        self.params: dict[str, dict[str, float]] = {name: dict(FAULTS[name].params) for name in chosen}
        for name, given in specs:
            self.params[name].update(given)
        self._by_site: dict[str, tuple[Fault, ...]] = {
            site: tuple(FAULTS[name] for name in sorted(chosen) if FAULTS[name].site == site) for site in SITES
        }

    def apply(self, site: str, value: Any, **ctx: Any) -> Any:
        """Pass ``value`` through every active fault at ``site`` (sorted by name); return the result."""
        try:
            active = self._by_site[site]
        except KeyError:
            raise ValueError(f"unknown site {site!r}; sites are: {', '.join(SITES)}") from None
        trace = TRACE.get()
        if trace is not None:
            trace.add(site)
        for item in active:
            value = item.apply(value, **ctx, params=self.params[item.name]) if item.params else item.apply(value, **ctx)
        return value

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.names))

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"FaultSet({sorted(self.names)!r})"
