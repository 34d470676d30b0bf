"""What an official client made of the provider's answers, and the outcome a check reports for it.

An exception the SDK raised because of what the provider sent (an ``openai`` error, a pydantic or JSON
error, a TypeError inside the stream helper...) is a FAIL naming the exception; a transport timeout is
TIMEOUT; an honest 404/405/501 with an error envelope is UNSUPPORTED; the run's limits (a budget, a
request for another origin) are SKIP or FAIL as the suite's own requests are; anything raised by our own
code is ERROR.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai

from conformance import expect
from conformance.core.results import ProviderTimeout, Unsupported, Violation
from conformance.transport.exchange import Exchange
from conformance.transport.limits import BudgetExhausted
from conformance.transport.policy import LeftOrigin

PYTHON = "openai-python"
PYTHON_STRICT = "openai-python strict"
NODE = "openai-node"

_SDK_PACKAGES = ("openai", "pydantic", "pydantic_core", "httpx", "httpx2", "json", "typing_extensions", "anyio")
# Both spellings: tracebacks name files as imported, which may go through a symlinked site-packages.
_OPENAI_DIRS = tuple({str(Path(openai.__file__).parent), str(Path(openai.__file__).resolve().parent)})


# -- one run of one flow ----------------------------------------------------------------------------------


@dataclass
class SdkRun:
    """What one flow did with one client: the value it produced or what it raised, and its exchanges."""

    client: str  # "openai-python", "openai-python strict" or "openai-node"
    what: str  # the calls, as a user writes them: "client.models.list()"
    value: Any = None
    error: BaseException | None = None
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def evidence(self) -> list[Exchange]:
        """The exchanges, the last one (the answer the client was reading when it broke) first."""
        return list(reversed(self.exchanges))


@dataclass
class SdkOutcome:
    """A flow run by openai-python, then (when the plain client raised nothing) by the strict client."""

    plain: SdkRun
    strict: SdkRun | None = None


class NodeError(Exception):
    """What openai-node (or the user-level code of the script) threw in one flow."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.cls = str(info.get("class") or "Error")
        self.message = str(info.get("message") or "")
        self.status = info.get("status") if isinstance(info.get("status"), int) else None
        self.code = info.get("code")
        self.type = info.get("type")
        self.param = info.get("param")
        self.budget = bool(info.get("budget"))
        self.origin = bool(info.get("origin"))
        super().__init__(f"{self.cls}: {self.message}")


# -- judging what a client raised ----------------------------------------------------------------------------


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _inside_sdk(exc: BaseException) -> bool:
    """Raised from within a call into the SDK (its parsers and helpers), not by our own code.

    Our code touching an SDK object wrongly fails in pydantic or builtins without an ``openai`` frame on
    the way; what the provider's answer makes the SDK raise always passes through the SDK's own code.
    """
    return any(frame.filename.startswith(_OPENAI_DIRS) for frame in traceback.extract_tb(exc.__traceback__))


def _provider_caused(run: SdkRun, exc: BaseException) -> bool:
    """Whether the provider's answer made the SDK raise ``exc``.

    Every ``openai`` error comes from an answer (or its absence). Anything else counts only when the SDK's
    own code raised it after an answer arrived: an exception before any answer, or one raised by our own
    code, is the suite's bug.
    """
    if isinstance(exc, openai.OpenAIError | NodeError):
        return True
    answered = any(exchange.status is not None for exchange in run.exchanges)
    return answered and _inside_sdk(exc)


def describe(exc: BaseException) -> str:
    """``openai.NotFoundError: Error code: 404 - {...}`` (one line, bounded)."""
    name = exception_name(exc)
    message = " ".join(str(exc.message if isinstance(exc, NodeError) else exc).split())
    return f"{name}: {message[:400]}" if message else f"{name}{_where(exc)}"


