"""Files the app hands out for download: the CSV exports."""

from __future__ import annotations

from litestar import Response


def csv_download(text: str, filename: str) -> Response:
    """A CSV file from `domain.csv_export.render`. Not kept in any cache (personal data); the
    media type without a charset, which Litestar adds to every text/* type."""
    return Response(
        text,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
