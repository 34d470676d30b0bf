"""pytest plugin: runs the checks in ``conformance.suite`` against a target and collects results.

Two ways in:

* ``oai-conformance run`` builds a :class:`RunState` and hands it to pytest (``run_suite``);
* ``pytest --pyargs conformance.suite --oai-base-url URL ...`` builds it from the ``--oai-*`` options.

A check is a test function marked with :func:`requirement`. Whatever happens inside it is mapped to
one outcome: a ``Violation`` is FAIL (or TIMEOUT), ``Unsupported`` is UNSUPPORTED, a skip is SKIP, any
other exception is ERROR (our bug, never blamed on the provider). The plugin is inert for tests that
carry no requirement marker.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance import probes
from conformance.core.catalogue import DECLARABLE_CAPABILITIES, Catalogue, CatalogueError, in_profile, load_catalogue
from conformance.core.results import (
    CheckResult,
    Evidence,
    NotApplicable,
    Outcome,
    Unsupported,
    Violation,
    violation_to_dict,
)
from conformance.probe_cache import ProbeCache, probe, reads_slow
from conformance.probes import ModelChoice
from conformance.target import MODEL_CAPABILITIES, Target, TargetConfigError
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange, StreamExchange
from conformance.transport.limits import BudgetExhausted

UNSUPPORTED_PREFIX = "[UNSUPPORTED]"
# Preconditions a check can declare: a model for chat/completions/embeddings, and for every endpoint
# family that the user has not declared absent with --capabilities.
NEEDS = DECLARABLE_CAPABILITIES

_STATE = pytest.StashKey["RunState"]()


def requirement(requirement_id: str, *, needs: str | tuple[str, ...] = ()) -> pytest.MarkDecorator:
    """Bind a check to a catalogue requirement; an unknown id fails collection with the fix.

    ``needs`` declares preconditions (a model for a capability); when one is not met the check is
    reported SKIP or UNSUPPORTED without running its body.
    """
    catalogue = load_catalogue()
    if requirement_id not in catalogue:
        raise CatalogueError(
            f"@requirement({requirement_id!r}): no such id in spec/requirements.yaml; add the requirement there first"
        )
    needed = (needs,) if isinstance(needs, str) else tuple(needs)
    unknown = [need for need in needed if need not in NEEDS]
    if unknown:
        raise CatalogueError(f"@requirement({requirement_id!r}): unknown needs {unknown}; known: {', '.join(NEEDS)}")
    return pytest.mark.requirement(requirement_id, needs=needed)


@dataclass
class RunState:
    """Everything one run shares: the target, the client, the model choices and the results."""

    target: Target
    catalogue: Catalogue
    selected: frozenset[str] | None = None
    on_result: Callable[[CheckResult], None] | None = None
    results: list[CheckResult] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    finished: float | None = None
    _client: HttpClient | None = None
    _choices: dict[str, ModelChoice] = field(default_factory=dict)
    _listing: Exchange | None = None
    _listing_done: bool = False
    # Requirement ids of the checks this session collected (after --requirements and the profile).
    collected: frozenset[str] = frozenset()
    probes: ProbeCache = field(init=False)
    # Model discovery is shared by checks in the main thread and probes in prefetch workers.
    _discovery: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.probes = ProbeCache(self)
        # A profile narrows the selection once, here, so collection and the report agree on what ran.
        if self.target.profile != "all":
            members = frozenset(r.id for r in self.catalogue.active if in_profile(r, self.target.profile))
            self.selected = members if self.selected is None else self.selected & members

    @property
    def client(self) -> HttpClient:
        if self._client is None:
            self._client = HttpClient(self.target)
        return self._client

    def listing(self) -> Exchange | None:
        """``GET /models``, sent once; model discovery and the model checks share it."""
        with self._discovery:
            if not self._listing_done:
                self._listing_done = True
                try:
                    self._listing = probes.list_models(self.client)
                except BudgetExhausted:
                    self._listing = None
            return self._listing

    def model_choice(self, capability: str) -> ModelChoice:
        declared = self.target.capabilities
        if declared is not None and capability not in declared:
            # Declared absent: no model is probed for it (the user said there is none to find).
            return ModelChoice(capability, None, "declared", "unsupported", "not among the declared capabilities")
        with self._discovery:
            if capability not in self._choices:
                listing = None if self.target.models.get(capability) else self.listing()
                self._choices[capability] = probes.choose_model(self.client, capability, listing)
            return self._choices[capability]

    def record(self, result: CheckResult) -> None:
        self.results.append(result)
        if self.on_result is not None:
            self.on_result(result)

    def prefetch_workers(self) -> int:
        """Threads that send shared probes ahead of the checks: none at ``--concurrency 1`` (every request
        in check order, one at a time), else twice the limit (a worker may wait for a probe another one
        is sending; the HTTP client's slots keep the requests in flight within the limit)."""
        concurrency = self.target.concurrency
        return 0 if concurrency <= 1 else 2 * concurrency

    def close(self, *, interrupted: bool = False) -> None:
        # Probes still in flight are bounded by their own deadlines; an interrupted run does not wait.
        self.probes.close(wait_s=0.0 if interrupted else self.target.timeout)
        self.finished = time.time()
        if self._client is not None:
            self._client.close()


# -- options and configuration -------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("oai-conformance", "OpenAI-compatible API conformance (oai-conformance)")
    group.addoption(
        "--oai-base-url", default=None, help="Base URL of the provider, e.g. http://host/v1. Default: $OPENAI_BASE_URL"
    )
    group.addoption("--oai-api-key", default=None, help="API key. Default: $OPENAI_API_KEY")
    group.addoption("--oai-organization", default=None, help="OpenAI-Organization header. Default: %(default)r")
    group.addoption("--oai-chat-model", default=None, help="Model for chat checks. Default: probed from GET /models")
    group.addoption("--oai-completion-model", default=None, help="Model for completion checks. Default: probed")
    group.addoption("--oai-embedding-model", default=None, help="Model for embedding checks. Default: probed")
    group.addoption(
        "--oai-timeout", type=float, default=30.0, help="Per-request timeout in seconds. Default: %(default)r"
    )
    group.addoption(
        "--oai-max-requests", type=int, default=400, help="Request budget for the run. Default: %(default)r"
    )
    group.addoption(
        "--oai-max-tokens", type=int, default=16, help="max_tokens on generation requests. Default: %(default)r"
    )
    group.addoption(
        "--oai-run-timeout", type=float, default=None, help="Time limit of the whole run in seconds. Default: none"
    )
    group.addoption(
        "--oai-token-budget", type=int, default=None, help="Stop POSTs once this many tokens are billed. Default: none"
    )
    group.addoption("--oai-insecure", action="store_true", help="Do not verify TLS certificates. Default: verify")
    group.addoption("--oai-requirements", default=None, help="Comma-separated requirement ids to run. Default: all")
    group.addoption(
        "--oai-profile",
        default="all",
        choices=("core", "extended", "legacy", "all"),
        help="Which requirements run: core, extended (core + images, moderations, files), legacy. Default: all",
    )
    group.addoption(
        "--oai-capabilities",
        default=None,
        help="Comma-separated endpoint families the provider offers (chat, completions, embeddings, images, "
        "moderations, files, fine_tunes, edits, engines); the others are UNSUPPORTED. Default: probed",
    )
    group.addoption("--oai-report", default=None, help="Write report.json to this path. Default: no file")


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config.option, "tbstyle"):
        # No terminal plugin (the CLI's inner run): nobody reads pytest's tracebacks, so they are formatted
        # natively, without parsing the source of every frame of every failing check.
        config.option.tbstyle = "native"
    config.addinivalue_line(
        "markers", "requirement(id, needs=()): bind a check to a requirement of spec/requirements.yaml"
    )
    # The probes of the extended and legacy endpoints are shared by several check modules (an uploaded
    # file serves the files and the fine-tune checks): registered once as a plugin, each is sent once.
    from conformance.suite import _extended_probes

    if not config.pluginmanager.is_registered(_extended_probes):
        config.pluginmanager.register(_extended_probes, "conformance.extended_probes")


def _state(config: pytest.Config) -> RunState | None:
    state = config.stash.get(_STATE, None)
    if state is not None:
        return state
    base_url = config.getoption("--oai-base-url", None)
    import os

    if not base_url and not os.environ.get("OPENAI_BASE_URL"):
        return None
    try:
        target = Target.build(
            base_url,
            api_key=config.getoption("--oai-api-key"),
            organization=config.getoption("--oai-organization"),
            chat_model=config.getoption("--oai-chat-model"),
            completion_model=config.getoption("--oai-completion-model"),
            embedding_model=config.getoption("--oai-embedding-model"),
            timeout=config.getoption("--oai-timeout"),
            max_requests=config.getoption("--oai-max-requests"),
            max_tokens=config.getoption("--oai-max-tokens"),
            max_run_seconds=config.getoption("--oai-run-timeout", None),
            token_budget=config.getoption("--oai-token-budget", None),
            verify_tls=False if config.getoption("--oai-insecure", False) else None,
            profile=config.getoption("--oai-profile", "all"),
            capabilities=config.getoption("--oai-capabilities", None),
        )
    except TargetConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    only = config.getoption("--oai-requirements")
    selected = frozenset(part.strip() for part in only.split(",") if part.strip()) if only else None
    catalogue = load_catalogue()
    unknown = sorted((selected or frozenset()) - set(catalogue.ids()))
    if unknown:
        raise pytest.UsageError(f"--oai-requirements: unknown id(s) {', '.join(unknown)}; see 'oai-conformance list'")
    state = RunState(target=target, catalogue=catalogue, selected=selected)
    config.stash[_STATE] = state
    return state


