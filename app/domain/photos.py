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
# A 10 MB file can still unpack to a huge bitmap; refuse beyond this many pixels.
MAX_PIXELS = 60_000_000


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
            if image.width * image.height > MAX_PIXELS:
                raise PhotoError(N_("The photo has too many pixels"))
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise PhotoError(N_("This file is not a photo we can read")) from exc
    upright = upright.convert("RGB")
    upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=QUALITY, optimize=True)
    data = out.getvalue()
    return Processed(data, hashlib.sha256(data).hexdigest(), upright.width, upright.height)
