"""Your own checks, as a plain pytest file, reading the exchanges the conformance suite sends.

Installing oai-conformance registers its pytest plugin (the ``pytest11`` entry point), which makes every
probe of the suite a session-scoped fixture: name one as an argument (``chat_response``,
``models_listing``, ``chat_stream``, ``chat_model``...; ``oai-conformance explain ID`` shows which probes
a requirement's check reads) and you get the recorded exchange. Each probe is sent once per session,
before the first test runs, however many tests read it -- and no other request is sent: this file
alone runs none of the suite's own checks.

Run it against your provider::

    pytest examples/test_my_gateway.py --oai-base-url https://gateway.example/v1 --oai-api-key "$KEY" \\
        --oai-chat-model my-chat-model

(``--oai-base-url``/``--oai-api-key`` default to ``$OPENAI_BASE_URL``/``$OPENAI_API_KEY``; without
``--oai-chat-model`` the model is chosen from ``GET /models``.) The plugin loads by itself; with plugin
autoloading off (``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``) add ``-p conformance.pytest_plugin``.

Against the built-in reference provider (``oai-conformance serve`` in another shell)::

    pytest examples/test_my_gateway.py --oai-base-url http://127.0.0.1:8000/v1 \\
        --oai-api-key sk-ref-conformance-key --oai-chat-model ref-chat

An exchange (:class:`conformance.transport.exchange.Exchange`) has ``status``, ``headers`` (lower-cased names),
``body``, ``text``, ``json()`` and ``elapsed_s``. A probe that could not be sent (no model for chat, the
capability declared absent) raises when the fixture is read, and the test errors with the reason.
"""

from __future__ import annotations

from conformance.transport.exchange import Exchange


def test_gateway_sets_a_request_id(chat_response: Exchange) -> None:
    """Our gateway's log correlation needs every answer to carry x-request-id."""
    assert chat_response.status == 200, chat_response.text
    assert "x-request-id" in chat_response.headers


def test_the_chat_model_is_listed(models_listing: Exchange, chat_model: str) -> None:
    """The model we chat with is one GET /models lists (model pickers only offer listed ones)."""
    assert models_listing.status == 200, models_listing.text
    listed = {model["id"] for model in models_listing.json()["data"]}
    assert chat_model in listed, f"{chat_model!r} is not among {sorted(listed)}"
