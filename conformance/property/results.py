"""What a property run found: findings sorted into :data:`CLASSES` (each ``PROP`` requirement reports one),
and the two rules of our own that sort them (:func:`classify`, :func:`envelope_problem`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Final

from conformance.core.results import Evidence

# Failure classes; each PROP requirement reports one.
SCHEMA, STATUS, CONTENT_TYPE = "schema", "status", "content_type"
VALID_5XX, INVALID_INPUT, AUTH = "valid_5xx", "invalid_input", "auth"
ENVELOPE, REACHABILITY, EDGE_VALUES = "envelope", "reachability", "edge_values"
CLASSES: Final = (SCHEMA, STATUS, CONTENT_TYPE, VALID_5XX, INVALID_INPUT, AUTH, ENVELOPE, REACHABILITY, EDGE_VALUES)
# schemathesis failure codes by class. ST101/ST102 (5xx) are reported by our own check, which knows
# whether the request was valid; ST203 depends on the header that was left out.
_CODE_CLASS: Final = {
    "ST103": STATUS,
    "ST104": CONTENT_TYPE,
    "ST105": CONTENT_TYPE,
    "ST106": CONTENT_TYPE,
    "ST107": CONTENT_TYPE,
    "ST108": SCHEMA,
    "ST109": SCHEMA,
    "ST110": SCHEMA,
    "ST111": SCHEMA,
    "ST201": INVALID_INPUT,
    "ST202": VALID_5XX,
    "ST204": STATUS,
    "ST205": STATUS,
    "ST401": AUTH,
}
MAX_KEPT: Final = 20  # findings kept per class (all are counted)


@dataclass(frozen=True)
class PropertyFailure:
    """One finding, already redacted: the schemathesis failure code (or ours, OAI-*), its title and
    "Received / Expected" message, the operation and a curl reproducer."""

    klass: str
    code: str
    title: str
    message: str
    operation: str
    reproduce: str
    evidence: Evidence | None = None
    timeout: bool = False  # the provider did not answer (reported TIMEOUT, not FAIL)


# Findings that are a hand-written requirement's behaviour on another operation: (class, the schema the
# answer broke, the property missing or of the wrong type) → that requirement. When it FAILs too, a
# property check whose every finding it owns is SKIP "see" it (one behaviour, one finding: an error
# without `param` is ERR-002's, whichever endpoint answered it).
OWNED: dict[tuple[str, str, str], str] = {
    (SCHEMA, "/components/schemas/Error", "param"): "ERR-002",  # missing, or neither a string nor null
    (SCHEMA, "/components/schemas/Error", "code"): "ERR-002",
    (SCHEMA, "/components/schemas/CreateChatCompletionResponse/properties/choices/items", "logprobs"): "CHAT-008",
    (
        SCHEMA,
        "/components/schemas/CreateChatCompletionResponse/properties/choices/items/properties/message",
        "refusal",
    ): ("CHAT-008"),
}
_MISSING = re.compile(r'\A"([^"]+)" is a required property$', re.MULTILINE)
_WRONG_TYPE = re.compile(r"\A.* is not of types? ", re.MULTILINE)
_SCHEMA_AT = re.compile(r"^Schema at (\S+?):?$", re.MULTILINE)


def owner_of_finding(finding: PropertyFailure) -> str | None:
    """The requirement whose behaviour one finding is (:data:`OWNED`), or None: its own. The finding is a
    schema's required property missing, or a property of the wrong type (schemathesis' ST108 message)."""
    at = _SCHEMA_AT.search(finding.message)
    if at is None:
        return None
    schema, missing = at.group(1), _MISSING.search(finding.message)
    if missing is not None:
        return OWNED.get((finding.klass, schema, missing.group(1)))
    parent, _, name = schema.rpartition("/properties/")
    if _WRONG_TYPE.search(finding.message) and parent:
        return OWNED.get((finding.klass, parent, name))
    return None


@dataclass
class PropertyRun:
    """What the property run found; each PROP check reads one class."""

    operations: tuple[str, ...] = ()
    declined: tuple[str, ...] = ()  # capabilities the provider honestly declines (left out)
    failures: dict[str, list[PropertyFailure]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    owners: dict[str, set[str | None]] = field(default_factory=dict)  # class -> whose every finding is (OWNED)
    judged: dict[str, int] = field(default_factory=dict)  # class -> how many answers it judged
    reached: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)  # our harness (or schemathesis) broke
    budget: str | None = None  # why the run stopped early, when a budget ran out
    unanswered: list[str] = field(default_factory=list)  # requests that got no answer in time
    blocked: str | None = None  # why the circuit breaker stopped requests (the provider went silent)
    skipped: str | None = None  # why nothing was run at all
    requests: int = 0
    duration_s: float = 0.0
    edge_cases: tuple[str, ...] = ()

    def add(self, failure: PropertyFailure) -> None:
        self.counts[failure.klass] = self.counts.get(failure.klass, 0) + 1
        owner = owner_of_finding(failure)
        self.owners.setdefault(failure.klass, set()).add(owner)
        kept = self.failures.setdefault(failure.klass, [])
        # One of a kind per operation; a finding of its own is kept beside another requirement's of the same
        # code and operation (it is what makes the class FAIL when the other is deferred).
        duplicate = any(
            f.code == failure.code and f.operation == failure.operation and owner_of_finding(f) == owner for f in kept
        )
        if len(kept) < MAX_KEPT and not duplicate:
            kept.append(failure)

    def judge(self, klass: str, count: int = 1) -> None:
        self.judged[klass] = self.judged.get(klass, 0) + count

    def judge_answer(self) -> None:
        """One answer went through schemathesis' status, content-type and schema checks."""
        for klass in (SCHEMA, STATUS, CONTENT_TYPE):
            self.judge(klass)

    def absorb(self, part: Fragment) -> None:
        """Take in what one operation's generated cases found (in a worker), as if found here."""
        for failure in part.added:
            self.add(failure)
        for klass, count in part.judged.items():
            self.judge(klass, count)
        self.reached |= part.reached
        self.errors.extend(part.errors)
        self.unanswered.extend(part.unanswered)
        self.budget = self.budget or part.budget
        self.blocked = self.blocked or part.blocked


