"""The detection rules run inside the database (window functions on SQLite and PostgreSQL):
a million calls are never loaded into Python. domain/calls.py holds the same rules as plain
Python; tests/integration/test_detection.py checks that both agree on random call sets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from piccolo.columns.combination import WhereRaw
from piccolo.engine.sqlite import SQLiteEngine

from app.domain import calls as rules
from app.tables import Call, CategoryFamily, DetectionSetting

# The calls that count: those of finished imports. An import commits its calls in chunks
# (services/calls), so those of one still running, or of one that failed and is being
# discarded, are in the table but must be neither seen nor counted. A subquery, not a list
# read beforehand: it is evaluated within the statement's own snapshot, so a chunk committed
# meanwhile can never slip in. The call_import.state index makes it a lookup of (usually) none.
VISIBLE = "(batch IS NULL OR batch NOT IN (SELECT id FROM call_import WHERE state <> 'done'))"

# A category's family (rules.family_of) in SQL: the first family word it holds. The words are
# constants of the code, never user input.
WORD_FAMILY_SQL = (
    "CASE "
    + " ".join(f"WHEN LOWER(category) LIKE '%{word}%' THEN '{family}'" for word, family in rules.FAMILY_WORDS)
    + " ELSE 'other' END"
)
# With the analysts' choices (category_family): theirs first. (Its column is call_category, so
# the bare `category` here is the call's.)
MAPPED_FAMILY_SQL = f"COALESCE((SELECT family FROM category_family WHERE call_category = category), {WORD_FAMILY_SQL})"


def family_sql(mapped: bool) -> str:
    return MAPPED_FAMILY_SQL if mapped else WORD_FAMILY_SQL


def key_sql(rule: str, mapped: bool) -> str:
    if rule == "repeat_caller":
        return "caller_key"
    return (
        "(CASE WHEN place IS NOT NULL THEN 'place:' || CAST(place AS TEXT) "
        f"ELSE 'address:' || address_key END) || ':' || ({family_sql(mapped)})"
    )


async def families() -> dict[str, str]:
    """The analysts' choices: category -> family."""
    return {r["call_category"]: r["family"] for r in await CategoryFamily.select()}


# The keys an import touched. A day's import touches nearly every place, so the place test
# must not drive the query ("+place": SQLite then scans by received_at, the horizon);
# callers are few and their index is the right way in.
BATCH_KEYS = {
    "repeat_caller": "caller_key IN (SELECT caller_key FROM call WHERE batch = {batch})",
    "repeat_place": (
        "(+place IN (SELECT place FROM call WHERE batch = {batch} AND place IS NOT NULL) OR "
        "(place IS NULL AND address_key IN "
        "(SELECT address_key FROM call WHERE batch = {batch} AND place IS NULL)))"
    ),
}


def visible() -> WhereRaw:
    """VISIBLE as a condition of Piccolo's queries."""
    return WhereRaw(VISIBLE)


def days_between(later: str, earlier: str) -> str:
    if isinstance(Call._meta.db, SQLiteEngine):
        return f"(julianday({later}) - julianday({earlier}))"
    return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0)"


def _dense_sql(
    rule: str, threshold: int, window_days: int, where: str, fresh: str | None = None, mapped: bool = False
) -> str:
    """Calls that lie in a window of `window_days` holding `threshold` calls of the same key:
    a call ends such a window when the call threshold-1 before it is close enough; a call is
    in one when it or one of the threshold-1 calls after it ends one. With `fresh` (a
    condition marking an import's calls) only windows holding a fresh call count: what the
    import can have changed (decisions.md, incremental detection)."""
    key, n = key_sql(rule, mapped), int(threshold)
    order = "OVER (PARTITION BY k ORDER BY received_at, id"
    span = days_between("received_at", f"LAG(received_at, {n - 1}) {order})")
    ends = f"span <= {float(window_days)}"
    fresh_run = ""
    if fresh is not None:
        fresh_run = f", MAX(fresh) {order} ROWS BETWEEN {n - 1} PRECEDING AND CURRENT ROW) AS fresh_run"
        ends += " AND fresh_run = 1"
    return f"""
        WITH keyed AS (
            SELECT id, station, grid, received_at, {key} AS k,
                   {f"CASE WHEN {fresh} THEN 1 ELSE 0 END" if fresh is not None else "1"} AS fresh FROM call
            WHERE non_police = false AND {key} IS NOT NULL AND {key} <> '' AND {VISIBLE} AND {where}
        ), spans AS (
            SELECT id, station, grid, received_at, k, {span} AS span{fresh_run} FROM keyed
        ), marked AS (
            SELECT id, station, grid, received_at, k,
                   MAX(CASE WHEN {ends} THEN 1 ELSE 0 END)
                       {order} ROWS BETWEEN CURRENT ROW AND {n - 1} FOLLOWING) AS hit
            FROM spans
        )
        SELECT id, station, grid, k, received_at FROM marked WHERE hit = 1 ORDER BY k, received_at, id"""


