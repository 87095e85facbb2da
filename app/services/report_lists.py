"""The report categories an admin keeps (zh/en names and hints); the codes are Open311's
service codes. Categories are deactivated, never deleted: old reports keep their names."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.db import write_transaction
from app.domain import reports as rules
from app.i18n import get_locale
from app.services import audit
from app.tables import ReportCategory


async def ensure_categories() -> None:
    """First run: the default list, so residents can report at once. Idempotent."""
    async with write_transaction(ReportCategory._meta.db):
        if await ReportCategory.exists():
            return
        for position, (code, zh, en, hint_zh, hint_en) in enumerate(rules.DEFAULT_CATEGORIES):
            await ReportCategory.insert(
                ReportCategory(code=code, name_zh=zh, name_en=en, hint_zh=hint_zh, hint_en=hint_en, position=position)
            )


def _localise(row: dict) -> dict:
    zh = get_locale() == "zh_CN"
    row["label"] = row["name_zh"] if zh else row["name_en"]
    row["hint"] = row["hint_zh"] if zh else row["hint_en"]
    return row


async def categories(include_inactive: bool = False) -> list[dict]:
    query = ReportCategory.select().order_by(ReportCategory.position).order_by(ReportCategory.id)
    if not include_inactive:
        query = query.where(ReportCategory.active.eq(True))
    return [_localise(r) for r in await query]


async def category_codes() -> dict[str, int]:
    """Active codes -> ids: what a resident may choose."""
    return {
        r["code"]: r["id"]
        for r in await ReportCategory.select(ReportCategory.id, ReportCategory.code).where(
            ReportCategory.active.eq(True)
        )
    }


async def category_labels() -> dict[str, str]:
    """Every code ever used, in the current language (inactive ones too)."""
    return {r["code"]: r["label"] for r in await categories(include_inactive=True)}


async def category(code_or_id: str | int) -> dict | None:
    column = ReportCategory.id if isinstance(code_or_id, int) else ReportCategory.code
    row = await ReportCategory.select().where(column == code_or_id).first()
    return _localise(row) if row else None


@dataclass
class CategoryForm:
    code: str = ""
    name_zh: str = ""
    name_en: str = ""
    hint_zh: str = ""
    hint_en: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: dict[str, str]) -> CategoryForm:
        return cls(
            data.get("code", "").strip().lower(),
            data.get("name_zh", "").strip(),
            data.get("name_en", "").strip(),
            data.get("hint_zh", "").strip(),
            data.get("hint_en", "").strip(),
        )


async def save_category(form: CategoryForm, actor: audit.Actor, category_id: int | None = None) -> int | None:
    """Create or update; None (and form.errors filled) when the input is wrong."""
    taken = {r["code"] for r in await ReportCategory.select(ReportCategory.code)}
    form.errors = rules.check_category(
        form.code, form.name_zh, form.name_en, form.hint_zh, form.hint_en, taken, editing=category_id is not None
    )
    if form.errors:
        return None
    values = {"name_zh": form.name_zh, "name_en": form.name_en, "hint_zh": form.hint_zh, "hint_en": form.hint_en}
    async with write_transaction(ReportCategory._meta.db):
        if category_id is None:
            last = (
                await ReportCategory.select(ReportCategory.position)
                .order_by(ReportCategory.position, ascending=False)
                .first()
            )
            rows = await ReportCategory.insert(
                ReportCategory(code=form.code, position=(last or {"position": 0})["position"] + 1, **values)
            ).returning(ReportCategory.id)
            category_id = rows[0]["id"]
            await audit.record(actor, "create", "report_category", category_id, {"code": [None, form.code]})
        else:
            before = await ReportCategory.select().where(ReportCategory.id == category_id).first()
            await ReportCategory.update({getattr(ReportCategory, k): v for k, v in values.items()}).where(
                ReportCategory.id == category_id
            )
            await audit.record(
                actor,
                "update",
                "report_category",
                category_id,
                {k: [before[k], v] for k, v in values.items() if before[k] != v},
            )
    return category_id


async def set_active(category_id: int, active: bool, actor: audit.Actor) -> bool:
    async with write_transaction(ReportCategory._meta.db):
        if not await ReportCategory.exists().where(ReportCategory.id == category_id):
            return False
        await ReportCategory.update({ReportCategory.active: active}).where(ReportCategory.id == category_id)
        await audit.record(actor, "activate" if active else "deactivate", "report_category", category_id)
    return True