def _where(exc: BaseException) -> str:
    """Where a message-less exception (a bare ``assert`` in the SDK) was raised: `` at openai/...py:123``."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    parts = Path(last.filename).parts
    package = next((i for i, part in enumerate(parts) if part in _SDK_PACKAGES), None)
    where = "/".join(parts[package:]) if package is not None else Path(last.filename).name
    code = f" ({last.line.strip()})" if last.line else ""
    return f" at {where}:{last.lineno}{code}"


def error_fields(exc: BaseException) -> str:
    """The fields an error handler reads: ``status 404, code 'model_not_found', type ..., param ...``."""
    status = getattr(exc, "status_code", None) if not isinstance(exc, NodeError) else exc.status
    parts = [f"status {status}"] if status is not None else []
    parts += [f"{name} {getattr(exc, name, None)!r}" for name in ("code", "type", "param")]
    return ", ".join(parts)


def _cause(exc: BaseException) -> str | None:
    """Why a validation error was raised: the pydantic errors (bounded), which say which field broke."""
    cause = exc.__cause__
    if cause is None or isinstance(exc, openai.APIStatusError):
        return None
    text = str(cause).strip()
    return f"Caused by {type(cause).__name__}: {text[:800]}" if text else None


def _declined(run: SdkRun, exc: BaseException) -> bool:
    """An honest refusal of the capability, by the one rule (:func:`conformance.expect.declines`)."""
    status = exc.status if isinstance(exc, NodeError) else getattr(exc, "status_code", None)
    if not run.exchanges:
        return False
    return expect.declines(status, expect.error_envelope_or_none(run.exchanges[-1]) is not None)


def raise_for_error(run: SdkRun, *, expected: str, declinable: bool = True) -> None:
    """Turn what the client raised into the check's outcome; return when it raised nothing.

    ``expected`` says what a user expects to get instead ("a ChatCompletion"). With ``declinable``, an
    honest 404/405/501 refusal is UNSUPPORTED rather than a failure.
    """
    exc = run.error
    if exc is None:
        return
    raise_for_limits(run, exc, expected)
    if declinable and _declined(run, exc):
        raise Unsupported(f"{run.what}: the provider declined it ({describe(exc)})")
    if not _provider_caused(run, exc):
        raise exc  # a bug in the suite: reported ERROR with its traceback
    raise Violation(
        f"{run.client}: {run.what} raised {exception_name(exc)}",
        expected=expected,
        actual=describe(exc),
        detail=details(exc),
        evidence=run.evidence,
    )


def exception_name(exc: BaseException) -> str:
    """``openai.NotFoundError``, ``json.JSONDecodeError``, ``TypeError`` (builtins bare), or node's class."""
    if isinstance(exc, NodeError):
        return exc.cls
    module = type(exc).__module__.split(".", 1)[0]
    return type(exc).__name__ if module == "builtins" else f"{module}.{type(exc).__name__}"


def details(exc: BaseException) -> str | None:
    """What explains an exception beyond its message: the pydantic errors, the error fields."""
    found = [_cause(exc)] if _cause(exc) else []
    if isinstance(exc, openai.APIStatusError) or (isinstance(exc, NodeError) and exc.status is not None):
        found.append(f"Error fields: {error_fields(exc)}")
    return "\n".join(item for item in found if item) or None


def raise_for_limits(run: SdkRun, exc: BaseException, expected: str) -> None:
    """The outcomes that are not about the client's behaviour: the run's limits, a timeout, a redirect away."""
    for link in _chain(exc):
        if isinstance(link, BudgetExhausted):
            raise link
        if isinstance(link, LeftOrigin):
            raise Violation(
                f"{run.client} was sent to another origin",
                expected="every request to the target's own origin",
                actual=str(link),
                evidence=run.evidence,
            )
    if isinstance(exc, NodeError) and exc.budget:
        raise BudgetExhausted(f"request budget spent before {run.what}")
    if isinstance(exc, NodeError) and exc.origin:
        raise Violation(
            f"{run.client} was sent to another origin",
            expected="every request to the target's own origin",
            actual=exc.message,
            evidence=run.evidence,
        )
    if isinstance(exc, openai.APITimeoutError) or (isinstance(exc, NodeError) and "Timeout" in exc.cls):
        raise ProviderTimeout(
            f"{run.client}: {run.what} timed out",
            expected=expected,
            actual=describe(exc),
            evidence=run.evidence,
        )


def wrong_value(run: SdkRun, title: str, *, expected: str, actual: str, pointer: str | None = None) -> Violation:
    """A client that raised nothing but handed the user a wrong value."""
    return Violation(f"{run.client}: {title}", expected=expected, actual=actual, pointer=pointer, evidence=run.evidence)


def read(run: SdkRun, value: Any, path: str) -> Any:
    """Read ``path`` (``.choices[0].delta.content``) off an SDK object, the way a user's code does.

    When the provider's answer makes that read fail (lenient models lack attributes they never received),
    the user's code would fail the same way: a Violation naming the read and the exception.
    """
    current = value
    for step in re.findall(r"\.(\w+)|\[(\d+)\]", path):
        name, index = step
        try:
            current = getattr(current, name) if name else current[int(index)]
        except (AttributeError, IndexError, KeyError, TypeError) as exc:
            raise wrong_value(
                run,
                f"reading {path} raised {type(exc).__name__}",
                expected=f"{path} as documented",
                actual=f"{type(exc).__name__}: {exc}",
            ) from None
    return current
