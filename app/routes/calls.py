"""110 calls: import with a preview, the unmatched-address queue, lists, a place's calls over
time and the 80/20 ranking. Detection runs after each import and on demand."""

from __future__ import annotations

from datetime import date, timedelta

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.domain import charts
from app.domain.access import Principal
from app.domain.calls import COLUMNS, DEFAULT_SETTINGS, FAMILIES, REQUIRED, RULES
from app.i18n import N_, _
from app.routes.forms import posted, row_id
from app.routes.guards import Me, requires
from app.services import api_keys, calls, orders, paging, ratelimit, scope
from app.services.audit import actor_of
from app.services.fieldwork import today

READERS = ("analyst", "supervisor", "officer", "admin")
IMPORTERS = ("analyst", "admin")
CHOOSE_FILE = N_("Choose a CSV file first.")
TOO_MANY = N_("You have uploaded %(limit)s files in the last hour, the most allowed. Try again in an hour.")


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


class CallsController(Controller):
    path = "/calls"

    @get("/", name="calls", guards=[requires(*READERS)])
    async def index(
        self,
        request: Request,
        me: Me,
        q: FromQuery[str] = "",
        category: FromQuery[str] = "",
        place: FromQuery[str] = "",
        since: FromQuery[str] = "",
        until: FromQuery[str] = "",
        older: FromQuery[int | None] = None,
    ) -> Template:
        tz = request.app.state.settings.time_zone
        found, total = await calls.search(
            me,
            q.strip()[:100],
            category,
            row_id(place),
            _day(since),
            _day(until),
            tz,
            older,
        )
        return Template(
            "calls/list.html",
            context={
                "page": found,
                "total": total,
                "count_cap": paging.COUNT_CAP,
                "q": q,
                "category": category,
                "since": since,
                "until": until,
                "categories": await calls.categories(me),
                "may_import": me.has(*IMPORTERS),
            },
        )

    @get("/import", name="calls_import", guards=[requires(*IMPORTERS)])
    async def import_form(self) -> Template:
        return _import_page(result=None, token="")

    # A year of a district's calls is tens of megabytes; the file goes to disk, not to memory.
    @post(
        "/import",
        name="calls_preview",
        guards=[requires(*IMPORTERS)],
        status_code=200,
        request_max_body_size=calls.MAX_FILE,
    )
    async def preview(self, request: Request, me: Me) -> Template:
        settings = request.app.state.settings
        # Counted before the upload is stored: a refused one leaves nothing in the upload folder.
        if not await ratelimit.allow(f"call_upload:{me.id}", settings.call_uploads_per_hour, timedelta(hours=1)):
            return _import_page(
                429,
                token="",
                result=calls.ImportResult(
                    file_error=TOO_MANY, file_error_args={"limit": str(settings.call_uploads_per_hour)}
                ),
            )
        await calls.cleanup(settings.upload_dir)
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return _import_page(422, result=calls.ImportResult(file_error=CHOOSE_FILE), token="")
        token = calls.store_upload(settings.upload_dir, _chunks(upload))
        result = await calls.preview_file(settings.upload_dir, token, me, settings.time_zone)
        return _import_page(
            422 if result.file_error else 200, result=result, token=token, filename=upload.filename[:200]
        )

    @post("/import/{token:str}/columns", name="calls_import_columns", guards=[requires(*IMPORTERS)], status_code=200)
    async def columns(self, request: Request, me: Me, token: FromPath[str]) -> Template:
        """The analyst says which of the file's columns holds each field; then the preview."""
        settings = request.app.state.settings
        form = await posted(request)
        chosen = {name: form.text(f"column_{name}") for name in COLUMNS}
        errors = await calls.remember_columns(settings.upload_dir, token, chosen, actor_of(me))
        if errors is None:
            result = calls.ImportResult(file_error=calls.GONE)
            return _import_page(422, result=result, token="")
        result = await calls.preview_file(settings.upload_dir, token, me, settings.time_zone)
        return _import_page(
            422 if errors or result.file_error else 200,
            result=result,
            token=token,
            filename=form.text("filename")[:200],
            column_errors=errors,
            chosen=chosen,
        )

    @post("/import/{token:str}", name="calls_import_confirm", guards=[requires(*IMPORTERS)], status_code=200)
    async def confirm(self, request: Request, me: Me, token: FromPath[str]) -> Template:
        settings = request.app.state.settings
        filename = (await posted(request)).text("filename")
        await calls.cleanup(settings.upload_dir)  # a preview older than an hour is gone
        result = await calls.import_file(settings.upload_dir, token, filename, me, actor_of(me), settings.time_zone)
        detection = None
        if result.created:
            stations = None if me.has("admin") else await scope.station_ids(me)
            detection = await orders.detect(
                actor_of(me), stations, batch=result.batch_id, recent_days=settings.detection_recent_days
            )
        return Template(
            "calls/imported.html",
            status_code=422 if result.file_error else 200,
            context={"result": result, "detection": detection},
        )

    @post("/detect", name="calls_detect", guards=[requires("analyst", "supervisor", "admin")], status_code=200)
    async def detect(self, request: Request, me: Me) -> Template:
        stations = None if me.has("admin") else await scope.station_ids(me)
        detection = await orders.detect(
            actor_of(me), stations, recent_days=request.app.state.settings.detection_recent_days
        )
        return Template("calls/imported.html", context={"result": None, "detection": detection})

    @get("/settings", name="calls_settings", guards=[requires("analyst", "supervisor", "admin")])
    async def settings(self, request: Request, me: Me) -> Template:
        return await _settings_page(request, me, {}, {})

    @post("/settings", name="calls_settings_save", guards=[requires("analyst", "supervisor", "admin")], status_code=200)
    async def save_settings(self, request: Request, me: Me) -> Template | Redirect:
        data = (await posted(request)).fields()
        errors = await calls.save_detection_setting(me, data, actor_of(me))
        if errors:
            return await _settings_page(request, me, data, errors, status_code=422)
        return Redirect("/calls/settings?saved=1", status_code=303)

    @post("/families", name="calls_families", guards=[requires("analyst", "supervisor", "admin")], status_code=303)
    async def families(self, request: Request, me: Me) -> Redirect:
        form = await posted(request)
        changed = await calls.save_families(me, list(zip(form.texts("category"), form.texts("family"))), actor_of(me))
        return Redirect(f"/calls/settings?families={changed}#families", status_code=303)

    @post("/non-police", name="calls_non_police", guards=[requires("admin")], status_code=303)
    async def non_police(self, request: Request, me: Me) -> Redirect:
        form = await posted(request)
        await calls.set_non_police(form.text("category"), form.text("on") == "1", actor_of(me))
        return Redirect("/calls/settings", status_code=303)

    @get("/unmatched", name="calls_unmatched", guards=[requires("analyst", "supervisor", "admin")])
    async def unmatched(self, me: Me) -> Template:
        return Template(
            "calls/unmatched.html", context={"rows": await calls.unmatched(me), "places": await scope.places(me)}
        )

    @post("/unmatched", name="calls_map", guards=[requires("analyst", "supervisor", "admin")], status_code=303)
    async def map_address(self, request: Request, me: Me) -> Redirect:
        form = await posted(request)
        place = form.text("place")
        if not place.isdecimal() or not await calls.map_address(me, form.text("address_key"), int(place), actor_of(me)):
            raise NotFoundException()
        return Redirect("/calls/unmatched?mapped=1", status_code=303)

    @get("/places/{place_id:int}", name="calls_place", guards=[requires(*READERS)])
    async def place(
        self, request: Request, me: Me, place_id: FromPath[int], older: FromQuery[int | None] = None
    ) -> Template:
        place = await scope.place(me, place_id)
        if place is None:
            raise NotFoundException()
        tz = request.app.state.settings.time_zone
        weeks = await calls.weekly_counts(me, 26, today(tz), tz, place_id)
        found, total = await calls.search(me, place=place_id, tz=tz, older=older)
        return Template(
            "calls/place.html",
            context={
                "place": place,
                "weeks": weeks,
                "page": found,
                "total": total,
                "count_cap": paging.COUNT_CAP,
                "peak": max([w["count"] for w in weeks] + [1]),
            },
        )

    @get("/ranking", name="calls_ranking", guards=[requires(*READERS)])
    async def ranking(
        self,
        request: Request,
        me: Me,
        by: FromQuery[str] = "place",
        since: FromQuery[str] = "",
        until: FromQuery[str] = "",
    ) -> Template:
        tz = request.app.state.settings.time_zone
        last = _day(until) or today(tz)
        first = _day(since) or last - timedelta(days=89)
        by = "caller" if by == "caller" else "place"
        result = await calls.ranking(me, by, first, last, tz)
        return Template(
            "calls/ranking.html",
            context={
                "by": by,
                "since": first.isoformat(),
                "until": last.isoformat(),
                **result,
                "rules": RULES,
                "curve": _pareto_chart(by, result),
            },
        )


