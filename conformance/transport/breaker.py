"""The circuit breaker: stop sending where the provider has stopped answering, try again after a
cool-down, and give up on what is dead.

Every request belongs to *scopes*: ``*``, the whole provider; its kind (``POST *``, ``GET *``...), and
for a stream also ``POST * (stream)``; and its endpoint (``POST chat/completions``, a stream apart:
``POST chat/completions (stream)``). A scope **opens** after consecutive requests in it got no answer (an
endpoint after ``threshold``, one once two scopes have opened; a kind after ``threshold + 1``, streams
after ``threshold``; the provider after ``2 × threshold`` of more than one kind); an answer in a scope
resets its count and closes it.

While a scope is open its requests wait. After ``cooldown`` seconds it **half-opens**: one request --
one that never went unanswered before, so that the request that opened it cannot condemn it -- goes as
the trial. An answer closes the scope and the waiting requests go. A trial that got no answer alone
fails; the next fresh request is the trial at once, and a second failed trial in a row makes the scope
**dead** (one request that never ends is one finding, not a dead endpoint): its requests are
answered "not sent" for the rest of the run. The provider's scope is the exception, as one kind of
request going unanswered does not condemn the others: it opens only on misses of more than one kind,
and is dead only when trials of two kinds failed. Streams that do not end (cut at
``--max-stream-seconds``) count only in stream scopes, which they kill at once: the provider answers
them, it just never stops, and a trial would cost another full stream.

None of this is a verdict: a request the breaker held back is sent when its scope closes, and only a
dead scope ends requests unanswered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

ANYWHERE = "*"
CLOSED, OPEN, DEAD = "closed", "open", "dead"
TRIALS = 2  # failed trials in a row that make a scope dead


def endpoint_key(method: str, url: str, base_url: str) -> str:
    """The endpoint a request goes to, as the breaker groups them: ``POST chat/completions``, ``GET models/{id}``."""
    path = url.split("?", 1)[0]
    base = base_url.rstrip("/") + "/"
    path = path[len(base) :] if path.startswith(base) else httpx.URL(path).path.lstrip("/")
    if path.startswith("models/"):
        path = "models/{id}"
    return f"{method.upper()} {path}"


def scopes_of(method: str, url: str, base_url: str, *, stream: bool) -> tuple[str, ...]:
    """The request's scopes, widest first: the provider, its kind (and its kind of stream), its endpoint."""
    kind = f"{method.upper()} *"
    endpoint = endpoint_key(method, url, base_url)
    return (ANYWHERE, kind, f"{kind} (stream)", f"{endpoint} (stream)") if stream else (ANYWHERE, kind, endpoint)


def _is_kind(key: str) -> bool:
    return key.endswith((" *", " * (stream)"))


@dataclass
class Scope:
    """One scope's state: consecutive misses, and when open, since when and why."""

    misses: int = 0
    endless: int = 0  # of those misses, streams cut at their duration limit
    kinds: set[str] = field(default_factory=set)  # the kinds of request among those misses
    state: str = CLOSED
    since: float = 0.0
    why: str = ""
    trial: bool = False  # a trial request of this scope is in flight
    failed: list[str] = field(default_factory=list)  # the kinds of the trials in a row that got no answer


@dataclass(frozen=True)
class Pass:
    """The breaker's answer to a request asking to go: ``go`` (as a ``trial`` of the scopes named), or
    ``wait`` seconds and ask again, or ``dead`` with the reason."""

    go: bool = False
    trial: tuple[str, ...] = ()
    wait: float = 0.0
    dead: str | None = None


