"""Form posts that may carry a phone photo (field logs, resident reports, patrol observations)."""
from __future__ import annotations

from litestar import Request
from litestar.datastructures import UploadFile

from app.domain.photos import PhotoError, Processed, process


async def fields_and_photo(request: Request, lists: tuple[str, ...] = ()) -> tuple[dict, Processed | PhotoError | None]:
    """The text fields (those named in `lists` as lists of values), and the `photo` field
    checked and re-encoded, or the reason it was refused, or None when none was sent."""
    form = await request.form()
    raw: dict[str, object] = {k: v for k, v in form.items() if isinstance(v, str)}
    for name in lists:
        raw[name] = [v for v in form.getall(name) if isinstance(v, str)] if name in form else []
    upload = form.get("photo")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return raw, None
    try:
        return raw, process(await upload.read())
    except PhotoError as exc:
        return raw, exc
