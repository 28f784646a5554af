"""Pictures for the photo tests, made here: real JPEG/PNG/WebP files and a decompression bomb."""

import io
import struct
import zlib

from PIL import Image


def jpeg(width: int = 640, height: int = 480, *, orientation: int = 1, seed: int = 0) -> bytes:
    """A JPEG, optionally with an EXIF orientation; `seed` changes its bytes."""
    img = Image.new("RGB", (width, height), (200, 30 + seed % 200, 30))
    # A dark square top-left, so that a rotation shows in the thumbnail.
    img.paste((0, 0, 0), (0, 0, width // 4, height // 4))
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85, exif=exif.tobytes())
    return out.getvalue()


def png(width: int = 300, height: int = 200, *, alpha: bool = False) -> bytes:
    """A PNG, optionally with transparency."""
    img = Image.new("RGBA" if alpha else "RGB", (width, height), (10, 120, 200, 0))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def webp(width: int = 400, height: int = 400) -> bytes:
    """A WebP."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 160, 60)).save(out, "WEBP", quality=70)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A valid grayscale PNG of width x height black pixels: tiny on disk, huge decoded.

    Written row by row with zlib, so that making it never holds the decoded picture either.
    """
    z = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte + one byte per pixel
    parts = [z.compress(row) for _ in range(height)]
    parts.append(z.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )
