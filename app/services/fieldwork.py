"""Field logs: create (idempotent by the phone's client UUID), read within the person's grids,
edit in the allowed window, void with a reason, My day, lists and the CSV export."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from app.db import Prepared, Statement, insert_row, write_transaction
from app.domain import agreements, csv_export
from app.domain import fieldwork as rules
from app.domain import phone as phones
from app.domain.access import Principal
from app.domain.photos import PhotoError, Processed
from app.i18n import N_, gettext, too_long
from app.selects import Columns
from app.services import audit, detection, fieldwork_lists, paging, photos, scope
from app.services.auth import now
from app.tables import AgreementCounter, Call, FieldLog, FieldLogLink, Grid, MediationParty, Person, Photo, Place, Topic

WRITERS = ("officer", "grid_worker", "supervisor")
# Roles that may see full phone numbers of residents and parties (lists always mask them).
PERSONAL_DATA_ROLES = ("supervisor",)
RECENT_PLACES = 5
# What the audit log keeps of a change: phone numbers only as "changed", never the number.
PERSONAL_FIELDS = {"subject_phone", "parties"}
EDITABLE = (
    "grid",
    "place",
    "lat",
    "lon",
    "accuracy",
    "note",
    "follow_up_on",
    "subject_kind",
    "subject_name",
    "subject_phone",
    "tags",
    "topic",
    "leaflets",
    "reached",
    "dispute_type",
    "mediators",
    "outcome",
    "mediation_type",
    "terms",
)


@dataclass
class Outcome:
    """The result of a submission: the log's id, or the errors to show beside the user's input."""

    log_id: int | None = None
    created: bool = False
    errors: dict[str, str] = field(default_factory=dict)


def today(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def _day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, ZoneInfo(tz)).astimezone(timezone.utc)
    return start, start + timedelta(days=1)


# --- what the forms need ---------------------------------------------------------------------


async def _rules(principal: Principal, tz: str, raw: dict, kept_follow_up: date | None = None) -> rules.Rules:
    """The rules' view of the world: only what the form names (its place or grid, its tags and
    topic) is looked up, and only within the person's grids."""
    places, grids = await _where_in_scope(principal, str(raw.get("place", "")).strip())
    named = [*(raw.get("tags") or []), raw.get("topic") or ""]
    # More tags than allowed are refused by the rules anyway: no need to look them all up.
    codes = list(dict.fromkeys(str(c).strip() for c in named if str(c).strip()))[: rules.MAX_TAGS + 1]
    rows = (
        await Topic.raw(
            "SELECT kind, code FROM topic WHERE active = true AND code IN (" + ", ".join("{}" for _ in codes) + ")",
            *codes,
        )
        if codes
        else []
    )
    return rules.Rules(
        places=places,
        grids=grids,
        tags={r["code"] for r in rows if r["kind"] == "tag"},
        campaign_topics={r["code"] for r in rows if r["kind"] == "campaign"},
        today=today(tz),
        now=now(),
        kept_follow_up=kept_follow_up,
    )


async def _where_in_scope(principal: Principal, text: str) -> tuple[dict[int, int], set[int]]:
    """The submitted place (id -> grid) or grid ("grid:<id>"), when the person may log there."""
    in_scope = scope.grid_scope_sql(principal)
    if text.isdecimal():
        sql = "SELECT id, grid FROM place WHERE id = {} AND active = true" + (
            f" AND grid IN ({in_scope})" if in_scope else ""
        )
        rows = await Statement(sql).fetch(Place._meta.db, int(text))
        return {r["id"]: r["grid"] for r in rows}, set()
    if text.startswith("grid:") and text[5:].isdecimal():
        sql = "SELECT id FROM grid WHERE id = {}" + (f" AND id IN ({in_scope})" if in_scope else "")
        rows = await Statement(sql).fetch(Grid._meta.db, int(text[5:]))
        return {}, {r["id"] for r in rows}
    return {}, set()


_RECENT = Prepared(
    lambda p: (
        FieldLog.select(FieldLog.place, FieldLog.grid)
        .where(FieldLog.author == p.author)
        .order_by(FieldLog.occurred_at, ascending=False)  # the (author, occurred_at) index
        .limit(40)
    )
)


