"""Faults of the images endpoints: generations, edits, variations and the URLs they answer (IMG-*).

Most faults act on one route only, so that one fault breaks one rule; the ``*-unsupported-*``
variation models a provider that honestly does not offer the endpoint (404/501 with the error
envelope), which the suite must report UNSUPPORTED and never FAIL.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Scope

from ..images import SIZES
from ._asgi import ENVELOPE_HEADERS, declined, envelope, on, rewriting, without
from ._registry import fault, variation


@fault(
    "images-sd-webui-shape",
    site="images.response",
    summary='Image generation answers {"images": [<base64>...], "parameters": {...}} instead of {created, data}.',
    seen_in="AUTOMATIC1111 stable-diffusion-webui /sdapi/v1/txt2img shape passed through by thin wrappers",
)
def _images_sd_webui_shape(value: dict[str, Any], *, route: str = "", **_: Any) -> Any:
    if route != "generations":
        return value
    images = [item.get("b64_json") or item.get("url") for item in value.get("data", [])]
    return {"images": images, "parameters": {"steps": 20}, "info": "{}"}


@fault(
    "images-ignores-n",
    site="images.request",
    summary="Image generation returns one image whatever n asks for.",
    seen_in="gateways fronting DALL·E 3 (n=1 only) that drop n instead of refusing it",
)
def _images_ignores_n(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    return without(value, "n") if route == "generations" else value


@fault(
    "images-b64-returns-url",
    site="images.request",
    summary="response_format b64_json is ignored: image generation answers URLs.",
    seen_in="proxies that only implement the default response_format (url)",
)
def _images_b64_returns_url(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    return without(value, "response_format") if route == "generations" else value


@fault(
    "images-b64-data-uri",
    site="images.response",
    summary='b64_json carries a data URI ("data:image/png;base64,...") instead of bare base64.',
    seen_in="web-UI wrappers that hand their <img src> value to the API",
)
def _images_b64_data_uri(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    if route != "generations":
        return value

    def wrap(item: dict[str, Any]) -> dict[str, Any]:
        return {**item, "b64_json": "data:image/png;base64," + item["b64_json"]} if "b64_json" in item else item

    return {**value, "data": [wrap(item) for item in value.get("data", [])]}


@fault(
    "images-ignore-size",
    site="images.request",
    summary="Image generation ignores size: every image is 512x512 (the model's native resolution).",
    seen_in="Stable Diffusion back ends behind OpenAI-style image routes (fixed native resolution)",
)
def _images_ignore_size(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    # A valid size is replaced after validation would have accepted it; an invalid one is still refused.
    if route == "generations" and value.get("size") in SIZES:
        return {**value, "size": "512x512"}
    return value


@fault(
    "images-default-b64",
    site="images.request",
    summary="Without response_format, image generation answers b64_json (the documented default is url).",
    seen_in="local image servers that default to inline base64",
)
def _images_default_b64(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    if route == "generations" and value.get("response_format") is None:
        return {**value, "response_format": "b64_json"}
    return value


@fault(
    "images-relative-url",
    site="images.response",
    summary="Image URLs are relative paths (/v1/_images/...) instead of absolute URLs.",
    seen_in="self-hosted servers that return their static-file path",
)
def _images_relative_url(value: dict[str, Any], *, route: str = "", base_url: str = "", **_: Any) -> Any:
    if route != "generations":
        return value

    def relative(item: dict[str, Any]) -> dict[str, Any]:
        url = item.get("url")
        return (
            {**item, "url": "/" + url[len(base_url) :]} if isinstance(url, str) and url.startswith(base_url) else item
        )

    return {**value, "data": [relative(item) for item in value.get("data", [])]}


@fault(
    "images-url-not-served",
    site="images.response",
    summary="Image URLs point at a path the server does not serve (the file is never published): 404.",
    seen_in="LocalAI-style generated-images directories not exposed behind a reverse proxy",
)
def _images_url_not_served(value: dict[str, Any], *, route: str = "", **_: Any) -> Any:
    if route != "generations":
        return value

    def unpublished(item: dict[str, Any]) -> dict[str, Any]:
        url = item.get("url")
        return {**item, "url": url.replace("/v1/_images/", "/generated-images/")} if isinstance(url, str) else item

    return {**value, "data": [unpublished(item) for item in value.get("data", [])]}


@fault(
    "images-edits-rejects-multipart",
    site="asgi",
    summary="POST /images/edits only parses JSON: the documented multipart upload gets a 400 with the error "
    "envelope. IMG-007 takes it as edits declined (UNSUPPORTED); the claimed images capability never "
    "answering edits with a 2xx is PROP-008's finding.",
    seen_in="gateways that proxy every route as JSON (multipart image edits unsupported)",
)
def _images_edits_rejects_multipart(value: ASGIApp, **_: Any) -> ASGIApp:
    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes) -> Any:
        if on(scope["path"], "/images/edits"):
            return 400, dict(ENVELOPE_HEADERS), envelope("Expecting value: line 1 column 1 (char 0)")
        return None

    return rewriting(value, rewrite)


@fault(
    "images-variations-ignores-n",
    site="images.request",
    summary="Image variations return one image whatever n asks for.",
    seen_in="gateways that map variations onto a single-image upstream call",
)
def _images_variations_ignores_n(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    return without(value, "n") if route == "variations" else value


@fault(
    "images-edits-ignores-n",
    site="images.request",
    summary="Image edits return one image whatever n asks for.",
    seen_in="gateways that map edits onto a single-image upstream call",
)
def _images_edits_ignores_n(value: dict[str, Any], *, route: str = "", **_: Any) -> dict[str, Any]:
    return without(value, "n") if route == "edits" else value


@fault(
    "images-size-unchecked",
    site="images.request",
    summary="An unsupported size is not refused: a 1024x1024 image comes back instead.",
    seen_in="servers that fall back to a default resolution silently",
)
def _images_size_unchecked(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    if value.get("size") is not None and value.get("size") not in SIZES:
        return {**value, "size": "1024x1024"}
    return value


@variation(
    "images-unsupported-404",
    site="asgi",
    summary="The provider does not offer images: every /images route is a 404 with the error envelope.",
    seen_in="text-only OpenAI-compatible servers (vLLM, llama.cpp server)",
)
def _images_unsupported(value: ASGIApp, **_: Any) -> ASGIApp:
    return declined(value, prefix="images/", status=404)
