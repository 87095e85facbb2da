"""Platform metrics (三率) for analysts, supervisors and administrators: a page with the headline
card, the rates with their definitions, the rankings and charts, and the same as CSV."""

from __future__ import annotations

import asyncio

from litestar import Controller, Request, get
from litestar.params import FromQuery
from litestar.response import Response, Template

from app.domain import charts, csv_export
from app.domain import platform_metrics as rules
from app.i18n import N_, _
from app.routes.downloads import csv_download
from app.routes.guards import Me, requires
from app.services import platform_metrics
from app.services.fieldwork import today

READERS = ("analyst", "supervisor", "admin")
GROUP_LABELS = {
    "station": N_("Station"),
    "office": N_("Police office"),
    "grid": N_("Grid"),
    "agency": N_("Agency"),
    "person": N_("Person in charge"),
}
RATE_LABELS = {
    "on_time_rate": N_("On-time completion (按时办结率)"),
    "response_rate": N_("Response rate (签收率)"),
    "completion_rate": N_("Completion rate (办结率)"),
    "satisfaction_rate": N_("Satisfaction (满意率)"),
    "return_rate": N_("Return rate (回退率)"),
    "reopen_rate": N_("Reopen rate (重办率)"),
}


def choice(value: str, options, default: str) -> str:
    return value if value in options else default


def minimum_of(text: str) -> int:
    return int(text) if text.isdecimal() and 1 <= int(text) <= 1000 else rules.MIN_VOLUME


async def _report(request: Request, me, start: str, end: str, group: str, rate: str, minimum: str, page: bool):
    """The numbers; for the page (the total's hours, and the calls per week beside them) or the
    CSV (every tally's hours)."""
    tz = request.app.state.settings.time_zone
    first, last, errors = rules.check_period(start, end, today(tz))
    period = platform_metrics.Period(first, last, tz)
    numbers = platform_metrics.platform(
        me,
        period,
        choice(group, rules.GROUPS, "station"),
        choice(rate, rules.RATES, "on_time_rate"),
        minimum_of(minimum),
        hours="total" if page else "all",
    )
    if not page:
        return await numbers, None, errors
    data, calls = await asyncio.gather(numbers, platform_metrics.weekly_calls(me, period))
    return data, calls, errors


def _charts(data: platform_metrics.Platform, calls: platform_metrics.Series) -> list[dict]:
    """Each chart with its table (the text alternative people can read and print)."""
    weekly, monthly = data.weekly, data.monthly
    assert weekly is not None and monthly is not None  # the page asks for them (extras)
    week_labels = [m.strftime("%m-%d") for m in weekly.starts]
    month_labels = [f.strftime("%Y-%m") for f in monthly.starts]
    pct = [None if v is None else round(v * 100, 1) for v in monthly.values["satisfaction"]]
    specs = [
        (
            "matters",
            "bar",
            _("Matters received and completed per week"),
            week_labels,
            [
                charts.Series(_("Matters received"), [float(v) for v in weekly.values["received"]]),
                charts.Series(_("Completed"), [float(v) for v in weekly.values["completed"]]),
            ],
            _("matters"),
            None,
            _("Weeks start on Monday; completed: matters of the period done in that week."),
        ),
        (
            "satisfaction",
            "line",
            _("Satisfaction per month"),
            month_labels,
            [charts.Series(_("Satisfied (4–5 of 5)"), pct)],
            "%",
            100.0,
            _("Share of ratings of 4 or 5 stars, by the month the matter was received."),
        ),
        (
            "calls",
            "line",
            _("110 calls per week, against the same weeks a year earlier"),
            [m.strftime("%m-%d") for m in calls.starts],
            [
                charts.Series(_("This year"), [float(v) for v in calls.values["now"]]),
                charts.Series(_("A year earlier"), [float(v) for v in calls.values["before"]]),
            ],
            _("calls"),
            None,
            _("A year earlier: the same weekdays 52 weeks before."),
        ),
    ]
    result = []
    for key, kind, title, labels, series, unit, top, note in specs:
        rows = [[label, *[s.values[i] for s in series]] for i, label in enumerate(labels)]
        desc = f"{note} " + "; ".join(
            f"{row[0]}: " + ", ".join(f"{s.name} {v if v is not None else '—'}" for s, v in zip(series, row[1:]))
            for row in rows
        )
        result.append(
            {
                "id": key,
                "title": title,
                "note": note,
                "svg": charts.render(kind, title, desc, labels, series, unit, top, chart_id=f"c-{key}"),
                "head": [_("Week") if key != "satisfaction" else _("Month"), *[s.name for s in series]],
                "rows": rows,
                "unit": unit,
            }
        )
    return result


