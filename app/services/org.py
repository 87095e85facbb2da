"""Use cases of the organisation area: the only code that writes org tables."""

from __future__ import annotations

from dataclasses import dataclass, field

from piccolo.table import Table

from app.db import write_transaction
from app.domain import org as rules
from app.domain.csv_import import decode, read_sheet
from app.i18n import N_
from app.services import audit, paging
from app.tables import Agency, Bureau, Grid, Office, Place, Station

TABLES: dict[str, type[Table]] = {
    "bureau": Bureau,
    "station": Station,
    "office": Office,
    "grid": Grid,
    "place": Place,
    "agency": Agency,
}


@dataclass
class SaveResult:
    values: dict[str, object]
    errors: dict[str, str] = field(default_factory=dict)
    id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


async def counts() -> dict[str, int]:
    return {key: await TABLES[key].count().where(TABLES[key].active == True) for key in rules.ENTITIES}  # noqa: E712


def _by_name(table: type[Table]) -> paging.Keyset:
    """Active items first, then by name (and id, names repeat): `?after=<last id>`."""
    return paging.Keyset([(table.active, False), (table.name, True)], param="after")


async def list_items(
    entity: rules.Entity,
    q: str = "",
    show_inactive: bool = False,
    parent_id: int | None = None,
    after: int | None = None,
) -> tuple[paging.Page, int]:
    """A page of items, with the parent's name, and their number counted up to paging.COUNT_CAP + 1."""
    table = TABLES[entity.key]
    where = []
    if not show_inactive:
        where.append(table.active == True)  # noqa: E712
    if parent_id and entity.parent:
        where.append(getattr(table, entity.parent) == parent_id)
    if q:
        condition = None
        for column in entity.search:
            clause = _contains(getattr(table, column), q)
            condition = clause if condition is None else condition | clause
        where.append(condition)
    columns = [*table.all_columns()]
    if entity.parent:
        columns.append(getattr(table, entity.parent).name.as_alias("parent_name"))
    total = await paging.count_upto(paging.narrowed(table.select(table.id), where))
    found = await paging.page(
        _by_name(table),
        lambda: paging.everything(paging.narrowed(table.select(*columns), where)),
        paging.everything,
        after,
    )
    return found, total


def _contains(column, text: str):
    # SQLite's LIKE already ignores ASCII case (and has no ILIKE); PostgreSQL needs ILIKE.
    pattern = f"%{text}%"
    return column.like(pattern) if column._meta.engine_type == "sqlite" else column.ilike(pattern)


async def get_item(entity: rules.Entity, item_id: int) -> dict | None:
    return await TABLES[entity.key].select().where(TABLES[entity.key].id == item_id).first()


async def parent_choices(entity: rules.Entity) -> list[tuple[int, str]]:
    if not entity.parent:
        return []
    parent = TABLES[entity.parent]
    rows = await parent.select(parent.id, parent.name).where(parent.active == True).order_by(parent.name)  # noqa: E712
    return [(r["id"], r["name"]) for r in rows]


async def save(
    entity: rules.Entity, raw: dict[str, str], item_id: int | None = None, actor: audit.Actor = audit.SYSTEM
) -> SaveResult:
    """Create (item_id None) or update one item; the write and its audit row in one transaction."""
    values, errors = rules.clean(entity, raw)
    result = SaveResult(values=values, errors=errors, id=item_id)
    table = TABLES[entity.key]
    async with write_transaction(table._meta.db):
        await _check_references(entity, values, item_id, result.errors)
        if not result.ok:
            return result
        if item_id is None:
            result.id = await insert(table, values)
            await audit.record(actor, "create", entity.key, result.id, rules.changes({}, values))
            return result
        before = await get_item(entity, item_id)
        if before is None:
            result.errors["_"] = N_("This item no longer exists")
            return result
        diff = rules.changes(before, values)
        if diff:
            await table.update(values).where(table.id == item_id)
            await audit.record(actor, "update", entity.key, item_id, diff)
    return result


async def insert(table: type[Table], values: dict[str, object]) -> int:
    rows = await table.insert(table(**values)).returning(table.id)
    return rows[0]["id"]


async def _check_references(entity: rules.Entity, values: dict, item_id: int | None, errors: dict) -> None:
    table = TABLES[entity.key]
    if entity.parent and values.get(entity.parent) is not None and entity.parent not in errors:
        parent = TABLES[entity.parent]
        if not await parent.exists().where((parent.id == values[entity.parent]) & (parent.active == True)):  # noqa: E712
            errors[entity.parent] = N_("Choose one")
    if entity.has_code and values.get("code") and "code" not in errors:
        taken = table.exists().where(table.code == values["code"])
        if item_id is not None:
            taken = taken.where(table.id != item_id)
        if await taken:
            errors["code"] = N_("This code is already used")


