"""Probes of the message-form checks (conformance/checks/chat_messages.py): one conversation that uses every
documented role and text content form, and one user message with an image part -- two small requests, the
second not sent where vision is declared absent.
"""

from __future__ import annotations

import base64
from typing import Any

from conformance import builders
from conformance.engine import probe
from conformance.imaging import encode_png
from conformance.probes.base import feature_declared
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange

#: Every role a text conversation uses, each content form the request schema allows for it, and ``name``:
#: developer (string), system (an array of text parts, with a name), user (string, with a name), assistant
#: (an array of text parts, refusal null), and the question last, as a user array of text parts. (The
#: assistant turn with content null and tool_calls, and the tool message, are CHAT-TOOL-005's.)
MESSAGE_FORMS: list[dict[str, Any]] = [
    {"role": "developer", "content": "Answer in one short sentence."},
    {"role": "system", "content": [{"type": "text", "text": "Be friendly."}], "name": "house_rules"},
    {"role": "user", "content": "Hi, I am Ada.", "name": "ada"},
    {"role": "assistant", "content": [{"type": "text", "text": "Hello Ada."}], "refusal": None},
    {"role": "user", "content": [{"type": "text", "text": builders.CHAT_PROMPT}]},
]
#: A 2x2 red PNG as a data URL: the smallest image every vision model reads.
IMAGE_URL = "data:image/png;base64," + base64.b64encode(encode_png(2, 2, (255, 0, 0, 255))).decode("ascii")
VISION_MESSAGES = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What colour is this image? Answer in one word."},
            {"type": "image_url", "image_url": {"url": IMAGE_URL, "detail": "low"}},
        ],
    }
]


@probe
def chat_message_forms(client: HttpClient, chat_model: str) -> Exchange:
    return builders.chat(client, chat_model, messages=MESSAGE_FORMS)


@probe
def chat_vision(client: HttpClient, chat_model: str) -> Exchange:
    feature_declared(client.target, "vision")
    return builders.chat(client, chat_model, messages=VISION_MESSAGES)
