"""Images made byte by byte for the photo limits: a PNG whose header claims any size."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, complete: bool = True) -> bytes:
    """A grey PNG of width × height black pixels. Complete, it really decodes to that many
    pixels (7000 × 7000 is 49 MB of bitmap in a ~50 KB file); otherwise only the header is
    true and the pixel data stops short."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    packer = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte 0, then the row's pixels
    rows = height if complete else 1
    data = b"".join(packer.compress(row) for _ in range(rows)) + packer.flush()
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")
