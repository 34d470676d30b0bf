"""Probes of the image checks: generations (b64 and url), edit, variation, a bad size."""

from __future__ import annotations

from typing import TYPE_CHECKING

from conformance.engine import probe
from conformance.http import Exchange, HttpClient

if TYPE_CHECKING:
    pass

from conformance.probes.endpoints import IMAGE_N, IMAGE_PROMPT, IMAGE_SIZE, SOURCE_PNG, send_multipart

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