async def place_choices(principal: Principal) -> dict:
    """The places of the person's grids by grid, and the ones they used last, for the picker."""
    places = await scope.places(principal)
    recent_rows = await _RECENT.rows(author=principal.id)
    by_id = {p["id"]: p for p in places}
    recent: list[dict] = []
    for row in recent_rows:
        place = by_id.get(row["place"])
        if place and place not in recent:
            recent.append(place)
        if len(recent) == RECENT_PLACES:
            break
    grids: dict[tuple[int, str], list[dict]] = {}
    for p in places:
        grids.setdefault((p["grid"], p["grid_name"]), []).append(p)
    return {"recent": recent, "grids": grids}


# --- create ----------------------------------------------------------------------------------


async def create(
    kind: str, raw: dict, photo: Processed | PhotoError | None, principal: Principal, tz: str, upload_dir
) -> Outcome:
    """Log one record. The same client UUID sent again returns the first log and writes nothing."""
    client_uuid = rules.valid_uuid(str(raw.get("client_uuid", "")))
    if client_uuid is None:
        return Outcome(errors={"form": N_("This form is out of date: reload the page and send it again")})
    follows = await _followed_log(principal, raw.get("follows_up"))
    checked = rules.check(kind, raw, await _rules(principal, tz, raw))
    if isinstance(photo, PhotoError):
        checked.errors["photo"] = str(photo)
    if checked.errors:
        # A resend of a saved log gets its first answer, even when the rules have moved on
        # since (a follow-up date that has passed while the phone was offline).
        existing = await _by_uuid(client_uuid)
        return _existing(existing, principal) if existing else Outcome(errors=checked.errors)
    if photo is not None:
        photos.store(upload_dir, photo)
    try:
        async with write_transaction(FieldLog._meta.db):
            log_id = await _insert(kind, client_uuid, checked, principal, follows, photo)
            await _number_agreement(log_id, tz)
    except Exception:  # the drivers raise different unique-violation errors
        # A resend (the phone did not hear the answer): the unique index let only the first in.
        existing = await _by_uuid(client_uuid)
        if existing is None:
            raise
        return _existing(existing, principal)
    return Outcome(log_id=log_id, created=True)


# One statement takes the next number: the row's update is atomic on both engines, so two
# officers saving at once get 1 and 2 (PostgreSQL locks the row; SQLite's writer is alone).
_NEXT_NUMBER = Statement(
    "INSERT INTO agreement_counter (key, n) VALUES ({}, 1) "
    "ON CONFLICT (key) DO UPDATE SET n = agreement_counter.n + 1 RETURNING n"
)


async def next_agreement_number(station_id: int, year: int) -> int:
    """The next 第N号 of a station's year, from 1; never given twice."""
    rows = await _NEXT_NUMBER.fetch(AgreementCounter._meta.db, f"{station_id}:{year}")
    return int(rows[0]["n"])


async def _number_agreement(log_id: int, tz: str) -> None:
    """An agreed mediation gets its written agreement's number once, when it is saved as agreed:
    the officer prints it right after, and opening the page (a GET) writes nothing. The year
    is the station's, at saving; the number stays if the outcome or the year changes later."""
    row = await (
        FieldLog.select(FieldLog.outcome, FieldLog.agreement_n, FieldLog.grid.office.station.as_alias("station"))
        .where(FieldLog.id == log_id)
        .first()
    )
    if row is None or row["outcome"] != "agreed" or row["agreement_n"] is not None:
        return
    year = now().astimezone(ZoneInfo(tz)).year
    n = await next_agreement_number(row["station"], year)
    await FieldLog.update({FieldLog.agreement_year: year, FieldLog.agreement_n: n}).where(FieldLog.id == log_id)


async def _by_uuid(client_uuid: str) -> dict | None:
    return await FieldLog.select(FieldLog.id, FieldLog.author).where(FieldLog.client_uuid == client_uuid).first()


def _existing(row: dict, principal: Principal) -> Outcome:
    if row["author"] != principal.id:
        return Outcome(errors={"form": N_("This form is out of date: reload the page and send it again")})
    return Outcome(log_id=row["id"], created=False)


