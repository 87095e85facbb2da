"""Photos: checked and re-encoded off the event loop; stored once under the upload folder by
content hash, read back for the pages that may show them."""

from __future__ import annotations

import uuid
from pathlib import Path

import anyio

from app.domain import photos as rules
from app.domain.photos import Processed

# Checking and re-encoding a photo holds a core for up to a second and ~4 bytes a pixel: it runs
# in a worker thread, never on the event loop that serves every other request, and at most this
# many at once per process (the rest wait their turn), which bounds the memory it takes.
DECODES = anyio.CapacityLimiter(2)


async def process(raw: bytes) -> Processed:
    """`domain.photos.process` in a worker thread; raises its PhotoError."""
    return await anyio.to_thread.run_sync(rules.process, raw, limiter=DECODES)


async def thumbnail(path: Path) -> bytes:
    """`domain.photos.thumbnail` of a stored photo, in a worker thread."""
    return await anyio.to_thread.run_sync(lambda: rules.thumbnail(path.read_bytes()), limiter=DECODES)


def path_for(upload_dir: Path, sha256: str) -> Path:
    # Two levels of folders keep any one folder small.
    return upload_dir / "photos" / sha256[:2] / f"{sha256}.jpg"


def store(upload_dir: Path, photo: Processed) -> None:
    """Write the file before the database row: a failed transaction leaves at most an orphan
    file (harmless, named by its content), never a row without its file."""
    path = path_for(upload_dir, photo.sha256)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{uuid.uuid4().hex}.part")
    partial.write_bytes(photo.data)
    partial.replace(path)
