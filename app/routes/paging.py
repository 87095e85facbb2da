"""The pager's links: the list's own URL with its filters kept and only the paging parameter
changed (the template component components/pager.html draws them)."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Request


def page_url(request: Request, param: str, anchor: int | None = None) -> str:
    """This URL with `param` set to `anchor` (or dropped: the first page), other parameters kept."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != param]
    if anchor is not None:
        kept.append((param, str(anchor)))
    return f"{request.url.path}?{urlencode(kept)}" if kept else request.url.path