async def _setting_groups(rule: str, mapped: bool) -> tuple[str, dict[int, rules.RuleSetting]]:
    """Which setting each call is detected by, as SQL (a CASE giving a group number), and the
    groups' settings. The first that applies wins, as setting_lookup chooses: the station's
    for the call's family, any station's for the family, the station's, the default. Families
    count for 一地多起 only; the values are row ids and family keys (constants), never text."""
    rows = await DetectionSetting.select().where(DetectionSetting.rule == rule)
    default = rules.DEFAULT_SETTINGS[rule]
    family = f"({family_sql(mapped)})"
    ranked: list[tuple[int, str, rules.RuleSetting]] = []
    for r in rows:
        setting = rules.RuleSetting(r["threshold"], r["window_days"])
        station, category = r["station"], r["category"]
        if category and (rule != "repeat_place" or category not in rules.FAMILIES):
            continue
        if station is None and not category:
            default = setting
        elif category:
            where = f"station = {int(station)} AND " if station is not None else ""
            ranked.append((0 if station is not None else 1, f"{where}{family} = '{category}'", setting))
        else:
            ranked.append((2, f"station = {int(station)}", setting))
    groups: dict[rules.RuleSetting, int] = {}
    whens = [
        f"WHEN {condition} THEN {groups.setdefault(setting, len(groups))}"
        for _r, condition, setting in sorted(ranked, key=lambda x: x[0])
    ]
    otherwise = groups.setdefault(default, len(groups))
    case = f"(CASE {' '.join(whens)} ELSE {otherwise} END)" if whens else str(otherwise)
    return case, {number: setting for setting, number in groups.items()}


def in_list(column: str, values) -> str:
    return f"{column} IN ({', '.join(str(int(v)) for v in values) or 'NULL'})"


async def newest(batch: int | None) -> datetime | None:
    """The time detection counts back from: the newest call (of the import, when one is given)."""
    query = (
        Call.select(Call.received_at)
        .where(Call.non_police.eq(False) & visible())
        .order_by(Call.received_at, ascending=False)
        .limit(1)
    )
    if batch is not None:
        query = query.where(Call.batch == batch)
    row = await query.first()
    return row["received_at"] if row else None


async def newest_by_station(stations: set[int] | None) -> dict[int | None, datetime]:
    """The newest call of each station: what "recent" is measured from (an import of last
    year's calls must not make today's work)."""
    where = "" if stations is None else f" AND {in_list('station', stations)}"
    rows = await Call.raw(
        f"SELECT station, MAX(received_at) AS newest FROM call WHERE non_police = false AND {VISIBLE}"
        f"{where} GROUP BY station"
    )
    return {r["station"]: as_datetime(r["newest"]) for r in rows if r["newest"] is not None}


async def _batch_span(batch: int) -> tuple[datetime, datetime] | None:
    """The first and last time of the calls of an import that detection reads."""
    [row] = await Call.raw(
        "SELECT MIN(received_at) AS first, MAX(received_at) AS last FROM call WHERE batch = {} AND non_police = false",
        int(batch),
    )
    return None if row["first"] is None else (as_datetime(row["first"]), as_datetime(row["last"]))


def as_datetime(value) -> datetime:
    """An aggregate over received_at comes back from SQLite as its stored text."""
    value = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


