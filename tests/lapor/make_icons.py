"""Draw the phone app's icons (dashboard/lapor/icons/*.png) with the standard library only.

A white map pin with a red centre on Posko blue: "my place, reported". Run once after a change
of design and commit the PNGs: `python -m tests.lapor.make_icons`. The "any" icons are a
rounded square; the maskable ones fill the square and keep the pin inside the central 80 %
circle that launchers may cut to.
"""

import math
import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "dashboard" / "lapor" / "icons"
BLUE = (11, 61, 145)
WHITE = (255, 255, 255)
RED = (200, 0, 30)
SAMPLES = 4  # per side, per pixel: smooth edges


def _png(width: int, height: int, rgba: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    stride = width * 4
    rows = b"".join(b"\0" + rgba[y * stride : (y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _pin(x: float, y: float, scale: float) -> str | None:
    """What the pin is at (x, y) in the unit square: "dot", "pin" or None."""
    # The pin is drawn in its own unit box, shrunk by `scale` about the centre.
    x = (x - 0.5) / scale + 0.5
    y = (y - 0.5) / scale + 0.5
    cx, cy, r, tip = 0.5, 0.40, 0.21, 0.84
    d = math.hypot(x - cx, y - cy)
    if d <= 0.095:
        return "dot"
    if d <= r:
        return "pin"
    phi = math.acos(r / (tip - cy))  # the tangents from the tip to the circle
    top = cy + r * math.cos(phi)
    half = r * math.sin(phi)
    if top <= y <= tip and abs(x - cx) <= half * (tip - y) / (tip - top):
        return "pin"
    return None


def _background(x: float, y: float, rounded: bool) -> bool:
    if not rounded:
        return True
    k = 0.22  # corner radius
    dx = max(k - x, 0.0, x - (1 - k))
    dy = max(k - y, 0.0, y - (1 - k))
    return dx * dx + dy * dy <= k * k


def draw(size: int, *, maskable: bool) -> bytes:
    """One icon as PNG bytes."""
    scale = 0.72 if maskable else 1.0
    out = bytearray()
    n = SAMPLES * SAMPLES
    for py in range(size):
        for px in range(size):
            acc = [0.0, 0.0, 0.0, 0.0]
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    x = (px + (sx + 0.5) / SAMPLES) / size
                    y = (py + (sy + 0.5) / SAMPLES) / size
                    if not _background(x, y, rounded=not maskable):
                        continue
                    part = _pin(x, y, scale)
                    colour = RED if part == "dot" else WHITE if part == "pin" else BLUE
                    for i in range(3):
                        acc[i] += colour[i]
                    acc[3] += 255
            alpha = acc[3] / n
            if alpha:
                cover = acc[3] / 255
                out += bytes(round(acc[i] / cover) for i in range(3)) + bytes([round(alpha)])
            else:
                out += b"\0\0\0\0"
    return _png(size, size, bytes(out))


def main() -> None:
    """Write the four icons the manifest names."""
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        (OUT / f"icon-{size}.png").write_bytes(draw(size, maskable=False))
        (OUT / f"maskable-{size}.png").write_bytes(draw(size, maskable=True))


if __name__ == "__main__":
    main()
