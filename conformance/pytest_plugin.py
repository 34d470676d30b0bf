"""pytest as an adapter over the engine: one pytest item per registered check, probes as fixtures.

    pytest --pyargs conformance --oai-base-url http://127.0.0.1:8000/v1 --oai-api-key "$KEY"

collects every check of ``conformance/checks/`` as its own item (named like the report's ``check``),
judged exactly as ``oai-conformance run`` judges it. Before the first item runs, the engine sends the
probes the collected items read, side by side; no thread runs while pytest's loop does. Every probe is
also a session fixture, so a plain test file of the user's can read the same exchanges::

    def test_my_gateway_sets_a_request_id(chat_response):
        assert "x-request-id" in chat_response.headers

A check's outcome shows as pytest's: FAIL and TIMEOUT fail the item, SKIP and UNSUPPORTED skip it, and
an ERROR (our bug) fails it with the harness message. ``--oai-report`` writes report.json.
"""

from __future__ import annotations

import os
import types
from pathlib import Path
from typing import Any

import pytest

from conformance.core.catalogue import load_catalogue
from conformance.core.results import Outcome, aggregate
from conformance.engine import PROBES, CheckDef, RunRecord, RunState
from conformance.engine.deferral import deferred, owner_of
from conformance.engine.judge import judge
from conformance.engine.registry import ROOT, all_checks, reads_slow
from conformance.engine.registry import load as load_registry
from conformance.target import Target, TargetConfigError

CHECKS_DIR = Path(__file__).resolve().parent / "checks"
_STATE = pytest.StashKey["RunState | None"]()
_RESULTS = pytest.StashKey["list[CheckResult]"]()
_OWNERS = pytest.StashKey["dict[str, Outcome]"]()
NO_TARGET = "no target: pass --oai-base-url URL (or set OPENAI_BASE_URL) to run the conformance suite"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("oai-conformance", "OpenAI-compatible API conformance (oai-conformance)")
    add = group.addoption
    add("--oai-base-url", default=None, help="Base URL of the provider, e.g. http://host/v1. Default: $OPENAI_BASE_URL")
    add("--oai-api-key", default=None, help="API key. Default: $OPENAI_API_KEY")
    add("--oai-organization", default=None, help="OpenAI-Organization header. Default: %(default)r")
    add("--oai-chat-model", default=None, help="Model for chat checks. Default: probed from GET /models")
    add("--oai-completion-model", default=None, help="Model for completion checks. Default: probed")
    add("--oai-embedding-model", default=None, help="Model for embedding checks. Default: probed")
    add("--oai-timeout", type=float, default=30.0, help="Per-request timeout in seconds. Default: %(default)r")
    add("--oai-max-requests", type=int, default=400, help="Request budget for the run. Default: %(default)r")
    add("--oai-max-tokens", type=int, default=16, help="max_tokens on generation requests. Default: %(default)r")
    add("--oai-run-timeout", type=float, default=None, help="Time limit of the whole run in seconds. Default: none")
    add("--oai-token-budget", type=int, default=None, help="Stop POSTs once this many tokens are billed. Default: none")
    add("--oai-concurrency", type=int, default=4, help="Requests in flight at most. Default: %(default)r")
    add("--oai-insecure", action="store_true", help="Do not verify TLS certificates. Default: verify")
    add("--oai-requirements", default=None, help="Comma-separated requirement ids to run. Default: all")
    add(
        "--oai-profile",
        default="all",
        choices=("core", "extended", "legacy", "all"),
        help="Which requirements run: core, extended (core + images, moderations, files), legacy. Default: all",
    )
    add(
        "--oai-capabilities",
        default=None,
        help="Comma-separated endpoint families the provider offers (chat, completions, embeddings, images, "
        "moderations, files, fine_tunes, edits, engines); the others are UNSUPPORTED. Default: probed",
    )
    add("--oai-report", default=None, help="Write report.json to this path. Default: no file")


def pytest_configure(config: pytest.Config) -> None:
    load_registry()
    config.stash[_RESULTS] = []
    config.stash[_STATE] = _build_state(config)
    # Every probe is a session fixture: a user's own test reads the same exchange the checks read.
    config.pluginmanager.register(_probe_fixtures(), "conformance-probes")


def _build_state(config: pytest.Config) -> RunState | None:
    base_url = config.getoption("--oai-base-url", None)
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
            concurrency=config.getoption("--oai-concurrency", 4),
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
    return RunState(target=target, catalogue=catalogue, selected=selected)


def _state(config: pytest.Config) -> RunState:
    state = config.stash.get(_STATE, None)
    if state is None:
        raise pytest.UsageError(NO_TARGET)
    return state


