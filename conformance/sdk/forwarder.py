"""A loopback HTTP forwarder that puts openai-node's requests through the run's one transport policy.

openai-node runs in a subprocess with its own fetch; pointed at this forwarder (on 127.0.0.1, for the
length of one node run), each request it makes is sent on to the target by the policy -- budgeted,
slotted, deadlined, capped, broken, retried after a 429/503, recorded and redacted like every other
request -- and the answer streams back as it arrives. The policy's refusals come back as a
``x-oai-conformance-refused`` answer (``budget``, ``timeout`` or ``failed``) that the script's fetch turns
into the error a user's fetch would have raised. Each request names its flow in ``x-oai-conformance-flow``
(never sent on), so the exchanges are filed by flow.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from conformance.transport.exchange import Exchange
from conformance.transport.limits import BudgetExhausted
from conformance.transport.policy import LeftOrigin, Policy

FLOW_HEADER = "x-oai-conformance-flow"
REFUSED_HEADER = "x-oai-conformance-refused"
# Hop-by-hop headers, and what the forwarder sets itself (the body is re-framed, and handed over decoded).
_NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "host",
        "content-length",
        "content-encoding",
        "accept-encoding",
        FLOW_HEADER,
    }
)


class Forwarder:
    """The forwarder for one node run; :attr:`base_url` is the target's base URL on the loopback."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.label = policy.current_label()  # node sends for the probe that started it
        self.exchanges: dict[str, list[Exchange]] = {}
        self._lock = threading.Lock()
        target = httpx.URL(policy.target.base_url)
        self._target_origin = target.copy_with(raw_path=b"/")
        self._client = httpx.Client(transport=policy, timeout=policy.timeout, follow_redirects=False, trust_env=False)
        forwarder = self

        class Handler(_Handler):
            owner = forwarder

        self._server = _Server(("127.0.0.1", 0), Handler)
        # Handler threads are joined when the server closes: every exchange is filed by then.
        port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{port}{target.raw_path.decode('ascii').split('?', 1)[0]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="oai-conformance-node-forwarder")
        self._thread.daemon = True
        self._stopped = False
        self._thread.start()

    def target_url(self, raw_path: str) -> str:
        return str(self._target_origin.copy_with(raw_path=raw_path.encode("ascii")))

    def filed(self, flow: str, exchanges: list[Exchange]) -> None:
        with self._lock:
            self.exchanges.setdefault(flow, []).extend(exchanges)

    def stop(self) -> None:
        """Stop serving (once); the exchanges stay."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._client.close()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: node closing an idle keep-alive connection as it exits is no error of anyone's."""


class _Handler(BaseHTTPRequestHandler):
    owner: Forwarder
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the policy records every exchange; nothing goes to stderr

    def do_GET(self) -> None:
        self._forward()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _forward(self) -> None:
        owner = self.owner
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        flow = self.headers.get(FLOW_HEADER, "")
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED]
        if "accept-encoding" in self.headers:
            # What the policy's client can decode (it hands the body over decoded), not node's brotli.
            headers.append(("accept-encoding", "gzip, deflate"))
        # Only what node sent (httpx adds Host and Content-Length), not httpx's default headers.
        request = httpx.Request(
            self.command,
            owner.target_url(self.path),
            headers=headers,
            content=body,
            extensions={"timeout": owner.policy.timeout.as_dict()},
        )
        with owner.policy.labelled(owner.label), owner.policy.recording() as exchanges:
            try:
                self._answer(owner._client.send(request, stream=True))
            except BudgetExhausted as exc:
                self._refuse("budget", str(exc))
            except LeftOrigin as exc:
                self._refuse("failed", str(exc))
            except httpx.TimeoutException as exc:
                self._refuse("timeout", f"timed out: {owner.policy.redact(str(exc)) or type(exc).__name__}")
            except httpx.HTTPError as exc:
                self._refuse("failed", owner.policy.redact(str(exc)) or type(exc).__name__)
        owner.filed(flow, exchanges)

    def _answer(self, response: httpx.Response) -> None:
        try:
            self.send_response_only(response.status_code, response.reason_phrase)
            for name, value in response.headers.multi_items():
                if name.lower() not in _NOT_FORWARDED:
                    self.send_header(name, value)
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            try:
                for chunk in response.iter_raw():
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
            except httpx.HTTPError:
                # Cut by the policy (a cap, the deadline) or the provider: node sees the body end unfinished.
                self.close_connection = True
                return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # node went away
        finally:
            response.close()

    def _refuse(self, kind: str, message: str) -> None:
        body = json.dumps({"error": {"message": message, "type": "oai_conformance_policy"}}).encode()
        self.send_response_only(599, "Refused by the policy")
        self.send_header(REFUSED_HEADER, kind)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