async def _followed_log(principal: Principal, raw_id: object) -> int | None:
    """The log this one follows up, when it is the author's own and still due."""
    if not str(raw_id or "").isdecimal():
        return None
    row = (
        await FieldLog.select(FieldLog.id)
        .where((FieldLog.id == int(str(raw_id))) & (FieldLog.author == principal.id))
        .first()
    )
    return row["id"] if row else None


async def _insert(
    kind: str,
    client_uuid: str,
    checked: rules.Checked,
    principal: Principal,
    follows: int | None,
    photo: Processed | None,
) -> int:
    values = dict(checked.values)
    values["tags"] = rules.tags_column(values.get("tags", []))
    log_id = await insert_row(
        FieldLog, client_uuid=client_uuid, kind=kind, author=principal.id, follows_up=follows, **values
    )
    await _write_children(log_id, checked)
    if photo is not None:
        await Photo.insert(
            Photo(log=log_id, sha256=photo.sha256, width=photo.width, height=photo.height, size=len(photo.data))
        )
    if follows is not None:
        await FieldLog.update({FieldLog.follow_up_done: True}).where(FieldLog.id == follows)
    await audit.record(
        audit.actor_of(principal),
        "create",
        "field_log",
        log_id,
        {"kind": [None, kind], "place": [None, values["place"]], "grid": [None, values["grid"]]},
    )
    return log_id


async def _write_children(log_id: int, checked: rules.Checked) -> None:
    for position, party in enumerate(checked.parties):
        await MediationParty.insert(MediationParty(log=log_id, position=position, **party))
    for ref in checked.links:
        await FieldLogLink.insert(FieldLogLink(log=log_id, target_type="call", target_ref=ref))


# --- read ------------------------------------------------------------------------------------


# Built once: each foreign-key chain Piccolo walks copies columns and calls dir(), and their
# SELECT text with its joins is compiled once (app.selects), not at every request.
_COLUMNS = Columns(
    FieldLog,
    *FieldLog.all_columns(),
    FieldLog.author.name.as_alias("author_name"),
    FieldLog.place.name.as_alias("place_name"),
    FieldLog.grid.name.as_alias("grid_name"),
    FieldLog.grid.office.station.name.as_alias("station_name"),
    FieldLog.grid.office.station.committee_name.as_alias("committee_name"),
)


def _select():
    return _COLUMNS.select()


async def _visible(principal: Principal, query):
    grids = await scope.grid_ids(principal)
    if grids is scope.ALL:
        return query
    return query.where(FieldLog.grid.is_in(list(grids) or [-1]))


def may_see_personal_data(principal: Principal, log: dict) -> bool:
    return log["author"] == principal.id or principal.has(*PERSONAL_DATA_ROLES)


async def get(principal: Principal, log_id: int) -> dict | None:
    """One log with its parties, links and photos; None when outside the person's grids."""
    log = await (await _visible(principal, _select().where(FieldLog.id == log_id))).first()
    if log is None:
        return None
    log["tags"] = rules.tags_list(log["tags"])
    log["parties"] = await MediationParty.select().where(MediationParty.log == log_id).order_by(MediationParty.position)
    log["links"] = await FieldLogLink.select().where(FieldLogLink.log == log_id)
    log["calls"] = await _linked_calls([link["target_ref"] for link in log["links"] if link["target_type"] == "call"])
    log["photos"] = await Photo.select(Photo.id, Photo.width, Photo.height).where(Photo.log == log_id)
    log["personal_shown"] = may_see_personal_data(principal, log)
    if not log["personal_shown"]:
        log["subject_phone"] = phones.mask(log["subject_phone"]) if log["subject_phone"] else ""
        for party in log["parties"]:
            party["phone"] = phones.mask(party["phone"]) if party["phone"] else ""
            party["id_number"] = agreements.mask_resident_id(party["id_number"]) if party["id_number"] else ""
    for party in log["parties"]:  # lists and the log's page show it masked, whoever looks
        party["id_masked"] = agreements.mask_resident_id(party["id_number"]) if party["id_number"] else ""
    log["may_edit"] = (
        rules.may_edit(
            is_author=log["author"] == principal.id,
            is_supervisor=principal.has("supervisor"),
            created_at=log["created_at"],
            now=now(),
        )
        and log["voided_at"] is None
    )
    return log


