"""Form posts that may carry a phone photo (field logs, resident reports, patrol observations)."""

from __future__ import annotations

from pathlib import Path

from litestar import Request
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.response import File

from app.domain.photos import PhotoError, Processed
from app.routes.forms import posted
from app.services import photos


async def form_fields(request: Request, lists: tuple[str, ...] = ()) -> dict[str, str | list[str]]:
    """The text fields of a form post (those named in `lists` as lists of values)."""
    return (await posted(request)).with_lists(*lists)


async def form_photo(request: Request) -> Processed | PhotoError | None:
    """The `photo` field checked and re-encoded (in a worker thread), or the reason it was
    refused, or None when none was sent. Call it only once the request may go ahead: it is the
    costly part of a post."""
    upload = (await request.form()).get("photo")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    try:
        return await photos.process(await upload.read())
    except PhotoError as exc:
        return exc


async def fields_and_photo(
    request: Request, lists: tuple[str, ...] = ()
) -> tuple[dict[str, str | list[str]], Processed | PhotoError | None]:
    return await form_fields(request, lists), await form_photo(request)


def photo_response(path: Path | None, headers: dict[str, str] | None = None) -> File:
    """A stored photo for someone the service found may see it (None: 404, as if it did not exist)."""
    if path is None:
        raise NotFoundException()
    return File(
        path,
        media_type="image/jpeg",
        content_disposition_type="inline",
        headers={"Cache-Control": "private, max-age=86400", **(headers or {})},
    )
