"""The EXIF orientation of a JPEG, read from its first bytes without decoding it.

    exif_orientation(path.read_bytes()[:65536])   # 1 (upright) .. 8, or None without EXIF
"""
from __future__ import annotations

from typing import Optional


def exif_orientation(head: bytes) -> Optional[int]:
    """The EXIF Orientation (1-8) in the first bytes of a JPEG file, or None.

    Walks the APPn segments at the start of the file (JFIF, then a camera's ``Exif`` APP1)."""
    import struct
    pos = 2
    while head.startswith(b"\xff\xd8") and pos + 4 <= len(head) and head[pos] == 0xFF and 0xE0 <= head[pos + 1] <= 0xEF:
        length = struct.unpack(">H", head[pos + 2:pos + 4])[0]
        if head[pos + 1] == 0xE1 and head[pos + 4:pos + 10] == b"Exif\x00\x00":
            return _tiff_orientation(head[pos + 10:pos + 2 + length])
        pos += 2 + length
    return None


def _tiff_orientation(tiff: bytes) -> Optional[int]:
    import struct
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return None
    offset = struct.unpack(order + "I", tiff[4:8])[0]
    if offset + 2 > len(tiff):
        return None
    count = struct.unpack(order + "H", tiff[offset:offset + 2])[0]
    for i in range(count):
        entry = tiff[offset + 2 + 12 * i: offset + 14 + 12 * i]
        if len(entry) < 12:
            return None
        if struct.unpack(order + "H", entry[:2])[0] == 0x0112:
            return struct.unpack(order + "H", entry[8:10])[0]
    return None
