"""Everything that touches the wire: the one transport policy every request of a run goes through
(:mod:`.policy`), the suite's client over it (:mod:`.client`), what is recorded (:mod:`.exchange`), the run's
limits (:mod:`.limits`), socket deadlines (:mod:`.deadline`), URLs (:mod:`.urls`) and the SSE decoder
(:mod:`.sse`, which knows nothing of OpenAI)."""