def _percent(share: float) -> str:
    return f"{share * 100:.0f}%"


PARETO_TEXT = {  # (the busiest 20%, where 80% is reached, the point's label) for places, callers
    "place": (
        N_("%(keys)s of places (%(n)s) give %(calls)s of calls."),
        N_("80%% of calls come from %(keys)s of places (%(n)s)."),
        N_("%(keys)s of places: %(calls)s of calls"),
    ),
    "caller": (
        N_("%(keys)s of callers (%(n)s) give %(calls)s of calls."),
        N_("80%% of calls come from %(keys)s of callers (%(n)s)."),
        N_("%(keys)s of callers: %(calls)s of calls"),
    ),
}


def _pareto_chart(by: str, result: dict) -> dict | None:
    """The 80/20 curve (share of calls against share of places or callers, busiest first) with
    the busiest 20% and the point where 80% of calls is reached labelled; its sentences are the
    text alternative, with the table of tenths beside it."""
    if not result["curve"]:
        return None
    top_text, reach_text, label = PARETO_TEXT[by]
    keys = result["keys"]
    n, calls_share = result["top"]
    sentences = [_(top_text) % {"keys": _percent(n / keys), "n": n, "calls": _percent(calls_share)}]
    marks = [
        charts.Mark(n / keys, calls_share, _(label) % {"keys": _percent(n / keys), "calls": _percent(calls_share)})
    ]
    if result["pareto"]:
        at, share = result["pareto"], result["pareto_share"][1]
        sentences.append(_(reach_text) % {"keys": _percent(at / keys), "n": at})
        if abs(at / keys - n / keys) > 0.08:  # else the two labels would overlap
            marks.append(
                charts.Mark(at / keys, share, _(label) % {"keys": _percent(at / keys), "calls": _percent(share)})
            )
    if result["keyless"]:
        sentences.append(
            (
                _("%(pct)s of calls were at addresses without a place.")
                if by == "place"
                else _("%(pct)s of calls were from withheld numbers.")
            )
            % {"pct": _percent(result["keyless_share"])}
        )
    title = (
        _("Share of calls against share of places") if by == "place" else _("Share of calls against share of callers")
    )
    x_unit = _("Places, most calls first (%)") if by == "place" else _("Callers, most calls first (%)")
    text = " ".join(sentences)
    return {
        "title": title,
        "text": text,
        "svg": charts.curve(title, text, result["curve"], marks, x_unit, _("Calls (%)"), chart_id="c-pareto"),
    }


async def _settings_page(
    request: Request, me: Principal, values: dict, errors: dict, status_code: int = 200
) -> Template:
    return Template(
        "calls/settings.html",
        status_code=status_code,
        context={
            "rows": await calls.detection_settings(me),
            "rules": RULES,
            "defaults": DEFAULT_SETTINGS,
            "values": values,
            "errors": errors,
            "non_police": await calls.non_police_categories(),
            "stations": await api_keys.station_choices(),
            "categories": await calls.categories(me),
            "families": FAMILIES,
            "category_families": await calls.category_families(me),
        },
    )


def _import_page(status_code: int = 200, **context) -> Template:
    """The import page (upload, the columns to choose, the preview) with what every state needs."""
    return Template(
        "calls/import.html",
        status_code=status_code,
        context={"column_labels": COLUMNS, "required": REQUIRED, "filename": "", **context},
    )


def _chunks(upload: UploadFile):
    """The upload as it arrives, written to disk piece by piece."""
    upload.file.seek(0)
    while chunk := upload.file.read(1 << 20):
        yield chunk
