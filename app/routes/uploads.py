"""Form posts that may carry a phone photo (field logs, resident reports, patrol observations)."""
from __future__ import annotations

from pathlib import Path

from litestar import Request
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.response import File

from app.domain.photos import PhotoError, Processed
from app.services import photos


async def form_fields(request: Request, lists: tuple[str, ...] = ()) -> dict:
    """The text fields of a form post (those named in `lists` as lists of values)."""
    form = await request.form()
    raw: dict[str, object] = {k: v for k, v in form.items() if isinstance(v, str)}
    for name in lists:
        raw[name] = [v for v in form.getall(name) if isinstance(v, str)] if name in form else []
    return raw


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


async def fields_and_photo(request: Request, lists: tuple[str, ...] = ()) -> tuple[dict, Processed | PhotoError | None]:
    return await form_fields(request, lists), await form_photo(request)


def photo_response(path: Path | None, headers: dict[str, str] | None = None) -> File:
    """A stored photo for someone the service found may see it (None: 404, as if it did not exist)."""
    if path is None:
        raise NotFoundException()
    return File(path, media_type="image/jpeg", content_disposition_type="inline",
                headers={"Cache-Control": "private, max-age=86400", **(headers or {})})