async def set_active(entity: rules.Entity, item_id: int, active: bool, actor: audit.Actor = audit.SYSTEM) -> bool:
    """Deactivate or reactivate; nothing is ever hard-deleted."""
    table = TABLES[entity.key]
    async with write_transaction(table._meta.db):
        before = await get_item(entity, item_id)
        if before is None:
            return False
        if before["active"] != active:
            await table.update({table.active: active}).where(table.id == item_id)
            await audit.record(
                actor,
                "activate" if active else "deactivate",
                entity.key,
                item_id,
                {"active": [before["active"], active]},
            )
    return True


# --- CSV import ---------------------------------------------------------------


@dataclass
class ImportRow:
    line: int
    raw: dict[str, str]
    values: dict[str, object] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    action: str = "create"  # create | update | unchanged | error
    existing_id: int | None = None
    repeat_of: int | None = None


@dataclass
class ImportPlan:
    rows: list[ImportRow] = field(default_factory=list)
    error: str | None = None
    error_args: dict[str, str] = field(default_factory=dict)
    text: str = ""

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)


IMPORTABLE = ("place", "grid")


async def plan_import(entity: rules.Entity, data: bytes) -> ImportPlan:
    """Decode, parse and validate every row; nothing is written."""
    text, encoding = decode(data)
    if text is None:
        return ImportPlan(error=encoding.error, error_args=encoding.error_args)
    sheet = read_sheet(text, entity.csv_columns, entity.csv_required)
    if sheet.error:
        return ImportPlan(error=sheet.error, error_args=sheet.error_args)
    plan = ImportPlan(text=text)
    lookup = await _parent_codes(entity)
    seen: dict[tuple, int] = {}
    for line, raw in sheet.rows:
        plan.rows.append(await _plan_row(entity, line, raw, lookup, seen))
    return plan


async def _parent_codes(entity: rules.Entity) -> dict[str, int]:
    parent = TABLES[entity.parent]
    rows = await parent.select(parent.id, parent.code).where(parent.active == True)  # noqa: E712
    return {r["code"].lower(): r["id"] for r in rows}


async def _plan_row(
    entity: rules.Entity, line: int, raw: dict[str, str], lookup: dict[str, int], seen: dict[tuple, int]
) -> ImportRow:
    row = ImportRow(line=line, raw=raw)
    form = dict(raw)
    parent_code = raw.get(entity.parent or "", "")
    form[entity.parent] = str(lookup.get(parent_code.lower(), "")) if parent_code else ""
    if entity.key == "place":
        form["kind"] = rules.place_kind(raw.get("kind", "")) or "other"
    row.values, row.errors = rules.clean(entity, form)
    if parent_code and not form[entity.parent]:
        row.errors[entity.parent] = N_("Unknown grid code") if entity.key == "place" else N_("Unknown office code")
    key = _natural_key(entity, row.values)
    if key in seen and not row.errors:
        row.errors["name"] = N_("Repeats line %(line)s")
        row.repeat_of = seen[key]
    seen.setdefault(key, line)
    if row.errors:
        row.action = "error"
        return row
    existing = await _find_existing(entity, row.values)
    if existing:
        row.existing_id = existing["id"]
        row.action = "update" if rules.changes(existing, row.values) or not existing["active"] else "unchanged"
    return row


def _natural_key(entity: rules.Entity, values: dict) -> tuple:
    """What makes a row the same thing on re-import: grid code; place name within its grid."""
    if entity.has_code:
        return (str(values.get("code") or "").lower(),)
    return (values.get(entity.parent), values.get("name"))


async def _find_existing(entity: rules.Entity, values: dict) -> dict | None:
    table = TABLES[entity.key]
    if entity.has_code:
        return await table.select().where(table.code == values["code"]).first()
    parent_col = getattr(table, entity.parent)
    return await table.select().where((parent_col == values[entity.parent]) & (table.name == values["name"])).first()


async def apply_import(entity: rules.Entity, data: bytes, actor: audit.Actor = audit.SYSTEM) -> ImportPlan:
    """Re-plan (the data may have changed since the preview) and write the valid rows in one transaction."""
    table = TABLES[entity.key]
    async with write_transaction(table._meta.db):
        plan = await plan_import(entity, data)
        if plan.error:
            return plan
        for row in plan.rows:
            if row.action == "create":
                new_id = await insert(table, row.values)
                await audit.record(actor, "import", entity.key, new_id, rules.changes({}, row.values))
            elif row.action == "update":
                before = await get_item(entity, row.existing_id)
                await table.update(dict(row.values, active=True)).where(table.id == row.existing_id)
                await audit.record(
                    actor,
                    "import",
                    entity.key,
                    row.existing_id,
                    rules.changes(before or {}, {**row.values, "active": True}),
                )
    return plan
