"""Reading a posted form, the one way routes do it.

A form whose fields are all single texts is declared in the route's signature and decoded by
Litestar: `data: Annotated[dict[str, str], FORM]` (or a dataclass, with MULTIPART for files).
A form with repeated fields (check boxes), a photo beside its fields, or a field read before
deciding what else to read is read with `await posted(request)`, which gives typed access.

Either way the route hands the texts to a service, whose domain rules answer with per-field
messages (msgids, shown in the user's language by the template) and the route shows the page
again with the same values: the input is kept on error."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Request, Response
from litestar.datastructures import FormMultiDict
from litestar.enums import RequestEncodingType
from litestar.params import Body

from app.i18n import N_, gettext

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
MULTIPART = Body(media_type=RequestEncodingType.MULTI_PART)
# Longer is not a row id: keeps int() of a tampered field small.
MAX_ID_DIGITS = 9


def row_id(text: str) -> int | None:
    """A query or form value as a row id; None when it is not a plausible one (a database
    integer cannot hold 999999999999999999999: the query would fail, not match nothing)."""
    return int(text) if text.isdecimal() and len(text) <= MAX_ID_DIGITS else None


@dataclass(frozen=True)
class Posted:
    """A form post's text fields (files are read apart: uploads.form_photo)."""

    form: FormMultiDict

    def text(self, name: str, default: str = "") -> str:
        """The field's text; `default` when it was not sent (a file: "")."""
        value = self.form.get(name, default)
        return value if isinstance(value, str) else ""

    def texts(self, name: str) -> list[str]:
        """Every value of a repeated field (check boxes), in order; [] when none was sent."""
        return [v for v in self.form.getall(name) if isinstance(v, str)] if name in self.form else []

    def id(self, name: str) -> int:
        """The field as a row id; 0 (which matches no row) when it is not a plausible one."""
        return row_id(self.text(name)) or 0

    def ids(self, name: str) -> list[int]:
        """The field's values that are plausible row ids; the rest is dropped (so matches nothing)."""
        return [found for v in self.texts(name) if (found := row_id(v)) is not None]

    def fields(self) -> dict[str, str]:
        """Every text field by name (a repeated name: its last value), for a service to validate."""
        return {k: v for k, v in self.form.items() if isinstance(v, str)}

    def with_lists(self, *lists: str) -> dict[str, str | list[str]]:
        """fields(), with the fields named in `lists` as lists of every value."""
        values: dict[str, str | list[str]] = {**self.fields()}
        for name in lists:
            values[name] = self.texts(name)
        return values


async def posted(request: Request) -> Posted:
    return Posted(await request.form())


# --- a replay from the offline outbox ---------------------------------------------------------
# The service worker sends a queued form again with this header; it needs JSON it can act on
# (2xx: done; 4xx: refused, the message and the fields shown on the outbox card), not a page.
REPLAY_HEADER = "x-outbox-replay"


def replayed(request: Request) -> bool:
    return bool(request.headers.get(REPLAY_HEADER))


def replay_refusal(errors: dict[str, str], status_code: int = 422) -> Response:
    """A refused replay: the first message (or "correct the marked fields") and each field's."""
    message = gettext(errors["form"]) if "form" in errors else gettext(N_("Please correct the marked fields."))
    return Response(
        {"ok": False, "message": message, "errors": {k: gettext(v) for k, v in errors.items()}},
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def replay_accepted(**data: object) -> Response:
    return Response({"ok": True, **data}, status_code=200, headers={"Cache-Control": "no-store"})
