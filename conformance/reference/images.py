"""Images: generations, edits and variations as small solid-colour PNGs, made in-process.

Every image is a pure function of (prompt or source, route, index, size): its colour comes from a
hash, so identical requests give identical images. ``url`` answers point at this server's own
``/v1/_images/<width>x<height>-<rrggbb>.png`` route, which regenerates the image from its name; the
URL works on every app instance (no stored state) and needs no key, like the signed URLs OpenAI
hands out.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from conformance.imaging import ImageError, decode_png, encode_png

from .errors import ApiError, invalid_request, missing_parameter
from .params import Reject, as_int, as_str, int_in, invalid_value, one_of
from .sse import now

__all__ = [
    "IMAGE_ROUTE",
    "SIZES",
    "ImageRequest",
    "image_name",
    "image_png",
    "images_response",
    "parse_image_name",
    "validate_image_request",
]

SIZES: Final = ("256x256", "512x512", "1024x1024")
FORMATS: Final = ("url", "b64_json")
MAX_PROMPT_CHARS: Final = 1000
MAX_IMAGE_BYTES: Final = 4 * 1024 * 1024
#: Where ``url`` answers point, relative to the server root.
IMAGE_ROUTE: Final = "/v1/_images/"
_NAME: Final = re.compile(r"(\d{3,4})x(\d{3,4})-([0-9a-f]{6})\.png")


@dataclass(frozen=True, slots=True)
class ImageRequest:
    route: str  # "generations" | "edits" | "variations"
    prompt: str  # the prompt, or for a variation a digest of the source image
    n: int
    size: str
    response_format: str


def _form_int(low: int, high: int) -> Any:
    """Multipart fields arrive as strings ("2"); JSON ones as numbers. Both must be whole numbers."""
    bounded = int_in(low, high)

    def parse(value: Any, param: str) -> int:
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise invalid_value(param, f"'{value}' is not an integer.", "invalid_type") from None
        return bounded(as_int(value, param), param)

    return parse


def validate_image_request(route: str, fields: Mapping[str, Any], image: bytes | None) -> ImageRequest | ApiError:
    """Check the documented parameters (always strictly: images cost money, a typo should not)."""
    try:
        prompt = ""
        if route != "variations":
            if fields.get("prompt") is None:
                raise Reject(missing_parameter("prompt"))
            prompt = as_str(fields["prompt"], "prompt")
            if not prompt:
                raise invalid_value("prompt", "the prompt must not be empty.", "empty_string")
            if len(prompt) > MAX_PROMPT_CHARS:
                raise invalid_value(
                    "prompt", f"string too long. Expected at most {MAX_PROMPT_CHARS} characters.", "string_above_max"
                )
        if route != "generations":
            if image is None:
                raise Reject(missing_parameter("image"))
            problem = _source_problem(image)
            if problem:
                raise Reject(invalid_request(f"Invalid input image - {problem}", "image", "invalid_image"))
            if route == "variations":
                prompt = "variation:" + hashlib.sha256(image).hexdigest()
        if fields.get("model") is not None:
            as_str(fields["model"], "model")  # any image model name is served by the one generator
        n = _form_int(1, 10)(fields["n"], "n") if fields.get("n") is not None else 1
        size = one_of(*SIZES)(fields["size"], "size") if fields.get("size") is not None else "1024x1024"
        response_format = "url"
        if fields.get("response_format") is not None:
            response_format = one_of(*FORMATS)(fields["response_format"], "response_format")
        if fields.get("user") is not None:
            as_str(fields["user"], "user")
    except Reject as rejected:
        return rejected.error
    return ImageRequest(route=route, prompt=prompt, n=n, size=size, response_format=response_format)


def _source_problem(image: bytes) -> str | None:
    """Seed 002: the source must be a valid square PNG of less than 4 MB."""
    if len(image) >= MAX_IMAGE_BYTES:
        return "the image must be less than 4 MB."
    try:
        info = decode_png(image)
    except ImageError as exc:
        return f"format must be a valid PNG ({exc})."
    if info.width != info.height:
        return f"the image must be square, got {info.width}x{info.height}."
    return None


def _colour(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:6]


def image_name(request: ImageRequest, index: int) -> str:
    return f"{request.size}-{_colour(request.route, request.prompt, str(index))}.png"


def parse_image_name(name: str) -> tuple[int, int, str] | None:
    """(width, height, rrggbb) of a name made by :func:`image_name`, or None."""
    match = _NAME.fullmatch(name)
    if match is None or f"{match[1]}x{match[2]}" not in SIZES:
        return None
    return int(match[1]), int(match[2]), match[3]


@lru_cache(maxsize=64)
def image_png(width: int, height: int, colour: str) -> bytes:
    red, green, blue = bytes.fromhex(colour)
    return encode_png(width, height, (red, green, blue, 255))


def images_response(request: ImageRequest, base_url: str) -> dict[str, Any]:
    """``{created, data: [{url} | {b64_json}]}``; ``base_url`` is the server root ("http://host:port/")."""
    data: list[dict[str, Any]] = []
    for index in range(request.n):
        name = image_name(request, index)
        if request.response_format == "b64_json":
            parsed = parse_image_name(name)
            assert parsed is not None
            data.append({"b64_json": base64.b64encode(image_png(*parsed)).decode("ascii")})
        else:
            data.append({"url": base_url.rstrip("/") + IMAGE_ROUTE + name})
    return {"created": now(), "data": data}
