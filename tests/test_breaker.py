"""The circuit breaker and the pacing of requests, as tables: when a scope opens, who goes as its trial,
when it closes or dies; which silences are a request's own; when a provider is taken to be serial."""

from __future__ import annotations

import pytest

from conformance.transport.breaker import ANYWHERE, CircuitBreaker, endpoint_key, scopes_of
from conformance.transport.pacing import Flight, Outcome, Slots

BASE = "http://h/v1"
CHAT = scopes_of("POST", f"{BASE}/chat/completions", BASE, stream=False)
CHAT_STREAM = scopes_of("POST", f"{BASE}/chat/completions", BASE, stream=True)
EMBED = scopes_of("POST", f"{BASE}/embeddings", BASE, stream=False)
MODELS = scopes_of("GET", f"{BASE}/models", BASE, stream=False)
DELETE = scopes_of("DELETE", f"{BASE}/files/file-1", BASE, stream=False)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock | None = None) -> CircuitBreaker:
    return CircuitBreaker(threshold=2, cooldown=10.0, clock=clock or Clock())


def test_scopes_are_the_provider_the_kind_and_the_endpoint() -> None:
    assert CHAT == (ANYWHERE, "POST *", "POST chat/completions")
    assert CHAT_STREAM == (ANYWHERE, "POST *", "POST * (stream)", "POST chat/completions (stream)")
    assert endpoint_key("get", "http://h/v1/models/ft:a::b?x=1", BASE) == "GET models/{id}"


# (misses, each as the scopes of one unanswered request) -> the scopes open afterwards
OPENING = [
    pytest.param([CHAT], set(), id="one miss opens nothing"),
    pytest.param([CHAT, CHAT], {"POST chat/completions"}, id="an endpoint at two"),
    pytest.param([CHAT, EMBED, CHAT_STREAM], {"POST *"}, id="a kind at three, streams among them"),
    pytest.param([CHAT, EMBED, MODELS], set(), id="a kind counts its own requests only"),
    pytest.param([CHAT, EMBED, EMBED], {"POST *", "POST embeddings"}, id="a kind and an endpoint"),
    pytest.param([MODELS, EMBED, DELETE, CHAT], {ANYWHERE}, id="the provider at four"),
    pytest.param([CHAT, EMBED, CHAT_STREAM, EMBED], {"POST *", "POST embeddings"}, id="not when one kind is silent"),
]


@pytest.mark.parametrize(("misses", "opened"), OPENING)
def test_scopes_open_after_consecutive_misses(misses: list[tuple[str, ...]], opened: set[str]) -> None:
    b = breaker()
    for keys in misses:
        b.record(keys, answered=False)
    assert {key for key in b.scopes if b.blocked(key)} == opened


def test_an_answer_resets_the_count() -> None:
    b = breaker()
    for answered in (False, True, False):
        b.record(CHAT, answered=answered)
    assert b.blocked("POST chat/completions") is None


def test_after_two_trips_an_endpoint_opens_at_its_first_miss() -> None:
    b = breaker()
    for keys in (CHAT, CHAT, EMBED, EMBED):
        b.record(keys, answered=False)
        b.record(MODELS, answered=True)  # answers elsewhere keep the provider-wide count down
    b.record(scopes_of("POST", f"{BASE}/moderations", BASE, stream=False), answered=False)
    assert b.blocked("POST moderations") is not None


def opened_chat(clock: Clock) -> CircuitBreaker:
    b = breaker(clock)
    b.record(CHAT, answered=False)
    b.record(CHAT, answered=False)
    return b


def test_an_open_scope_holds_requests_back_until_its_cooldown() -> None:
    clock = Clock()
    b = opened_chat(clock)
    held = b.ask(CHAT, fresh=True)
    assert (held.go, held.dead, held.wait) == (False, None, 10.0)
    assert b.ask(EMBED, fresh=True).go  # another endpoint goes
    clock.now += 10
    trial = b.ask(CHAT, fresh=True)
    assert trial.go
    assert trial.trial == ("POST chat/completions",)
    assert not b.ask(CHAT, fresh=True).go  # one trial at a time


@pytest.mark.parametrize(
    ("answered", "conclusive", "state"),
    [
        pytest.param(True, True, None, id="an answered trial closes the scope"),
        pytest.param(False, True, "open", id="a failed trial leaves it open for the next"),
        pytest.param(False, False, "open", id="an inconclusive trial leaves it open"),
    ],
)
def test_the_trial_decides(answered: bool, conclusive: bool, state: str | None) -> None:
    clock = Clock()
    b = opened_chat(clock)
    clock.now += 10
    trial = b.ask(CHAT, fresh=True).trial
    b.record(CHAT, answered=answered, trial=trial, conclusive=conclusive)
    scope = b.scopes["POST chat/completions"]
    assert (None if scope.state == "closed" else scope.state) == state
    # After a failed trial the next fresh request may go at once; after an inconclusive one, a cool-down later.
    assert scope.since == (clock.now - 10 if conclusive else clock.now)


