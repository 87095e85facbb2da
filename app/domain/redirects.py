"""Where a redirect may send the browser: only to a path on this site."""

from __future__ import annotations

import unicodedata


def safe_next(target: str | None) -> str:
    """`target` when it is a path on this site, else "/". Every redirect whose target comes from
    input (a `next` parameter or field, an answer the page's script navigates to) goes through
    here; static/js/app.js `Qianmo.safePath` is the same rule for targets read in the browser.

    A path starts with exactly one "/" followed by a character that is neither "/" nor "\\"
    (browsers read "//host" and "/\\host" as another site) and holds no backslash, control
    character or whitespace anywhere: browsers drop tabs and newlines from a URL, so "/\\t/evil"
    would arrive as "//evil"."""
    if not target or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return "/"
    if any(ch == "\\" or ch.isspace() or unicodedata.category(ch)[0] in "CZ" for ch in target):
        return "/"
    return target