class PlatformMetricsController(Controller):
    path = "/metrics"

    @get("/platform", name="metrics_platform", guards=[requires(*READERS)])
    async def platform(
        self,
        request: Request,
        me: Me,
        start: FromQuery[str] = "",
        end: FromQuery[str] = "",
        group: FromQuery[str] = "station",
        rate: FromQuery[str] = "on_time_rate",
        min: FromQuery[str] = "",
    ) -> Template:
        data, calls, errors = await _report(request, me, start, end, group, rate, min, page=True)
        return Template(
            "metrics/platform.html",
            status_code=422 if errors else 200,
            context={
                "d": data,
                "errors": errors,
                "values": {"start": start or data.period.first.isoformat(), "end": end or data.period.last.isoformat()},
                "definitions": rules.DEFINITIONS,
                "groups": GROUP_LABELS,
                "rates": RATE_LABELS,
                "charts": _charts(data, calls),
                "query": request.url.query,
            },
        )

    @get("/platform.csv", name="metrics_platform_csv", guards=[requires(*READERS)])
    async def export(
        self,
        request: Request,
        me: Me,
        start: FromQuery[str] = "",
        end: FromQuery[str] = "",
        group: FromQuery[str] = "station",
        rate: FromQuery[str] = "on_time_rate",
        min: FromQuery[str] = "",
    ) -> Response:
        data, _calls, _errors = await _report(request, me, start, end, group, rate, min, page=False)
        return csv_download(render_csv(data), f"qianmo-metrics-{data.period.first}-{data.period.last}.csv")


CSV_FIELDS = (
    "received",
    "completed",
    "completion_rate",
    "response_rate",
    "on_time_rate",
    "return_rate",
    "reopen_rate",
    "rated",
    "satisfaction_rate",
)


def _cells(t: rules.Tally) -> list[object]:
    def rate(name: str) -> object:
        value = t.rate(name).value
        return "" if value is None else round(value, 4)

    hours = [("" if h is None else round(h, 1)) for h in (*t.accept_hours, *t.complete_hours)]
    return [
        t.received,
        t.completed,
        rate("completion_rate"),
        rate("response_rate"),
        rate("on_time_rate"),
        rate("return_rate"),
        rate("reopen_rate"),
        t.rated,
        rate("satisfaction_rate"),
        *hours,
    ]


def render_csv(data: platform_metrics.Platform) -> str:
    """The page's numbers: the whole scope, a year earlier, work orders, then each unit (rank
    empty: too few matters to rank)."""
    columns = [
        "type",
        "id",
        "name",
        "rank",
        *CSV_FIELDS,
        "accept_hours_median",
        "accept_hours_p90",
        "complete_hours_median",
        "complete_hours_p90",
    ]
    rows: list[list[object]] = [
        ["total", "", f"{data.period.first}..{data.period.last}", "", *_cells(data.total)],
        ["year_earlier", "", "", "", *_cells(data.earlier)],
        ["work_orders", "", "", "", *_cells(data.orders)],
    ]
    for g in [*data.ranked, *data.apart]:
        rows.append([g.type, g.id, g.name, "" if g.rank is None else g.rank, *_cells(g.tally)])
    return csv_export.render(columns, rows)
