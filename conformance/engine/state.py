"""The state one run shares: the target, the HTTP client, the model choices and the probe cache."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from conformance import builders
from conformance.builders import ModelChoice
from conformance.core.catalogue import Catalogue, in_profile
from conformance.engine.cache import ProbeCache
from conformance.engine.registry import load
from conformance.target import Target
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange
from conformance.transport.limits import BudgetExhausted

LISTING_PROBE = "models_listing"


@dataclass
class RunState:
    """Everything one run shares: the target, the client, the model choices and the probes."""

    target: Target
    catalogue: Catalogue
    selected: frozenset[str] | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    # Requirement ids of the checks this run judges (after the selection and the profile).
    collected: frozenset[str] = frozenset()
    probes: ProbeCache = field(init=False)
    _client: HttpClient | None = None
    _choices: dict[str, ModelChoice] = field(default_factory=dict)
    # Model discovery is shared by the probes sent side by side.
    _discovery: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.probes = ProbeCache(self)
        # A profile narrows the selection once, here, so the checks judged and the report agree.
        if self.target.profile != "all":
            members = frozenset(r.id for r in self.catalogue.active if in_profile(r, self.target.profile))
            self.selected = members if self.selected is None else self.selected & members

    @property
    def client(self) -> HttpClient:
        if self._client is None:
            self._client = HttpClient(self.target)
        return self._client

    @property
    def choices(self) -> dict[str, ModelChoice]:
        return dict(self._choices)

    def listing(self) -> Exchange | None:
        """``GET /models``: the ``models_listing`` probe, sent once; model discovery, the property run and
        the model checks share it (and a traced run sees each of them read it). None when the budget
        was spent before it."""
        load()
        try:
            return self.probes.get(LISTING_PROBE)
        except BudgetExhausted:
            return None

    def model_choice(self, capability: str) -> ModelChoice:
        declared = self.target.capabilities
        if declared is not None and capability not in declared:
            # Declared absent: no model is probed for it (the user said there is none to find).
            return ModelChoice(capability, None, "declared", "unsupported", "not among the declared capabilities")
        with self._discovery:
            if capability not in self._choices:
                listing = None if self.target.models.get(capability) else self.listing()
                self._choices[capability] = builders.choose_model(self.client, capability, listing)
            return self._choices[capability]

    def workers(self) -> int:
        """Threads that send probes side by side: none at ``--concurrency 1`` (every request in check
        order, one at a time), else twice the limit (a worker may wait for a probe another one is
        sending; the HTTP client's slots keep the requests in flight within the limit)."""
        concurrency = self.target.concurrency
        return 0 if concurrency <= 1 else 2 * concurrency

    def close(self, *, interrupted: bool = False) -> None:
        # Probes still in flight are bounded by their own deadlines; an interrupted run does not wait.
        self.probes.close(wait_s=0.0 if interrupted else self.target.timeout)
        self.finished = time.time()
        if self._client is not None:
            self._client.close()
