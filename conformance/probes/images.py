"""Probes of the image checks: generations (b64 and url), edit, variation, a bad size, and the image a
generated URL points to."""

from __future__ import annotations

import urllib.parse
from typing import Any

from conformance import expect
from conformance.core.results import NotApplicable
from conformance.engine import probe
from conformance.probes.endpoints import IMAGE_N, IMAGE_PROMPT, IMAGE_SIZE, SOURCE_PNG, send_multipart
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange

GENERATIONS = "POST /images/generations"


def image_items(exchange: Exchange, what: str, see: str) -> list[dict[str, Any]]:
    """The ``data`` array of image objects; NotApplicable when the shape rule (``see``) already fails."""
    expect.success(exchange, what)
    try:
        body = exchange.json()
    except (ValueError, UnicodeDecodeError):
        raise NotApplicable(f"the answer is not JSON (see {see})") from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise NotApplicable(f"no data array of image objects (see {see})")
    return data


def absolute_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urllib.parse.urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# -- images -------------------------------------------------------------------------------------------


@probe
def image_b64(images_client: HttpClient) -> Exchange:
    body = {"prompt": IMAGE_PROMPT, "n": IMAGE_N, "size": IMAGE_SIZE, "response_format": "b64_json"}
    return images_client.request("POST", "images/generations", json_body=body)


@probe
def image_url(images_client: HttpClient) -> Exchange:
    """No response_format: the documented default is url."""
    return images_client.request(
        "POST", "images/generations", json_body={"prompt": IMAGE_PROMPT, "n": 1, "size": IMAGE_SIZE}
    )


@probe
def image_edit(images_client: HttpClient) -> Exchange:
    fields = {"prompt": IMAGE_PROMPT + " wearing a beret", "n": str(IMAGE_N), "size": IMAGE_SIZE}
    fields["response_format"] = "b64_json"
    return send_multipart(images_client, "images/edits", fields, {"image": ("otter.png", SOURCE_PNG, "image/png")})


@probe
def image_variation(images_client: HttpClient) -> Exchange:
    fields = {"n": str(IMAGE_N), "size": IMAGE_SIZE, "response_format": "b64_json"}
    return send_multipart(images_client, "images/variations", fields, {"image": ("otter.png", SOURCE_PNG, "image/png")})


@probe
def image_bad_size(images_client: HttpClient) -> Exchange:
    return images_client.request("POST", "images/generations", json_body={"prompt": IMAGE_PROMPT, "size": "100x100"})


@probe
def image_url_fetched(image_url: Exchange, client: HttpClient) -> Exchange | None:
    """GET of the first image URL of the url-format generation; None (not sent) where there is no
    absolute URL to fetch (IMG-006 is not judged then)."""
    try:
        items = image_items(image_url, GENERATIONS, "IMG-001")
    except Exception:
        return None
    url = items[0].get("url") if items else None
    if not absolute_http_url(url):
        return None
    # The client sends the key only to the target's own origin (a signed CDN URL needs none).
    return client.request("GET", url)
