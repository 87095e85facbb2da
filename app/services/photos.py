"""Photo files: stored once under the upload folder by content hash, read back for the pages
that may show them."""
from __future__ import annotations

import uuid
from pathlib import Path

from app.domain.photos import Processed


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
