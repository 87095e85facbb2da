"""Photos from a phone camera: check that the bytes are an image we accept, then downscale and
re-encode as JPEG. Re-encoding from pixels drops every EXIF field (GPS, device, time), after
the EXIF orientation has been applied to the pixels so the photo stays upright."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from app.i18n import N_

register_heif_opener()

MAX_BYTES = 10 * 1024 * 1024
MAX_SIDE = 1600  # long side after downscaling: enough to read a leaflet, small to send
QUALITY = 82
FORMATS = {"JPEG", "PNG", "WEBP", "HEIF"}
# A 58 KB PNG can claim 60 million pixels (240 MB decoded, a second of a core). Refused from the
# header, before decoding, beyond what a phone's camera takes by default (12-24 MP; a 48 or 50 MP
# mode is refused with a message saying what to do).
MAX_PIXELS = 40_000_000
TOO_MANY_PIXELS = N_("The photo has more than 40 million pixels: choose a smaller photo size in the camera")
# Pillow's own guard, for any other way into a decoder: it refuses twice this at open.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class PhotoError(ValueError):
    """A photo that is refused; the message is marked for translation."""


@dataclass(frozen=True)
class Processed:
    data: bytes
    sha256: str
    width: int
    height: int


def process(raw: bytes) -> Processed:
    if len(raw) > MAX_BYTES:
        raise PhotoError(N_("The photo is larger than 10 MB"))
    if not raw:
        raise PhotoError(N_("The photo file is empty"))
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.format not in FORMATS:
                raise PhotoError(N_("Send a JPEG, PNG, HEIC or WebP photo"))
            if image.width * image.height > MAX_PIXELS:  # the header's claim; nothing decoded yet
                raise PhotoError(TOO_MANY_PIXELS)
            image.load()
            upright = ImageOps.exif_transpose(image)
    except Image.DecompressionBombError as exc:
        raise PhotoError(TOO_MANY_PIXELS) from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise PhotoError(N_("This file is not a photo we can read")) from exc
    upright = upright.convert("RGB")
    upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=QUALITY, optimize=True)
    data = out.getvalue()
    return Processed(data, hashlib.sha256(data).hexdigest(), upright.width, upright.height)


THUMB_SIDE = 160  # the duplicate hint's picture: enough to recognise the problem, ~5 KB


def thumbnail(data: bytes, side: int = THUMB_SIDE) -> bytes:
    """A small JPEG of a stored (already re-encoded, EXIF-free) photo. JPEG's draft mode decodes
    at a fraction of the size, so this costs a few milliseconds."""
    with Image.open(io.BytesIO(data)) as stored:
        stored.draft("RGB", (side * 2, side * 2))
        small = stored.convert("RGB")
    small.thumbnail((side, side))
    out = io.BytesIO()
    small.save(out, "JPEG", quality=75, optimize=True)
    return out.getvalue()
