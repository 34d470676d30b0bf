"""Just enough image handling for the image checks and the reference provider, in pure Python.

``encode_png`` writes a small valid PNG (zlib + struct, no Pillow); ``sniff`` names the format of some
bytes by their signature; ``decode_png`` validates a PNG the way a decoder would (signature, chunk
CRCs, IHDR first, IDAT present, IEND last, and the inflated pixel data has exactly the size IHDR
promises) and returns its dimensions. ``dimensions`` reads width and height from PNG or JPEG headers.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

__all__ = ["ImageError", "PngInfo", "decode_png", "dimensions", "encode_png", "sniff"]

PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_CHANNELS: Final = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type → samples per pixel
# A decoded image larger than this is refused rather than inflated (a check must stay cheap).
MAX_PIXELS: Final = 4096 * 4096


class ImageError(ValueError):
    """The bytes are not a valid image of the claimed format; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class PngInfo:
    width: int
    height: int
    bit_depth: int
    colour_type: int


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def encode_png(width: int, height: int, rgba: tuple[int, int, int, int], *, transparent_rows: int = 0) -> bytes:
    """An 8-bit RGBA PNG of one colour; the last ``transparent_rows`` rows are fully transparent
    (an image edit without a mask edits where the image is transparent)."""
    opaque = b"\x00" + bytes(rgba) * width  # filter byte 0 (None) then the pixels
    clear = b"\x00" + bytes((*rgba[:3], 0)) * width
    raw = opaque * (height - transparent_rows) + clear * transparent_rows
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 6)) + _chunk(b"IEND", b"")


def sniff(data: bytes) -> str | None:
    """ "png", "jpeg", "webp" or "gif" by signature, else None."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def _chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    position = len(PNG_SIGNATURE)
    while position < len(data):
        if position + 8 > len(data):
            raise ImageError(f"truncated chunk header at byte {position}")
        (length,) = struct.unpack(">I", data[position : position + 4])
        tag = data[position + 4 : position + 8]
        end = position + 8 + length
        if end + 4 > len(data):
            raise ImageError(f"chunk {tag!r} runs past the end of the data")
        body = data[position + 8 : end]
        (crc,) = struct.unpack(">I", data[end : end + 4])
        if crc != zlib.crc32(tag + body) & 0xFFFFFFFF:
            raise ImageError(f"chunk {tag!r} has a wrong CRC")
        yield tag, body
        position = end + 4


def decode_png(data: bytes) -> PngInfo:
    """Validate a PNG completely enough that a real decoder would accept it; raise ImageError if not."""
    if not data.startswith(PNG_SIGNATURE):
        raise ImageError("no PNG signature")
    info: PngInfo | None = None
    idat = bytearray()
    tags: list[bytes] = []
    for tag, body in _chunks(data):
        tags.append(tag)
        if tag == b"IHDR":
            if len(tags) != 1 or len(body) != 13:
                raise ImageError("IHDR is not the first chunk or has the wrong length")
            width, height, depth, colour, _compression, _filter, interlace = struct.unpack(">IIBBBBB", body)
            if width == 0 or height == 0 or colour not in _CHANNELS or depth not in (1, 2, 4, 8, 16):
                raise ImageError(f"invalid IHDR: {width}x{height}, depth {depth}, colour type {colour}")
            if interlace:
                # Adam7 is legal but the check only needs to know the image decodes; trust the header.
                return PngInfo(width, height, depth, colour)
            info = PngInfo(width, height, depth, colour)
        elif tag == b"IDAT":
            idat += body
        elif tag == b"IEND":
            break
    if info is None:
        raise ImageError("no IHDR chunk")
    if not tags or tags[-1] != b"IEND":
        raise ImageError("no IEND chunk")
    if not idat:
        raise ImageError("no IDAT chunk")
    if info.width * info.height > MAX_PIXELS:
        raise ImageError(f"{info.width}x{info.height} is larger than this check decodes")
    row_bits = info.width * _CHANNELS[info.colour_type] * info.bit_depth
    expected = info.height * (1 + (row_bits + 7) // 8)
    try:
        inflater = zlib.decompressobj()
        pixels = inflater.decompress(bytes(idat), expected + 1)
    except zlib.error as exc:
        raise ImageError(f"IDAT does not inflate: {exc}") from None
    if len(pixels) != expected:
        raise ImageError(f"pixel data is {len(pixels)} bytes, IHDR promises {expected}")
    return info


def dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG or baseline/progressive JPEG, or None when it cannot be read."""
    kind = sniff(data)
    if kind == "png" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if kind == "jpeg":
        position = 2
        while position + 9 < len(data):
            if data[position] != 0xFF:
                return None
            marker = data[position + 1]
            (length,) = struct.unpack(">H", data[position + 2 : position + 4])
            if marker in (0xC0, 0xC1, 0xC2):  # start of frame: precision, height, width
                height, width = struct.unpack(">HH", data[position + 5 : position + 9])
                return width, height
            position += 2 + length
    return None