# -- collection: one item per registered check ------------------------------------------------------------


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".py" and file_path.parent == CHECKS_DIR and not file_path.name.startswith("_"):
        return CheckModule.from_parent(parent, path=file_path)
    return None


class CheckModule(pytest.File):
    """A ``conformance/checks/<area>.py`` file: its registered checks, in declaration order."""

    def collect(self) -> list[pytest.Item]:
        area = self.path.stem
        return [CheckItem.from_parent(self, definition=c) for c in all_checks() if c.module == area]


class CheckFailed(Exception):
    """A check's FAIL, TIMEOUT or ERROR, shown by pytest with the engine's (redacted) message."""


class CheckItem(pytest.Item):
    def __init__(self, *, definition: CheckDef, **kwargs: Any) -> None:
        super().__init__(name=definition.name.split("::", 1)[1], **kwargs)
        self.definition = definition
        self.user_properties.append(("requirement", definition.requirement))

    def runtest(self) -> None:
        state = _state(self.config)
        result = judge(state, self.definition)
        if result.outcome is Outcome.FAIL:
            owner = owner_of(result.requirement, _Outcomes(self.session), state.catalogue, result.owned_by)
            result = deferred(result, owner) if owner else result
        self.config.stash[_RESULTS].append(result)
        if result.outcome in (Outcome.SKIP, Outcome.UNSUPPORTED):
            pytest.skip(f"{result.outcome.value}: {result.message}")
        if result.outcome is not Outcome.PASS:
            raise CheckFailed(f"{result.outcome.value} {result.requirement}: {result.message}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return _state(self.config).client.redact(str(super().repr_failure(excinfo)))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.definition.requirement} {self.definition.name}"


class _Outcomes:
    """A requirement's outcome for the deferral of one item: its checks judged on demand (checks are pure;
    the probes are sent), once per session."""

    def __init__(self, session: pytest.Session) -> None:
        self.session = session

    def __call__(self, requirement_id: str) -> Outcome:
        known = self.session.config.stash.setdefault(_OWNERS, {})
        if requirement_id not in known:
            state = _state(self.session.config)
            checks = [c for c in all_checks() if c.requirement == requirement_id]
            if state.selected is not None and requirement_id not in state.selected:
                checks = []
            known[requirement_id] = aggregate([judge(state, c).outcome for c in checks]) if checks else Outcome.SKIP
        return known[requirement_id]


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    checks = [item for item in items if isinstance(item, CheckItem)]
    if not checks:
        return
    state = _state(config)
    if state.selected is not None:
        keep = [i for i in items if not isinstance(i, CheckItem) or i.definition.requirement in state.selected]
        dropped = [i for i in items if i not in keep]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep
    # The checks that read a slow probe (the property run, openai-node) go last, as the engine judges them.
    items.sort(key=lambda item: isinstance(item, CheckItem) and reads_slow(item.definition))


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Before the first item: send every probe the collected items read, side by side, and wait."""
    state = session.config.stash.get(_STATE, None)
    if state is None or session.config.option.collectonly:
        return
    if session.testsfailed and not session.config.option.continue_on_collection_errors:
        return  # pytest ends the session: collection failed
    checks = [item.definition for item in session.items if isinstance(item, CheckItem)]
    state.collected = frozenset(c.requirement for c in checks)
    wanted = [name for c in checks for name in c.argnames]
    wanted += [name for item in session.items for name in getattr(item, "fixturenames", ()) if name in PROBES]
    state.probes.send(wanted, workers=state.workers())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(_STATE, None)
    if state is None:
        return
    state.close(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED)
    path = session.config.getoption("--oai-report", None)
    if path:
        from conformance.report.json_report import build_report, write_json

        write_json(build_report(RunRecord.of(state, session.config.stash[_RESULTS])), path)


# -- probes as fixtures ---------------------------------------------------------------------------------------


def _probe_fixture(name: str) -> Any:
    def fixture(request: pytest.FixtureRequest) -> Any:
        return _state(request.config).probes.get(name)

    fixture.__name__ = name
    fixture.__doc__ = PROBES[name].func.__doc__
    return pytest.fixture(scope="session", name=name)(fixture)


def _probe_fixtures() -> types.ModuleType:
    """A plugin whose attributes are one session fixture per registered probe.

    A module, not an object: pytest (9) looks fixtures up on the *type* of a plugin object, so fixtures
    set on an instance are not seen, and ones set on its class would be bound to it as methods.
    """
    plugin = types.ModuleType("conformance.pytest_plugin.probes")
    for name in PROBES:
        if name != ROOT:
            setattr(plugin, f"_probe_{name}", _probe_fixture(name))
    return plugin
