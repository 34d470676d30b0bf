"""The hand-built cases of a property run -- one valid request per operation, the documented edge values,
the auth probes -- sent by the run's hand-built worker (a mixin of :class:`~conformance.property.hand_run.
HandRun`, whose state it uses)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from conformance.builders import WRONG_KEY
from conformance.core.catalogue import DECLARABLE_CAPABILITIES
from conformance.expect import declines
from conformance.property.evidence import case_body, first_id, is_network_error, json_field
from conformance.property.hooks import CaseHooks
from conformance.property.results import envelope_problem
from conformance.property.spec import EDGE_CASES, MULTIPART, TRAINING_JSONL, EdgeCase, tiny_png
from conformance.property.verdicts import Stop

if TYPE_CHECKING:
    from schemathesis.core.transport import Response as StResponse
    from schemathesis.generation.case import Case

T = TypeVar("T")
# Reads of a fine-tune job before giving up on it producing a model (the reference needs two).
FINE_TUNE_READS = 3


@dataclass
class Sent:
    """A hand-built request and its answer (None: no answer)."""

    label: str
    kind: str  # "happy", "edge" or "auth"
    case: Case
    response: StResponse | None = None


class HandBuilt(CaseHooks):
    """Sending the hand-built cases; the hand-built worker provides the state below."""

    schema: Any
    sent: list[Sent]
    workers: int
    _local: threading.local
    _edges_sent: set[str]

    def _send(self, label: str, **kwargs: Any) -> StResponse | None:
        """Send one hand-built case (see ``_send_case``); its answer, None when the operation is not
        covered or got no answer."""
        sent = self._send_case(label, **kwargs)
        return sent.response if sent is not None else None

    def _send_case(
        self,
        label: str,
        *,
        kind: str = "happy",
        body: Any = None,
        media_type: str | None = None,
        path_parameters: dict[str, str] | None = None,
        query: dict[str, Any] | None = None,
        key: str | None = "",
    ) -> Sent | None:
        """Send one hand-built case with its Authorization set explicitly ([auth.openapi] applies to
        generated cases only). None when the operation is not covered."""
        if label not in self.operations:
            return None
        method, path = label.split(" ", 1)
        extra: dict[str, Any] = {}
        if body is not None:
            extra = {"body": body, "media_type": media_type or "application/json"}
        case = self.schema[path][method].Case(path_parameters=path_parameters, query=query, **extra)
        self.hand_built.add(id(case))
        sent = Sent(label=label, kind=kind, case=case)
        task_sent = getattr(self._local, "sent", None)
        (self.sent if task_sent is None else task_sent).append(sent)
        headers = self._auth(self.target.api_key if key == "" else key)
        try:
            # 429/503 are waited for and sent again by the policy, as every request of the run.
            sent.response = case.call(headers=headers, timeout=self.target.timeout)
        except Exception as exc:
            self._refused(exc)  # raises Stop when a budget is spent
            if not is_network_error(exc):
                raise
            return sent  # no answer, or not sent (the circuit breaker): reported as a timeout
        self._after_answer(case, sent.response)
        return sent

    def _in_parallel(self, tasks: Sequence[Callable[[], T]]) -> list[T]:
        """Run independent sequences of hand-built cases side by side, ``self.workers`` at a time.

        Each task sends its own cases in order; ``self.sent`` (or, called from such a task, the task's
        own cases) gets them in task order, as a sequential run would have, so what is judged and kept
        does not depend on timing. A task that raised (``Stop``: a budget is spent) raises here once every
        task has ended.
        """
        if self.workers <= 1 or len(tasks) <= 1:
            return [task() for task in tasks]

        def run(task: Callable[[], T]) -> tuple[T | None, list[Sent], Exception | None]:
            self._local.sent = sent = []
            try:
                return task(), sent, None
            except Exception as exc:
                return None, sent, exc
            finally:
                self._local.sent = None

        caller = getattr(self._local, "sent", None)  # a task of an outer call: its cases, in order
        with ThreadPoolExecutor(self.workers, thread_name_prefix="oai-conformance-property") as pool:
            outcomes = list(pool.map(run, tasks))
        for _, sent, _ in outcomes:
            (self.sent if caller is None else caller).extend(sent)
        failed = next((exc for _, _, exc in outcomes if exc is not None), None)
        if failed is not None:
            raise failed
        return [value for value, _, _ in outcomes]  # type: ignore[misc]

    def _happy_paths(self, *also: Callable[[], Any]) -> None:
        """One valid request per operation; the file and fine-tune operations get ids from an upload.
        Independent operations go out side by side (with ``also``, tasks of the caller's that send no
        hand-built case); the files and fine-tunes sequence in its order."""
        chat, completion, embed = (self.models.get(c) for c in ("chat", "completions", "embeddings"))
        tokens = self.target.max_tokens
        send = self._send
        tasks: list[Callable[[], Any]] = [lambda: send("GET /models")]
        if chat or completion or embed:
            model = str(chat or completion or embed)
            tasks.append(lambda: send("GET /models/{model}", path_parameters={"model": model}))
        if chat:
            chat_body = {"model": chat, "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": tokens}
            tasks.append(lambda: send("POST /chat/completions", body=chat_body))
            tasks.append(lambda: send("POST /chat/completions", body={**chat_body, "stream": True}))
        if completion:
            completion_body = {"model": completion, "prompt": "Say this is a test.", "max_tokens": tokens}
            tasks.append(lambda: send("POST /completions", body=completion_body))
            tasks.append(lambda: send("POST /completions", body={**completion_body, "stream": True}))
        if embed:
            embed_body = {"model": embed, "input": "The food was delicious.", "encoding_format": "float"}
            tasks.append(lambda: send("POST /embeddings", body=embed_body))
            # The other documented output, with the documented optional `user`.
            base64_body = {**embed_body, "encoding_format": "base64", "user": "oai-conformance"}
            tasks.append(lambda: send("POST /embeddings", body=base64_body))
        if "edits" in self.models:
            edit_body = {
                "model": self.models["edits"],
                "input": "What day of the wek is it?",
                "instruction": "Fix spelling.",
            }
            tasks.append(lambda: send("POST /edits", body=edit_body))
        tasks.append(lambda: send("POST /moderations", body={"input": "I want to hug them."}))
        image = {"prompt": "A small red square.", "n": 1, "size": "256x256"}
        tasks.append(lambda: send("POST /images/generations", body=image))
        tasks.append(lambda: send("POST /images/edits", body={**image, "image": tiny_png()}, media_type=MULTIPART))
        variation = {"image": tiny_png(), "n": 1, "size": "256x256"}
        tasks.append(lambda: send("POST /images/variations", body=variation, media_type=MULTIPART))
        tasks.append(self._engines)
        if "responses" in self.models:
            tasks.append(self._responses)
        # The longest sequence first: the others fill the remaining workers while it runs.
        self._in_parallel([self._files_and_fine_tunes, *tasks, *also])

    def _engines(self) -> None:
        engine = first_id(self._send("GET /engines"))
        if engine:
            self._send("GET /engines/{engine_id}", path_parameters={"engine_id": engine})

    def _responses(self) -> None:
        """A response and its stream; then a stored one read back, its input items listed, and deleted; then a
        background one cancelled and deleted."""
        model = self.models["responses"]
        body = {"model": model, "input": "Say hello.", "max_output_tokens": max(self.target.max_tokens, 16)}
        self._send("POST /responses", body={**body, "store": False})
        self._send("POST /responses", body={**body, "store": False, "stream": True})
        if "GET /responses/{response_id}" not in self.operations:
            return
        stored = json_field(self._send("POST /responses", body={**body, "store": True}), "id")
        if stored:
            path = {"response_id": stored}
            self._send("GET /responses/{response_id}", path_parameters=path)
            self._send("GET /responses/{response_id}/input_items", path_parameters=path)
            self._send("DELETE /responses/{response_id}", path_parameters=path)
        if "POST /responses/{response_id}/cancel" not in self.operations:
            return
        # A background response cancelled at once: the one request that reaches the cancel operation's 200.
        queued = json_field(self._send("POST /responses", body={**body, "store": True, "background": True}), "id")
        if queued:
            path = {"response_id": queued}
            self._send("POST /responses/{response_id}/cancel", path_parameters=path)
            self._send("DELETE /responses/{response_id}", path_parameters=path)

    def _files_and_fine_tunes(self) -> None:
        upload = {"file": TRAINING_JSONL, "purpose": "fine-tune"}
        file_id = json_field(self._send("POST /files", body=upload, media_type=MULTIPART), "id")
        self._send("GET /files")  # before any fine-tune: a job that succeeds stores its results as a file
        if file_id:
            path = {"file_id": file_id}
            # The reads of the file go out beside the fine-tunes that train on it; then it is deleted.
            reads = ("GET /files/{file_id}", "GET /files/{file_id}/content")
            self._in_parallel(
                [
                    lambda: [self._send(label, path_parameters=path) for label in reads],
                    lambda: self._fine_tunes(file_id),
                ]
            )
            deleted = self._send("DELETE /files/{file_id}", path_parameters=path)
            if deleted is not None and 200 <= deleted.status_code < 300 and file_id in self.uploaded:
                self.uploaded.remove(file_id)
        else:
            self._send("GET /fine-tunes")

    def _fine_tunes(self, file_id: str) -> None:
        """Job A is cancelled at once (nothing trains), then read; job B is read until it has a model,
        which is deleted -- or, on a provider whose jobs really train, it is cancelled too."""
        first = json_field(self._send("POST /fine-tunes", body={"training_file": file_id}), "id")
        self._send("GET /fine-tunes")
        # Job B is created once the list was read: its answer is the same whatever job B does.
        self._in_parallel([lambda: self._first_job(first), lambda: self._second_job(file_id)])

    def _first_job(self, first: str | None) -> None:
        if first:
            path = {"fine_tune_id": first}
            self._send("POST /fine-tunes/{fine_tune_id}/cancel", path_parameters=path)
            self._send("GET /fine-tunes/{fine_tune_id}", path_parameters=path)
            self._send("GET /fine-tunes/{fine_tune_id}/events", path_parameters=path)
            self._send("GET /fine-tunes/{fine_tune_id}/events", path_parameters=path, query={"stream": True})

    def _second_job(self, file_id: str) -> None:
        if "DELETE /models/{model}" not in self.operations:
            return
        second = json_field(self._send("POST /fine-tunes", body={"training_file": file_id}), "id")
        if not second:
            return
        path = {"fine_tune_id": second}
        model = None
        for _ in range(FINE_TUNE_READS):
            model = json_field(self._send("GET /fine-tunes/{fine_tune_id}", path_parameters=path), "fine_tuned_model")
            if model:
                break
        if model:
            self._send("DELETE /models/{model}", path_parameters={"model": model})
        else:
            self._send("POST /fine-tunes/{fine_tune_id}/cancel", path_parameters=path)

    def _declined(self) -> set[str]:
        """Capabilities the provider honestly declines: every hand-built request for them an honest refusal
        by the one rule (conformance.expect.declines; the hand-written checks report these UNSUPPORTED; the
        property run leaves them out) -- also when the user declared them (--capabilities), as the
        hand-written checks then apply the same rule."""
        answers: dict[str, list[StResponse | None]] = {}
        for sent in self.sent:
            capability = self.operations[sent.label].get("x-capability", "")
            if capability in DECLARABLE_CAPABILITIES:
                answers.setdefault(capability, []).append(sent.response)
        return {
            capability
            for capability, responses in answers.items()
            if all(r is not None and declines(r.status_code, not envelope_problem(r.content)) for r in responses)
        }

    def _edge_cases(self, declined: set[str]) -> None:
        tasks: list[Callable[[], Any]] = []
        for edge in EDGE_CASES:
            operation = self.operations.get(edge.label)
            if operation is None or operation.get("x-capability") in declined:
                continue
            model = self.models.get(edge.model_capability) if edge.model_capability else ""
            if model is None:
                continue
            tasks.append(lambda edge=edge, model=model: self._send_edge(edge, model))
        try:
            self._in_parallel(tasks)
        finally:
            self.result.edge_cases = tuple(edge.name for edge in EDGE_CASES if edge.name in self._edges_sent)

    def _send_edge(self, edge: EdgeCase, model: str) -> None:
        self._send(edge.label, kind="edge", body=edge.build(model, self.target.max_tokens))
        self._edges_sent.add(edge.name)

    def _auth_unprobed(self, label: str) -> bool:
        """An operation that served the key must refuse the same request without a key and with a wrong
        one: probed once per operation, for those the generated cases did not already probe."""
        if not self.target.api_key or label in self.auth_probed:
            return False
        self.auth_probed.add(label)
        return True

    def _send_auth_probes(self, happy: Sent) -> tuple[list[tuple[str, Sent]], Stop | None]:
        """The happy case again without a key and with a wrong one; what was sent before a budget ran out."""
        case = happy.case
        sent: list[tuple[str, Sent]] = []
        try:
            for scenario, key in (("without a key", None), ("with a wrong key", WRONG_KEY)):
                probe = self._send_case(
                    happy.label,
                    kind="auth",
                    body=case_body(case),
                    media_type=case.media_type,
                    path_parameters=case.path_parameters or None,
                    query=case.query or None,
                    key=key,
                )
                if probe is not None:
                    sent.append((scenario, probe))
        except Stop as stop:
            return sent, stop
        return sent, None