def test_two_failed_trials_in_a_row_make_the_scope_dead() -> None:
    clock = Clock()
    b = opened_chat(clock)
    for _ in range(2):
        clock.now += 10  # the first failure opened POST requests too: their cool-down
        trial = b.ask(CHAT, fresh=True).trial
        b.record(CHAT, answered=False, trial=trial, conclusive=True)
    dead = b.ask(CHAT, fresh=True).dead
    assert dead is not None
    assert "2 trial requests alone" in dead


def test_a_request_that_went_unanswered_before_is_a_trial_only_after_twice_the_cooldown() -> None:
    clock = Clock()
    b = opened_chat(clock)
    clock.now += 10
    assert not b.ask(CHAT, fresh=False).go
    clock.now += 10
    assert b.ask(CHAT, fresh=False).go


def test_streams_that_do_not_end_kill_their_scopes_at_once_and_never_the_provider() -> None:
    b = breaker()
    for _ in range(4):
        b.record(CHAT_STREAM, answered=False, endless=True)
    assert b.ask(CHAT_STREAM, fresh=True).dead is not None
    assert b.ask(CHAT, fresh=True).go
    assert "did not end" in b.dead()["POST chat/completions (stream)"]


def test_the_whole_provider_is_dead_only_when_trials_of_two_kinds_failed() -> None:
    clock = Clock()
    b = breaker(clock)
    for keys in (CHAT, MODELS, EMBED, DELETE):
        b.record(keys, answered=False)
    assert b.blocked(ANYWHERE)
    for keys in (EMBED, EMBED, MODELS):
        clock.now += 10
        trial = b.ask(keys, fresh=True).trial
        assert ANYWHERE in trial
        b.record(keys, answered=False, trial=trial, conclusive=True)
        assert (b.dead_for(ANYWHERE) is None) is (keys is not MODELS)


def test_a_released_trial_frees_the_scope_for_another() -> None:
    clock = Clock()
    b = opened_chat(clock)
    clock.now += 10
    trial = b.ask(CHAT, fresh=True).trial
    b.release(trial)
    assert b.ask(CHAT, fresh=True).go


# -- pacing ------------------------------------------------------------------------------------------------


class Ticks:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_silence_is_a_requests_own_only_when_no_other_request_of_ours_was_in_flight() -> None:
    ticks = Ticks()
    flight = Flight(clock=ticks)
    first = flight.start(5.0)
    ticks.now += 1.0
    flight.end(first, answered=True)
    alone = flight.start(5.0)
    ticks.now += 5.0
    flight.end(alone, answered=False)
    ahead, behind = flight.start(5.0), flight.start(5.0)  # whichever reached the provider first
    ticks.now += 5.0
    flight.end(ahead, answered=False)
    flight.end(behind, answered=False)
    assert (alone.alone(), ahead.alone(), behind.alone()) == (True, False, False)


def test_a_silence_beside_a_request_that_never_got_an_answer_is_no_stall() -> None:
    ticks = Ticks()
    flight = Flight(clock=ticks)
    runaway, queued = flight.start(2.0, Outcome()), flight.start(2.0, Outcome())
    ticks.now += 2.0
    flight.end(runaway, answered=False)
    flight.end(queued, answered=False)
    runaway.request.final, queued.request.final = "timeout", "answered"
    assert not flight.stalled(queued)
    runaway.request.final = "answered"  # all of them answered later: the provider stalled
    assert flight.stalled(queued)


def test_a_silence_while_another_request_was_being_answered_is_no_stall() -> None:
    ticks = Ticks()
    flight = Flight(clock=ticks)
    streaming, queued = flight.start(10.0), flight.start(2.0)
    for _ in range(4):
        ticks.now += 0.5
        flight.moving(streaming)  # a long answer, arriving all the while
    flight.end(queued, answered=False)
    assert not flight.stalled(queued)


def test_answers_that_come_only_after_the_earlier_ones_show_a_serial_provider() -> None:
    ticks = Ticks()
    flight = Flight(clock=ticks)
    for _ in range(2):
        first, second = flight.start(5.0), flight.start(5.0)
        ticks.now += 1.0
        flight.end(first, answered=True)
        ticks.now += 0.1
        flight.end(second, answered=True)  # its answer came right after the first one's, having waited 1.1 s
    assert flight.serial


def test_one_answer_beside_an_earlier_request_shows_a_parallel_provider() -> None:
    ticks = Ticks()
    flight = Flight(clock=ticks)
    first, second = flight.start(5.0), flight.start(5.0)
    ticks.now += 0.5
    flight.end(second, answered=True)
    ticks.now += 1.0
    flight.end(first, answered=True)
    for _ in range(3):
        one, two = flight.start(5.0), flight.start(5.0)
        ticks.now += 1.0
        flight.end(one, answered=True)
        ticks.now += 0.1
        flight.end(two, answered=True)
    assert not flight.serial


def test_the_concurrency_limit_comes_down_but_never_below_one() -> None:
    slots = Slots(4)
    assert slots.acquire(2) == 2
    assert slots.lower(1)
    assert not slots.lower(3)
    assert slots.limit == 1
    slots.release(2)  # the two in flight ended: now one at a time, whatever a caller asks for
    assert slots.acquire(4) == 1