async def _linked_calls(refs: list[str]) -> dict[str, dict]:
    """The imported 110 calls a log names, by call number (a number not imported yet stays text)."""
    if not refs:
        return {}
    rows = await Call.select(Call.call_id, Call.received_at, Call.category).where(
        Call.call_id.is_in(refs) & detection.visible()
    )
    return {r["call_id"]: r for r in rows}


@dataclass(frozen=True)
class LogFilter:
    kind: str = ""
    grid: int | None = None
    place: int | None = None
    author: int | None = None
    since: date | None = None
    until: date | None = None  # inclusive
    tag: str = ""
    voided: bool = False

    def apply(self, query, tz: str):
        if self.kind in rules.KINDS:
            query = query.where(FieldLog.kind == self.kind)
        if self.grid:
            query = query.where(FieldLog.grid == self.grid)
        if self.place:
            query = query.where(FieldLog.place == self.place)
        if self.author:
            query = query.where(FieldLog.author == self.author)
        if self.since:
            query = query.where(FieldLog.occurred_at >= _day_bounds(self.since, tz)[0])
        if self.until:
            query = query.where(FieldLog.occurred_at < _day_bounds(self.until, tz)[1])
        if self.tag:
            # A contact carries tags, a campaign drop one topic: the filter is the same topic.
            query = query.where(FieldLog.tags.like(f"%,{self.tag},%") | (FieldLog.topic == self.tag))
        if not self.voided:
            query = query.where(FieldLog.voided_at.is_null())
        return query


BY_TIME = paging.newest_first(FieldLog.occurred_at)


async def search(
    principal: Principal, criteria: LogFilter, tz: str, older: int | None = None
) -> tuple[paging.Page, int]:
    """One page of logs, newest first (after the log `older` when given), and the number matching
    counted up to paging.COUNT_CAP + 1: a city's station holds millions of logs."""
    total = await paging.count_upto(await _visible(principal, criteria.apply(FieldLog.select(FieldLog.id), tz)))
    found = await paging.page(
        BY_TIME,
        lambda: _visible(principal, criteria.apply(_select(), tz)),
        lambda query: _visible(principal, query),
        older,
    )
    for row in found.rows:
        _for_list(row)
    return found, total


def _for_list(row: dict) -> None:
    row["tags"] = rules.tags_list(row["tags"])
    row["subject_phone"] = phones.mask(row["subject_phone"]) if row["subject_phone"] else ""


def _authors_sql(grids: set[int] | None) -> str:
    """Who may have written the logs one sees: the people whose writing role lies in those grids,
    their offices or their stations (not DISTINCT over the logs: a station's millions take 100 ms).
    Someone who has since moved away is not offered, and their logs still show."""
    writers = ", ".join(f"'{role}'" for role in WRITERS)
    where = ""
    if grids is not scope.ALL:
        ids = ", ".join(str(int(g)) for g in grids) or "NULL"
        offices = f"SELECT office FROM grid WHERE id IN ({ids})"
        where = (
            f" AND (r.grid IN ({ids}) OR r.office IN ({offices})"
            f" OR r.station IN (SELECT station FROM office WHERE id IN ({offices})))"
        )
    return (
        "SELECT DISTINCT p.id AS author, p.name FROM person p JOIN person_role r ON r.person = p.id "
        f"WHERE r.role IN ({writers}){where}"
    )


async def filter_choices(principal: Principal) -> dict:
    """Grids, places and authors the person may filter by."""
    places = await scope.places(principal)
    grids = sorted({(p["grid"], p["grid_name"]) for p in places}, key=lambda g: g[1])
    authors = await Person.raw(_authors_sql(await scope.grid_ids(principal)))
    return {
        "grids": grids,
        "places": [(p["id"], p["name"]) for p in places],
        "authors": sorted({(a["author"], a["name"]) for a in authors}, key=lambda a: a[1]),
    }


# My day's two lists: built once (each is a select with four joins).
_TODAY = Prepared(
    lambda p: (
        _select()
        .where(
            (FieldLog.author == p.author)
            & (FieldLog.occurred_at >= p.start)
            & (FieldLog.occurred_at < p.end)
            & FieldLog.voided_at.is_null()
        )
        .order_by(FieldLog.occurred_at, ascending=False)
    )
)
_FOLLOW_UPS = Prepared(
    lambda p: (
        _select()
        .where(
            (FieldLog.author == p.author)
            & (FieldLog.follow_up_on <= p.day)
            & FieldLog.follow_up_done.eq(False)
            & FieldLog.voided_at.is_null()
        )
        .order_by(FieldLog.follow_up_on)
    )
)


