"""Static files: read, hashed and compressed once per process, then served from memory.

Pages link to `/static/<path>?v=<content hash>` (static_url, a Jinja global). That exact URL
never changes content, so it is cached for a year (`immutable`: not even revalidated on a
reload); the same path without the hash, or with an old one (a page cached before a deploy,
the service worker's precache, its importScripts), answers `no-cache` with an ETag, so a
browser revalidates it (304) instead of keeping a stale copy. Text files are kept brotli-
(quality 11) and gzip-compressed (level 9) beside the raw bytes, chosen by Accept-Encoding:
the app's ~140 KB of CSS and JavaScript cost a moment's CPU at start, never per request.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import brotli

STATIC_DIR = Path(__file__).parent / "static"
COMPRESSED = {".css", ".js", ".svg", ".webmanifest", ".json", ".txt", ".LICENSE"}
MEDIA_TYPES = {".js": "text/javascript", ".webmanifest": "application/manifest+json", ".svg": "image/svg+xml"}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
DIGEST_LENGTH = 10


@dataclass(frozen=True)
class Asset:
    raw: bytes
    digest: str
    media_type: str
    br: bytes | None = None
    gzip: bytes | None = None

    def encoded(self, accept_encoding: str) -> tuple[str, bytes]:
        """(Content-Encoding or "", body): brotli when the browser takes it, else gzip, else raw."""
        accepted = {part.split(";")[0].strip().lower() for part in accept_encoding.split(",")}
        if self.br is not None and "br" in accepted:
            return "br", self.br
        if self.gzip is not None and "gzip" in accepted:
            return "gzip", self.gzip
        return "", self.raw

    def etag(self, encoding: str) -> str:
        return f'"{self.digest}-{encoding}"' if encoding else f'"{self.digest}"'


def _load(path: Path) -> Asset:
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()[:DIGEST_LENGTH]
    media_type = MEDIA_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix not in COMPRESSED and not media_type.startswith("text/"):
        return Asset(raw, digest, media_type)
    br = brotli.compress(raw, quality=11)
    gz = gzip.compress(raw, compresslevel=9, mtime=0)
    # A file too small to gain keeps only its raw bytes.
    return Asset(raw, digest, media_type, br if len(br) < len(raw) else None, gz if len(gz) < len(raw) else None)


@cache
def assets() -> dict[str, Asset]:
    """Every file under app/static by its path there (`css/app.css`); dot files left out."""
    return {
        p.relative_to(STATIC_DIR).as_posix(): _load(p)
        for p in sorted(STATIC_DIR.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(STATIC_DIR).parts)
    }


def static_url(path: str) -> str:
    """A cache-busting URL: the file's content hash as the query string."""
    return f"/static/{path}?v={assets()[path].digest}"
