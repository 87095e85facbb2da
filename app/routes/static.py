"""GET /static/...: the app's static files from memory, precompressed (app/static_files.py)."""

from __future__ import annotations

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from app.static_files import IMMUTABLE, REVALIDATE, Asset, assets


def asset_response(request: Request, asset: Asset, cache_control: str) -> Response[bytes]:
    """The asset in the encoding the browser takes, or 304 when its copy is current."""
    encoding, body = asset.encoded(request.headers.get("accept-encoding", ""))
    etag = asset.etag(encoding)
    headers = {"Cache-Control": cache_control, "ETag": etag}
    if asset.br is not None or asset.gzip is not None:
        headers["Vary"] = "Accept-Encoding"  # only where there is more than one representation
    if etag in request.headers.get("if-none-match", ""):
        return Response(b"", status_code=304, headers=headers)
    if encoding:
        headers["Content-Encoding"] = encoding
    return Response(body, media_type=asset.media_type, headers=headers)


@get("/static/{file_path:path}", name="static", include_in_schema=False)
async def static_file(request: Request, file_path: FromPath[str]) -> Response[bytes]:
    asset = assets().get(file_path.lstrip("/"))
    if asset is None:
        raise NotFoundException()
    # Only the URL that names this very content may be kept for a year without asking again.
    versioned = request.query_params.get("v") == asset.digest
    return asset_response(request, asset, IMMUTABLE if versioned else REVALIDATE)