@dataclass
class Fragment(PropertyRun):
    """What one operation's generated cases found in a worker process: every finding in the order it was
    found, for the run to add in the order of the operations (:meth:`PropertyRun.absorb`)."""

    added: list[PropertyFailure] = field(default_factory=list)

    def add(self, failure: PropertyFailure) -> None:
        self.added.append(failure)


_ENVELOPE_SHAPE: Final = 'Expected: {"error": {"message": "...", "type": "...", ...}}'


def envelope_problem(content: bytes) -> str | None:
    """Why a 4xx body is not the OpenAI error envelope (ERR-001's rule, on every operation), or None."""
    try:
        payload = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return f"Received: a body that is not JSON: {content[:120].decode('utf-8', 'replace')!r}\n{_ENVELOPE_SHAPE}"
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return f"Received: {json.dumps(payload)[:200]}\n{_ENVELOPE_SHAPE}"
    missing = [key for key in ("message", "type") if not isinstance(error.get(key), str)]
    if missing:
        return (
            f"Received: an error without string {' and '.join(missing)}: {json.dumps(error)[:200]}\n{_ENVELOPE_SHAPE}"
        )
    return None


def classify(code: str, message: str) -> str | None:
    """The class of a schemathesis failure code (None: judged by our own 5xx check instead)."""
    if code in ("ST101", "ST102"):
        return None
    if code == "ST203":
        return AUTH if "authorization" in message.lower() else INVALID_INPUT
    return _CODE_CLASS.get(code, STATUS)
