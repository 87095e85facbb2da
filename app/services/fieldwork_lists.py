"""The lists an admin edits for field logs: contact tags and campaign topics, and the wording
of the written agreement per dispute type."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.db import Prepared, write_transaction
from app.domain import agreements
from app.domain.fieldwork import DEFAULT_TOPICS, DISPUTE_TYPES
from app.i18n import N_, get_locale, too_long
from app.services import audit
from app.tables import AgreementTemplate, Topic

TOPIC_KINDS = {"tag": N_("Contact tags"), "campaign": N_("Campaign topics")}
CODE = re.compile(r"^[a-z0-9_]{1,32}$")


async def ensure_topics() -> None:
    """First run: the default lists, so a new station can log at once. Idempotent."""
    async with write_transaction(Topic._meta.db):
        for kind, entries in DEFAULT_TOPICS.items():
            if await Topic.exists().where(Topic.kind == kind):
                continue
            for position, (code, zh, en) in enumerate(entries):
                await Topic.insert(Topic(kind=kind, code=code, name_zh=zh, name_en=en, position=position))


def label(row: dict) -> str:
    return row["name_zh"] if get_locale() == "zh_CN" else row["name_en"]


def _topics():
    return Topic.select().order_by(Topic.position).order_by(Topic.id)


# Each log form reads them twice (tags, campaign topics): built once.
_ACTIVE = Prepared(lambda p: _topics().where((Topic.kind == p.kind) & Topic.active.eq(True)))
_EVERY = Prepared(lambda p: _topics().where(Topic.kind == p.kind))


async def topics(kind: str, include_inactive: bool = False) -> list[dict]:
    rows = await (_EVERY if include_inactive else _ACTIVE).rows(kind=kind)
    for row in rows:
        row["label"] = label(row)
    return rows


async def topic_labels(kind: str) -> dict[str, str]:
    """Every code ever used (inactive ones too: old logs still show their names)."""
    return {r["code"]: r["label"] for r in await topics(kind, include_inactive=True)}


async def filter_topics() -> dict[str, str]:
    """The topic filter's choices: contact tags, then campaign topics not named so already
    (both lists share codes such as fraud: one choice finds the contacts and the drops)."""
    tags = await topic_labels("tag")
    return tags | {code: name for code, name in (await topic_labels("campaign")).items() if code not in tags}


@dataclass
class TopicForm:
    kind: str = "tag"
    code: str = ""
    name_zh: str = ""
    name_en: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_data(cls, kind: str, data: dict[str, str]) -> TopicForm:
        return cls(
            kind, data.get("code", "").strip().lower(), data.get("name_zh", "").strip(), data.get("name_en", "").strip()
        )

    def validate(self, existing_codes: set[str], editing: bool) -> None:
        if not editing and not CODE.match(self.code):
            self.errors["code"] = N_("Lower-case letters, digits and _ only")
        elif not editing and self.code in existing_codes:
            self.errors["code"] = N_("This code is already used")
        for name in ("name_zh", "name_en"):
            value = getattr(self, name)
            if not value:
                self.errors[name] = N_("Required")
            elif len(value) > 60:
                self.errors[name] = too_long(60)


async def save_topic(form: TopicForm, actor: audit.Actor, topic_id: int | None = None) -> int | None:
    existing = {r["code"] for r in await topics(form.kind, include_inactive=True)}
    form.validate(existing, editing=topic_id is not None)
    if form.errors:
        return None
    async with write_transaction(Topic._meta.db):
        if topic_id is None:
            rows = await Topic.insert(
                Topic(
                    kind=form.kind, code=form.code, name_zh=form.name_zh, name_en=form.name_en, position=len(existing)
                )
            ).returning(Topic.id)
            topic_id = rows[0]["id"]
            await audit.record(actor, "create", "topic", topic_id, {"code": [None, form.code]})
        else:
            before = await Topic.select().where(Topic.id == topic_id).first()
            await Topic.update({Topic.name_zh: form.name_zh, Topic.name_en: form.name_en}).where(Topic.id == topic_id)
            await audit.record(
                actor,
                "update",
                "topic",
                topic_id,
                {k: [before[k], getattr(form, k)] for k in ("name_zh", "name_en") if before[k] != getattr(form, k)},
            )
    return topic_id


async def get_topic(topic_id: int) -> dict | None:
    return await Topic.select().where(Topic.id == topic_id).first()


async def set_topic_active(topic_id: int, active: bool, actor: audit.Actor) -> bool:
    async with write_transaction(Topic._meta.db):
        if not await Topic.exists().where(Topic.id == topic_id):
            return False
        await Topic.update({Topic.active: active}).where(Topic.id == topic_id)
        await audit.record(actor, "activate" if active else "deactivate", "topic", topic_id)
    return True


async def agreement_template(dispute_type: str) -> agreements.Wording:
    row = await AgreementTemplate.select().where(AgreementTemplate.dispute_type == dispute_type).first()
    if row is None:
        return agreements.default_wording(dispute_type)
    return agreements.Wording(row["title"], row["preamble"], row["closing"])


async def save_agreement_template(dispute_type: str, data: dict[str, str], actor: audit.Actor) -> dict[str, str]:
    """Errors by field; empty when saved."""
    if dispute_type not in DISPUTE_TYPES:
        raise KeyError(dispute_type)
    wording = agreements.Wording(
        data.get("title", "").strip(), data.get("preamble", "").strip(), data.get("closing", "").strip()
    )
    errors = agreements.wording_errors(wording)
    if errors:
        return errors
    before = await agreement_template(dispute_type)
    values = {"title": wording.title, "preamble": wording.preamble, "closing": wording.closing}
    async with write_transaction(AgreementTemplate._meta.db):
        await AgreementTemplate.delete().where(AgreementTemplate.dispute_type == dispute_type)
        await AgreementTemplate.insert(AgreementTemplate(dispute_type=dispute_type, **values))
        await audit.record(
            actor,
            "update",
            "agreement_template",
            dispute_type,
            {k: [getattr(before, k), v] for k, v in values.items() if getattr(before, k) != v},
        )
    return {}