async def my_day(principal: Principal, tz: str) -> dict:
    day = today(tz)
    start, end = _day_bounds(day, tz)
    logs = await _TODAY.rows(author=principal.id, start=start, end=end)
    for row in logs:
        _for_list(row)
    due = await _FOLLOW_UPS.rows(author=principal.id, day=day)
    for row in due:
        _for_list(row)
    counts = {kind: sum(1 for r in logs if r["kind"] == kind) for kind in rules.KINDS}
    return {
        "day": day,
        "logs": logs,
        "counts": counts,
        "due_today": [r for r in due if r["follow_up_on"] == day],
        "overdue": [r for r in due if r["follow_up_on"] < day],
    }


# --- edit and void ---------------------------------------------------------------------------


async def form_values(principal: Principal, log_id: int) -> dict | None:
    """The stored log as form input, when the person may edit it."""
    log = await get(principal, log_id)
    if log is None or not log["may_edit"]:
        return None
    values: dict[str, Any] = {
        k: "" if log[k] is None else str(log[k]) for k in EDITABLE if k not in ("grid", "place", "tags")
    }
    values.update(
        kind=log["kind"],
        place=rules.where_value(log["grid"], log["place"]),
        tags=log["tags"],
        follow_up_on=log["follow_up_on"].isoformat() if log["follow_up_on"] else "",
        call_refs=" ".join(link["target_ref"] for link in log["links"]),
    )
    for i, party in enumerate(log["parties"]):
        for key in ("name", "phone", "role", "address", "id_number", "sex", "age"):
            values[f"party_{key}_{i}"] = "" if party[key] is None else str(party[key])
    values["_log"] = log
    return values


async def update(principal: Principal, log_id: int, raw: dict, tz: str) -> Outcome:
    log = await get(principal, log_id)
    if log is None or not log["may_edit"]:
        return Outcome(errors={"form": N_("This log can no longer be edited")})
    checked = rules.check(log["kind"], raw, await _rules(principal, tz, raw, log["follow_up_on"]))
    if checked.errors:
        return Outcome(log_id=log_id, errors=checked.errors)
    values = {k: v for k, v in checked.values.items() if k != "occurred_at"}
    values["tags"] = rules.tags_column(values.get("tags", []))
    async with write_transaction(FieldLog._meta.db):
        before = await FieldLog.select().where(FieldLog.id == log_id).first()
        before_parties = await MediationParty.select(MediationParty.name, MediationParty.phone).where(
            MediationParty.log == log_id
        )
        await FieldLog.update({**values, "updated_at": now()}).where(FieldLog.id == log_id)
        await MediationParty.delete().where(MediationParty.log == log_id)
        await FieldLogLink.delete().where(FieldLogLink.log == log_id)
        await _write_children(log_id, checked)
        await _number_agreement(log_id, tz)
        changes = _diff(before, values)
        if [(p["name"], p["phone"]) for p in before_parties] != [(p["name"], p["phone"]) for p in checked.parties]:
            changes["parties"] = ["changed", "changed"]
        await audit.record(audit.actor_of(principal), "update", "field_log", log_id, changes)
    return Outcome(log_id=log_id)


def _diff(before: dict, after: dict) -> dict:
    changes = {}
    for key, value in after.items():
        if before.get(key) != value:
            changes[key] = ["changed", "changed"] if key in PERSONAL_FIELDS else [before.get(key), value]
    return changes


async def void(principal: Principal, log_id: int, reason: str) -> dict[str, str]:
    """Errors by field; empty when the log is voided. Nothing is ever deleted."""
    reason = reason.strip()
    if not reason:
        return {"reason": N_("Say why the log is void")}
    if len(reason) > 200:
        return {"reason": too_long(200)}
    log = await get(principal, log_id)
    if log is None or not log["may_edit"]:
        return {"form": N_("This log can no longer be edited")}
    async with write_transaction(FieldLog._meta.db):
        await FieldLog.update(
            {FieldLog.voided_at: now(), FieldLog.voided_by: principal.id, FieldLog.void_reason: reason}
        ).where(FieldLog.id == log_id)
        await audit.record(audit.actor_of(principal), "void", "field_log", log_id, {"reason": [None, reason]})
    return {}