def install_state(config: pytest.Config, state: RunState) -> None:
    config.stash[_STATE] = state


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    state = _state(config)
    if state is None:
        if any(item.get_closest_marker("requirement") for item in items):
            # One clear usage error, not an ERROR per check.
            raise pytest.UsageError(
                "no target: pass --oai-base-url URL (or set OPENAI_BASE_URL) to run the conformance suite"
            )
        return
    if state.selected is not None:
        keep, drop = [], []
        for item in items:
            marker = item.get_closest_marker("requirement")
            (keep if marker is None or marker.args[0] in state.selected else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    # The checks that read a slow probe (the property run, openai-node) go last: the others run while
    # it is computed instead of waiting behind it.
    items.sort(key=lambda item: reads_slow(item.fixturenames))


# -- fixtures -------------------------------------------------------------------------------------------


def _require_state(request: pytest.FixtureRequest) -> RunState:
    state = _state(request.config)
    if state is None:
        raise pytest.UsageError(
            "no target: pass --oai-base-url URL (or set OPENAI_BASE_URL) to run the conformance suite"
        )
    return state


@pytest.fixture(autouse=True)
def _oai_preconditions(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("requirement")
    if marker is None:
        return
    state = _require_state(request)
    needs: tuple[str, ...] = marker.kwargs.get("needs", ())
    declared = state.target.capabilities
    if declared is not None:
        capability = state.catalogue[marker.args[0]].capability
        for need in dict.fromkeys((*needs, capability)):
            if need in NEEDS and need not in declared:
                pytest.skip(f"{UNSUPPORTED_PREFIX} {need}: not among the declared capabilities (--capabilities)")
    for need in needs:
        if need not in MODEL_CAPABILITIES:
            continue  # endpoint families without a model: the check itself probes them
        choice = state.model_choice(need)
        if choice.status == "unsupported":
            pytest.skip(f"{UNSUPPORTED_PREFIX} {need}: {choice.detail}")
        if choice.model is None:
            pytest.skip(f"no model for {need}: {choice.detail}")


@pytest.fixture(scope="session")
def run_state(request: pytest.FixtureRequest) -> RunState:
    return _require_state(request)


@probe
def target(run_state: RunState) -> Target:
    return run_state.target


@probe
def client(run_state: RunState) -> HttpClient:
    return run_state.client


def _model(state: RunState, capability: str) -> str:
    # Session fixtures are set up before the precondition check: a capability declared absent must stop
    # its probes here, or they would be sent anyway.
    declared = state.target.capabilities
    if declared is not None and capability not in declared:
        pytest.skip(f"{UNSUPPORTED_PREFIX} {capability}: not among the declared capabilities (--capabilities)")
    choice = state.model_choice(capability)
    if choice.model is None:
        pytest.skip(f"no model for {capability}: {choice.detail}")
    return choice.model


@probe
def chat_model(run_state: RunState) -> str:
    return _model(run_state, "chat")


@probe
def completion_model(run_state: RunState) -> str:
    return _model(run_state, "completions")


@probe
def embedding_model(run_state: RunState) -> str:
    return _model(run_state, "embeddings")


@probe
def models_listing(run_state: RunState) -> Exchange:
    listing = run_state.listing()
    if listing is None:
        raise BudgetExhausted("the request budget was spent before GET /models")
    return listing


@probe
def chat_response(client: HttpClient, chat_model: str) -> Exchange:
    return probes.chat(client, chat_model)


@probe
def chat_stream(client: HttpClient, chat_model: str) -> StreamExchange:
    return probes.chat_stream(client, chat_model)


@probe
def completion_response(client: HttpClient, completion_model: str) -> Exchange:
    return probes.completion(client, completion_model)


@probe
def completion_stream(client: HttpClient, completion_model: str) -> StreamExchange:
    return probes.completion_stream(client, completion_model)


@probe
def embedding_response(client: HttpClient, embedding_model: str) -> Exchange:
    return probes.embedding(client, embedding_model)


# -- outcomes ------------------------------------------------------------------------------------------


def _evidence(state: RunState, items: tuple[Any, ...]) -> list[Evidence]:
    evidence: list[Evidence] = []
    for item in items:
        if isinstance(item, Exchange):
            evidence.append(item.evidence(state.client.redact))
        elif isinstance(item, Evidence):
            evidence.append(item)
    return evidence


def classify(exc: BaseException | None, state: RunState) -> tuple[Outcome, str, dict[str, Any] | None]:
    """Map what a check raised to an outcome, a one-line message and the violation record."""
    redact = state.client.redact
    if exc is None:
        return Outcome.PASS, "", None
    if isinstance(exc, Violation):
        record = violation_to_dict(exc, _evidence(state, exc.evidence))
        return exc.outcome, redact(exc.message), redact.walk(record)
    if isinstance(exc, Unsupported):
        return Outcome.UNSUPPORTED, redact(str(exc)), None
    if isinstance(exc, NotApplicable | BudgetExhausted):
        return Outcome.SKIP, redact(str(exc)), None
    if isinstance(exc, pytest.skip.Exception):
        reason = str(exc.msg) if hasattr(exc, "msg") else str(exc)
        if reason.startswith(UNSUPPORTED_PREFIX):
            return Outcome.UNSUPPORTED, redact(reason[len(UNSUPPORTED_PREFIX) :].strip()), None
        return Outcome.SKIP, redact(reason), None
    # Anything else is a bug in the suite, not the provider's failure.
    where = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return Outcome.ERROR, redact(f"harness error: {where}"), None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    marker = item.get_closest_marker("requirement")
    state = item.config.stash.get(_STATE, None)
    if marker is None or state is None:
        return report
    exc = call.excinfo.value if call.excinfo is not None else None
    if call.when == "setup" and exc is None:
        return report
    if call.when == "teardown":
        return report
    outcome, message, violation = classify(exc, state)
    _redact_report(report, state.client.redact)
    if outcome in (Outcome.SKIP, Outcome.UNSUPPORTED) and report.outcome == "failed":
        # Shown as a skip by pytest too, for people who run the suite directly with pytest.
        report.outcome = "skipped"
        report.longrepr = (str(item.path), (item.location[1] or 0) + 1, f"{outcome.value}: {message}")
    state.record(
        CheckResult(
            requirement=marker.args[0],
            check=item.nodeid.split("::", 1)[-1],
            outcome=outcome,
            duration_s=call.duration,
            message=message,
            violation=violation,
        )
    )
    return report


def _redact_report(report: pytest.TestReport, redact: Any) -> None:
    """pytest prints failures itself when the suite is run directly: never with the key in them (a provider
    that echoes it puts it into the Violation's "Received", a -l traceback shows it in locals)."""
    if not redact.secrets:
        return
    if report.longrepr is not None:
        text = str(report.longrepr)
        if any(secret in text for secret in redact.secrets):
            report.longrepr = redact(text)
    report.sections = [(name, redact(content)) for name, content in report.sections]


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Before the first check runs: note what was collected and start sending the shared probes the
    collected checks need, ahead of them."""
    state = session.config.stash.get(_STATE, None)
    if state is None or session.config.option.collectonly:
        return
    if session.testsfailed and not session.config.option.continue_on_collection_errors:
        return  # pytest ends the session: collection failed
    checks = [item for item in session.items if item.get_closest_marker("requirement")]
    state.collected = frozenset(item.get_closest_marker("requirement").args[0] for item in checks)  # type: ignore[union-attr]
    state.probes.prefetch((name for item in checks for name in item.fixturenames), workers=state.prefetch_workers())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(_STATE, None)
    if state is None:
        return
    state.close(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED)
    path = session.config.getoption("--oai-report", None)
    if path:
        from conformance.report.json_report import build_report, write_json

        write_json(build_report(state), path)
