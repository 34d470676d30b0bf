"""``oai-conformance explain ID``: every requirement explains, in text and JSON; an unknown id suggests."""

from __future__ import annotations

import json
import re

import pytest

from conformance.cli import main
from conformance.core.catalogue import load_catalogue
from conformance.engine.registry import PROBES, checks_of
from conformance.explain import explain, render_text, suggest
from conformance.reference import FAULTS

ACTIVE = [r.id for r in load_catalogue().active]
LOCATION = re.compile(r"^conformance/[\w/]+\.py:\d+$")  # package-relative path:line


def test_every_active_requirement_explains_in_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    for requirement_id in ACTIVE:
        assert main(["explain", requirement_id]) == 0, requirement_id
        text = capsys.readouterr().out
        assert text.startswith(requirement_id), requirement_id

        assert main(["explain", requirement_id, "--json"]) == 0, requirement_id
        data = json.loads(capsys.readouterr().out)
        requirement = load_catalogue()[requirement_id]
        assert data["id"] == requirement_id
        assert data["level"] == requirement.level.value
        assert data["breaks"] == [entry.to_dict() for entry in requirement.breaks]
        assert [f["name"] for f in data["faults"]] == list(requirement.faults)
        assert data["missing_faults"] == []
        assert {c["function"].rsplit(".", 1)[1] for c in data["checks"]} == {
            c.func.__name__ for c in checks_of(requirement_id)
        }
        for check in data["checks"]:
            assert LOCATION.match(check["source"]), check
            assert all(p["name"] in PROBES and LOCATION.match(p["source"]) for p in check["probes"]), check
        # A fault's location is its area module, never the shared wrapper in faults/_stream.py.
        assert all(LOCATION.match(f["source"]) and "/_" not in f["source"] for f in data["faults"]), data["faults"]


def test_chat_stream_003_names_its_check_probe_and_fault(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "CHAT-STREAM-003"]) == 0
    text = capsys.readouterr().out
    assert "test_stream_is_terminated_by_done" in text
    assert "conformance/checks/chat_stream.py:" in text
    assert re.search(r"^\s+chat_stream\s+conformance/probes/chat\.py:\d+", text, re.M)
    assert "stream-no-done" in text
    assert FAULTS["stream-no-done"].summary in text
    assert FAULTS["stream-no-done"].seen_in in text
    for entry in load_catalogue()["CHAT-STREAM-003"].breaks:
        assert str(entry) in text  # every "breaks" entry ("client: how"), not the first few
    assert "level_note" in text  # why it is not a MUST

    explanation = explain("chat-stream-003")  # ids are matched case-insensitively
    (check,) = explanation.checks
    assert check.name == "chat_stream.py::test_stream_is_terminated_by_done"
    assert check.reads == ["chat_stream"]
    probes = {p.name: p for p in check.probes}
    assert probes["chat_stream"].direct
    assert {"client", "chat_model"} <= set(probes)  # the closure: what chat_stream itself reads
    assert not probes["client"].direct
    fault = next(f for f in explanation.faults if f.name == "stream-no-done")
    assert fault.site == FAULTS["stream-no-done"].site
    assert fault.source.startswith("conformance/reference/faults/chat_stream.py:")
    midway = next(f for f in explanation.faults if f.name == "stream-midway-error-no-done")
    assert midway.source.startswith("conformance/reference/faults/chat_stream.py:")  # not _stream.py's wrapper


def test_a_check_registered_per_case_is_listed_once_with_its_cases() -> None:
    requirement_id = next(i for i in ACTIVE if any(c.case is not None for c in checks_of(i)))
    explanation = explain(requirement_id)
    cases = [c.case for c in checks_of(requirement_id) if c.case is not None]
    assert sorted(case for check in explanation.checks for case in check.cases) == sorted(cases)
    assert len(explanation.checks) == len({c.func for c in checks_of(requirement_id)})
    assert "cases (" in render_text(explanation)


def test_unknown_id_exits_2_and_suggests_close_ids(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "CHAT-STREAM-03"]) == 2
    out = capsys.readouterr().out
    assert "CHAT-STREAM-03" in out
    assert "did you mean" in out
    assert "CHAT-STREAM-003" in out

    assert main(["explain", "CHAT-STREM-003", "--json"]) == 2
    data = json.loads(capsys.readouterr().out)
    assert data["suggestions"][0] == "CHAT-STREAM-003"


def test_an_id_like_nothing_suggests_the_listing(capsys: pytest.CaptureFixture[str]) -> None:
    assert suggest("ZZZZ") == []
    assert main(["explain", "ZZZZ"]) == 2
    assert "oai-conformance list" in capsys.readouterr().out


def test_a_must_shows_who_breaks_and_the_evidence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "ERR-001"]) == 0
    text = capsys.readouterr().out
    assert "  - openai-python: the APIStatusError's .type, .code and .param are None" in text
    assert "      shown by SDK-PY-011" in text