# --- photos and export -----------------------------------------------------------------------


async def photo_file(principal: Principal, photo_id: int, upload_dir):
    """The file of a photo whose log the person may see, else None."""
    row = await Photo.select(Photo.sha256, Photo.log).where(Photo.id == photo_id).first()
    if row is None or row["log"] is None:
        return None
    # Only whether the log is visible: not the whole log with its parties, links and photos.
    if not await (await _visible(principal, FieldLog.select(FieldLog.id).where(FieldLog.id == row["log"]))).first():
        return None
    path = photos.path_for(upload_dir, row["sha256"])
    return path if path.exists() else None


# The export's columns, in the reader's language: a station head opens it in Excel.
EXPORT_COLUMNS = [
    N_("Number"),
    N_("Kind of log"),
    N_("Time"),
    N_("Author"),
    N_("Station"),
    N_("Grid"),
    N_("Where"),
    N_("Latitude"),
    N_("Longitude"),
    N_("Whom"),
    N_("Full name"),
    N_("Phone"),
    N_("Topics"),
    N_("Topic"),
    N_("Leaflets handed out"),
    N_("People reached"),
    N_("Dispute type"),
    N_("Outcome"),
    N_("Parties"),
    N_("Mediators"),
    N_("Agreement terms"),
    N_("Note"),
    N_("Follow-up date"),
    N_("Void since"),
    N_("Void reason"),
]


async def export_csv(principal: Principal, criteria: LogFilter, tz: str, unmasked: bool) -> str:
    """Every matching log as CSV (UTF-8 with BOM for Excel); phones masked unless the person's
    role allows and they asked. The export is audited with what it contained."""
    unmasked = unmasked and principal.has(*PERSONAL_DATA_ROLES)
    rows = await (await _visible(principal, criteria.apply(_select(), tz))).order_by(FieldLog.occurred_at)
    ids = [r["id"] for r in rows] or [-1]
    parties: dict[int, list[str]] = {}
    for p in await MediationParty.select().where(MediationParty.log.is_in(ids)).order_by(MediationParty.position):
        phone = p["phone"] if unmasked else phones.mask(p["phone"]) if p["phone"] else ""
        parties.setdefault(p["log"], []).append(" ".join(x for x in (p["name"], phone) if x))
    zone = ZoneInfo(tz)
    tags, topics = await fieldwork_lists.topic_labels("tag"), await fieldwork_lists.topic_labels("campaign")

    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    def named(labels: dict[str, str], code: str) -> str:
        return gettext(labels[code]) if code in labels else code

    def line(r: dict) -> list[object]:
        phone = r["subject_phone"] if unmasked else phones.mask(r["subject_phone"]) if r["subject_phone"] else ""
        return [
            r["id"],
            named(rules.KINDS, r["kind"]),
            local(r["occurred_at"]),
            r["author_name"],
            r["station_name"],
            r["grid_name"],
            r["place_name"] or "",
            r["lat"] or "",
            r["lon"] or "",
            named(rules.SUBJECT_KINDS, r["subject_kind"] or ""),
            r["subject_name"],
            phone,
            " ".join(tags.get(t, t) for t in rules.tags_list(r["tags"])),
            topics.get(r["topic"], r["topic"]),
            _blank(r["leaflets"]),
            _blank(r["reached"]),
            named(rules.DISPUTE_TYPES, r["dispute_type"] or ""),
            named(rules.OUTCOMES, r["outcome"] or ""),
            "; ".join(parties.get(r["id"], [])),
            r["mediators"],
            r["terms"],
            r["note"],
            r["follow_up_on"] or "",
            local(r["voided_at"]),
            r["void_reason"],
        ]

    text = csv_export.render([gettext(c) for c in EXPORT_COLUMNS], map(line, rows))
    async with write_transaction(FieldLog._meta.db):
        await audit.record(
            audit.actor_of(principal),
            "export",
            "field_log",
            "",
            {"rows": [None, len(rows)], "unmasked": [None, unmasked]},
        )
    return text


def _blank(value: object) -> object:
    return "" if value is None else value