async def repeats(
    rule: str, stations: set[int] | None, batch: int | None, since: datetime
) -> tuple[list[rules.Flag], dict[int, int]]:
    """Flags of repeat_caller or repeat_place among the calls after `since`, and the grid of
    every flagged call. With an import (`batch`): only the windows holding one of its calls,
    so only the calls near those in time are read."""
    span = await _batch_span(batch) if batch is not None else None
    if batch is not None and span is None:
        return [], {}
    mapped = await CategoryFamily.exists()
    case, groups = await _setting_groups(rule, mapped)
    flags: dict[str, rules.Flag] = {}
    grids: dict[int, int] = {}
    for number, setting in groups.items():
        threshold, window = setting.threshold, setting.window_days
        where = "received_at > {} AND " + (f"{case} = {number}" if len(groups) > 1 else "1 = 1")
        if stations is not None:
            where += f" AND {in_list('station', stations)}"
        params, fresh = [since], None
        if span is not None:
            # A window holding an import's call lies within `window` days of it (a day spare
            # for the float arithmetic of days_between).
            reach = timedelta(days=window + 1)
            params = [max(since, span[0] - reach), span[1] + reach]
            where += " AND received_at < {} AND " + BATCH_KEYS[rule].format(batch=int(batch))
            fresh = f"batch = {int(batch)}"
        for row in await Call.raw(_dense_sql(rule, threshold, window, where, fresh, mapped), *params):
            flag = flags.setdefault(row["k"], rules.Flag(rule, row["k"], row["station"]))
            flag.call_ids.append(row["id"])
            flag.times[row["id"]] = as_datetime(row["received_at"])
            flag.station = row["station"]
            if row["grid"]:
                grids[row["id"]] = row["grid"]
    return list(flags.values()), grids


async def surges(stations: set[int] | None, as_of: datetime) -> tuple[list[rules.Flag], dict[int, int]]:
    """一类多发, per station and category, for the 7 days up to `as_of`."""
    recent_start = as_of - timedelta(days=7)
    base_start = recent_start - timedelta(weeks=rules.SURGE_BASE_WEEKS)

    where = "" if stations is None else " AND station IN (" + ", ".join(str(int(x)) for x in stations) + ")"
    groups = await Call.raw(
        "SELECT station, category, SUM(CASE WHEN received_at > {} THEN 1 ELSE 0 END) AS recent, COUNT(*) AS total "
        f"FROM call WHERE non_police = false AND {VISIBLE} AND received_at > {{}} AND received_at <= {{}}"
        + where
        + " GROUP BY station, category",
        recent_start,
        base_start,
        as_of,
    )
    setting_for = await setting_lookup()
    flags, grids = [], {}
    for g in groups:
        recent, before = int(g["recent"]), int(g["total"]) - int(g["recent"])
        if not rules.surge(recent, before, setting_for(g["station"], g["category"], "category_surge")):
            continue
        query = Call.select(Call.id, Call.grid, Call.received_at).where(
            Call.non_police.eq(False)
            & visible()
            & (Call.category == g["category"])
            & (Call.received_at > recent_start)
            & (Call.received_at <= as_of)
        )
        query = query.where(Call.station.is_null() if g["station"] is None else Call.station == g["station"])
        rows = await query
        flags.append(
            rules.Flag(
                "category_surge",
                f"{g['station'] or 0}:{g['category']}",
                g["station"],
                [r["id"] for r in rows],
                {r["id"]: r["received_at"] for r in rows},
            )
        )
        grids.update({r["id"]: r["grid"] for r in rows if r["grid"]})
    return flags, grids


async def setting_lookup():
    rows = await DetectionSetting.select()
    table = {
        (r["station"], r["category"], r["rule"]): rules.RuleSetting(r["threshold"], r["window_days"]) for r in rows
    }

    def setting_for(station, category, rule):
        return (
            table.get((station, category, rule))
            or (table.get((None, category, rule)) if category else None)
            or table.get((station, "", rule))
            or table.get((None, "", rule))
            or rules.DEFAULT_SETTINGS[rule]
        )

    return setting_for