@dataclass
class CircuitBreaker:
    threshold: int
    cooldown: float = 10.0
    clock: Callable[[], float] = time.monotonic
    trips: int = 0
    scopes: dict[str, Scope] = field(default_factory=dict)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def _limit(self, key: str) -> int:
        if key == ANYWHERE:
            return 2 * self.threshold
        if key.endswith(" * (stream)"):
            return self.threshold  # streams that never end: as an endpoint's (they cost a whole stream each)
        if _is_kind(key):
            return self.threshold + 1
        # Once two scopes went silent, the provider has shown its pattern: the others open at their first miss.
        return 1 if self.trips >= 2 else self.threshold

    def admit(self, keys: tuple[str, ...], *, fresh: bool, until: float | None = None) -> Pass:
        """Wait until a request of these scopes may go, or its scope is dead, or it is ``until`` (monotonic
        seconds; then the Pass says neither go nor dead). ``fresh``: the request never went unanswered
        before (only such a request can be a trial that condemns a scope)."""
        with self._changed:
            while True:
                decided = self.ask(keys, fresh=fresh)
                now = time.monotonic()
                if decided.go or decided.dead is not None or (until is not None and now >= until):
                    return decided
                pause = decided.wait if until is None else min(decided.wait, until - now)
                self._changed.wait(timeout=max(pause, 0.01))

    def ask(self, keys: tuple[str, ...], *, fresh: bool) -> Pass:
        """:meth:`admit` without waiting: whether the request may go now."""
        with self._changed:
            now = self.clock()
            waiting: list[tuple[str, Scope]] = []
            for key in keys:
                scope = self.scopes.get(key)
                if scope is None or scope.state == CLOSED:
                    continue
                if scope.state == DEAD:
                    return Pass(dead=f"{_named(key)}: {scope.why}")
                waiting.append((key, scope))
            if not waiting:
                return Pass(go=True)
            # A request that went unanswered before may be a trial (proving nothing) only when no fresh one came
            # for a while.
            ready = [self.cooldown if fresh else 2 * self.cooldown for _ in waiting]
            due = max(s.since + wait for (_, s), wait in zip(waiting, ready, strict=True))
            if now < due or any(s.trial for _, s in waiting):
                return Pass(wait=max(due - now, 0.0) or self.cooldown / 4)
            for _, scope in waiting:
                scope.trial = True
            return Pass(go=True, trial=tuple(key for key, _ in waiting))

    def holds(self, keys: tuple[str, ...]) -> bool:
        """Whether any of these scopes is not closed (asks nothing, grants no trial)."""
        with self._changed:
            return any(key in self.scopes and self.scopes[key].state != CLOSED for key in keys)

    def blocked(self, key: str) -> str | None:
        """Why the scope ``key`` is not closed, or None."""
        scope = self.scopes.get(key)
        return None if scope is None or scope.state == CLOSED else f"{_named(key)}: {scope.why}"

    def dead(self) -> dict[str, str]:
        """The dead scopes, and why."""
        return {key: f"{_named(key)}: {s.why}" for key, s in self.scopes.items() if s.state == DEAD}

    def dead_for(self, keys: tuple[str, ...] | str) -> str | None:
        """Why one of these scopes is dead, or None."""
        for key in (keys,) if isinstance(keys, str) else keys:
            scope = self.scopes.get(key)
            if scope is not None and scope.state == DEAD:
                return f"{_named(key)}: {scope.why}"
        return None

    def record(
        self,
        keys: tuple[str, ...],
        *,
        answered: bool,
        endless: bool = False,
        trial: tuple[str, ...] = (),
        conclusive: bool = True,
    ) -> None:
        """What a request of these scopes (widest first) got: an answer, or none (``endless``: a stream cut at
        its duration limit). ``trial``: the scopes it was the trial of; ``conclusive``: its silence was its
        own (it went alone, and had not gone unanswered alone before).

        A conclusive trial that got no answer kills the scopes it tried -- except the provider's: one kind
        of request going unanswered does not condemn the others, so it kills the request's own kind instead
        and the provider's scope waits for a trial of another kind."""
        with self._changed:
            self._changed.notify_all()
            kind = keys[1] if len(keys) > 1 else ANYWHERE
            for key in keys:
                if endless and not key.endswith("(stream)"):
                    continue  # the provider answers such a stream; it only never stops
                scope = self.scopes.setdefault(key, Scope())
                tried = key in trial
                if tried:
                    scope.trial = False
                if scope.state == DEAD:
                    continue
                if answered:
                    scope.misses = scope.endless = 0
                    scope.state, scope.why = CLOSED, ""
                    scope.kinds.clear()
                    scope.failed.clear()
                    continue
                scope.misses += 1
                scope.endless += endless
                scope.kinds.add(kind)
                if tried and conclusive and scope.state == OPEN:  # not one that answered meanwhile
                    self._failed(key, scope, kind)
                elif tried and scope.state == OPEN:
                    scope.since = self.clock()  # no verdict from this trial: the next one after a cool-down
                elif scope.state == CLOSED and scope.misses >= self._limit(key) and self._wide(key, scope):
                    self._open(key, scope)

    @staticmethod
    def _wide(key: str, scope: Scope) -> bool:
        """One kind of request going silent is that kind's scope, not the whole provider's."""
        return key != ANYWHERE or len(scope.kinds) > 1

    def _failed(self, key: str, scope: Scope, kind: str) -> None:
        """A trial of the scope got no answer alone: the next fresh request is the trial at once; the second
        failure in a row -- of requests of two kinds, for the provider's scope -- makes it dead."""
        scope.failed.append(kind)
        scope.since = self.clock() - self.cooldown
        failures = len(set(scope.failed)) if key == ANYWHERE else len(scope.failed)
        if failures >= TRIALS:
            scope.state = DEAD
            scope.why += f"; {len(scope.failed)} trial requests alone after a {self.cooldown:g} s cool-down "
            scope.why += "got no answer either"

    def release(self, trial: tuple[str, ...]) -> None:
        """A trial that ended without telling anything (not sent, cut by the run's time limit)."""
        with self._changed:
            self._changed.notify_all()
            for key in trial:
                if key in self.scopes:
                    self.scopes[key].trial = False

    def _open(self, key: str, scope: Scope) -> None:
        self.trips += 1
        scope.since = self.clock()
        if scope.endless == scope.misses:
            scope.state = DEAD
            scope.why = f"{scope.misses} consecutive streams did not end within their time limit"
        else:
            scope.state = OPEN
            scope.why = f"{scope.misses} consecutive requests got no answer in time"


def _named(key: str) -> str:
    return "every endpoint" if key == ANYWHERE else key
