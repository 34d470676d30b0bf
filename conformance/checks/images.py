"""IMG-*: image generations, edits and variations (seed 002 "Images"; legacy ImagesResponse schema).

What a schema cannot say is checked here: the image count equals ``n``, ``b64_json`` decodes to an
image of the requested size, and a ``url`` is absolute and serves the image.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from conformance import expect
from conformance.core.results import NotApplicable, Violation
from conformance.engine import check
from conformance.imaging import ImageError, decode_png, dimensions, sniff
from conformance.probes.endpoints import IMAGE_N, IMAGE_SIZE
from conformance.probes.images import GENERATIONS, absolute_http_url, image_items
from conformance.transport.exchange import Exchange


def decoded(item: dict[str, Any], pointer: str, exchange: Exchange) -> bytes:
    """The image bytes of a ``b64_json`` item; a Violation says why they are not an image."""
    encoded = item.get("b64_json")
    if not isinstance(encoded, str) or not encoded:
        raise Violation(
            "response_format b64_json was not honoured",
            pointer=f"{pointer}/b64_json",
            expected="a base64 string of the image",
            actual=expect.short({k: v if k != "b64_json" else "…" for k, v in item.items()}, 120),
            evidence=exchange,
        )
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise Violation(
            "b64_json is not base64",
            pointer=f"{pointer}/b64_json",
            expected="bare base64 (no data: URI prefix, no whitespace)",
            actual=expect.short(encoded[:60], 80),
            evidence=exchange,
        ) from None
    kind = sniff(raw)
    if kind is None:
        raise Violation(
            "b64_json does not decode to an image",
            pointer=f"{pointer}/b64_json",
            expected="PNG, JPEG, WebP or GIF bytes",
            actual=f"{len(raw)} bytes starting {raw[:8]!r}",
            evidence=exchange,
        )
    if kind == "png":
        try:
            decode_png(raw)
        except ImageError as exc:
            raise Violation(
                "b64_json decodes to a broken PNG",
                pointer=f"{pointer}/b64_json",
                expected="a PNG a decoder accepts",
                actual=str(exc),
                evidence=exchange,
            ) from None
    return raw


def n_images(exchange: Exchange, what: str) -> list[dict[str, Any]]:
    """For edits and variations, which have no separate shape rule: the documented shape and n images."""
    expect.success(exchange, what)
    body = expect.json_object(exchange)
    expect.field(body, "created", int, "", exchange)
    items = expect.field(body, "data", list, "", exchange)
    if len(items) != IMAGE_N:
        raise Violation(
            f"{what} did not return n images",
            pointer="/data",
            expected=f"{IMAGE_N} images (n={IMAGE_N})",
            actual=f"{len(items)}",
            evidence=exchange,
        )
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise Violation(
                "An image entry is not an object",
                pointer=f"/data/{index}",
                expected="an object",
                actual=expect.short(item),
                evidence=exchange,
            )
        decoded(item, f"/data/{index}", exchange)
    return items


@check("IMG-001", needs="images")
def test_generation_answers_created_and_data(image_b64: Exchange) -> None:
    expect.success(image_b64, GENERATIONS)
    body = expect.json_object(image_b64)
    expect.field(body, "created", int, "", image_b64)
    data = expect.field(body, "data", list, "", image_b64)
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise Violation(
                "An image entry is not an object",
                pointer=f"/data/{index}",
                expected="an object with url or b64_json",
                actual=expect.short(item),
                evidence=image_b64,
            )


@check("IMG-002", needs="images")
def test_generation_returns_n_images(image_b64: Exchange) -> None:
    items = image_items(image_b64, GENERATIONS, "IMG-001")
    if len(items) != IMAGE_N:
        raise Violation(
            "Image generation did not return n images",
            pointer="/data",
            expected=f"{IMAGE_N} images (n={IMAGE_N})",
            actual=f"{len(items)}",
            evidence=image_b64,
        )


@check("IMG-003", needs="images")
def test_b64_json_decodes_to_an_image(image_b64: Exchange) -> None:
    for index, item in enumerate(image_items(image_b64, GENERATIONS, "IMG-001")):
        decoded(item, f"/data/{index}", image_b64)


@check("IMG-004", needs="images")
def test_images_have_the_requested_size(image_b64: Exchange) -> None:
    width, height = (int(side) for side in IMAGE_SIZE.split("x"))
    for index, item in enumerate(image_items(image_b64, GENERATIONS, "IMG-001")):
        try:
            raw = decoded(item, f"/data/{index}", image_b64)
        except Violation:
            raise NotApplicable("no decodable image (see IMG-003)") from None
        size = dimensions(raw)
        if size is None:
            raise NotApplicable(f"cannot read the dimensions of a {sniff(raw)} image")
        if size != (width, height):
            raise Violation(
                "An image does not have the requested size",
                pointer=f"/data/{index}/b64_json",
                expected=f"{IMAGE_SIZE} (size={IMAGE_SIZE!r})",
                actual=f"{size[0]}x{size[1]}",
                evidence=image_b64,
            )


@check("IMG-005", needs="images")
def test_default_response_format_is_an_absolute_url(image_url: Exchange) -> None:
    for index, item in enumerate(image_items(image_url, GENERATIONS, "IMG-001")):
        url = item.get("url")
        if not absolute_http_url(url):
            if url is None:
                actual = "missing; b64_json instead" if "b64_json" in item else "missing"
            else:
                actual = expect.short(url, 120)
            raise Violation(
                "An image has no absolute URL (the default response_format is url)",
                pointer=f"/data/{index}/url",
                expected="an absolute http(s) URL",
                actual=actual,
                evidence=image_url,
            )


@check("IMG-006", needs="images")
def test_image_url_serves_the_image(image_url: Exchange, image_url_fetched: Exchange | None) -> None:
    items = image_items(image_url, GENERATIONS, "IMG-001")
    url = items[0].get("url") if items else None
    if not absolute_http_url(url):
        raise NotApplicable("no absolute image URL to fetch (see IMG-005)")
    fetched = image_url_fetched
    assert fetched is not None  # fetched wherever there is an absolute URL
    expect.status(fetched, 200, title="The image URL does not serve the image")
    if sniff(fetched.body) is None:
        raise Violation(
            "The image URL does not serve an image",
            expected="PNG, JPEG, WebP or GIF bytes",
            actual=f"{fetched.content_type or '(no Content-Type)'}: {fetched.body[:40]!r}",
            evidence=[fetched, image_url],
        )


@check("IMG-007", needs="images")
def test_edit_returns_n_images_from_a_multipart_upload(image_edit: Exchange) -> None:
    n_images(image_edit, "POST /images/edits")


@check("IMG-008", needs="images")
def test_variation_returns_n_images(image_variation: Exchange) -> None:
    n_images(image_variation, "POST /images/variations")


@check("IMG-009", needs="images")
def test_unsupported_size_is_refused(image_bad_size: Exchange) -> None:
    expect.decline(image_bad_size, GENERATIONS, refusable=True)
    expect.status(image_bad_size, *expect.REFUSALS, title="An unsupported image size was not refused")
