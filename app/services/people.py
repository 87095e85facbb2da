"""People: create and edit with roles, units and qualifications; list, reveal, deactivate;
their passkeys. The only code that writes person rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from app.db import write_transaction
from app.domain import phone as phones
from app.domain.access import Principal
from app.domain.roles import QUALIFICATIONS, ROLES, parse_unit, role_unit_error
from app.i18n import N_, too_long
from app.selects import Columns
from app.services import audit, scope
from app.services.auth import now, revoke_sessions
from app.tables import Agency, Grid, Office, Passkey, Person, PersonRole, Qualification, Station

MAX_ROLE_ROWS = 6
MAX_QUALIFICATION_ROWS = 4


@dataclass
class PersonForm:
    """What the person form holds: fields, (role, unit) rows and (qualification, date) rows."""

    name: str = ""
    phone: str = ""
    badge_no: str = ""
    roles: list[tuple[str, str]] = field(default_factory=list)
    qualifications: list[tuple[str, str]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: dict[str, str]) -> "PersonForm":
        form = cls(
            name=data.get("name", "").strip(),
            phone=data.get("phone", "").strip(),
            badge_no=data.get("badge_no", "").strip(),
        )
        for i in range(MAX_ROLE_ROWS):
            role, unit = data.get(f"role_{i}", ""), data.get(f"unit_{i}", "")
            if role or unit:
                form.roles.append((role, unit))
        for i in range(MAX_QUALIFICATION_ROWS):
            kind, obtained = data.get(f"qual_{i}", ""), data.get(f"qual_date_{i}", "")
            if kind or obtained:
                form.qualifications.append((kind, obtained))
        return form

    def validate(self) -> None:
        if not self.name:
            self.errors["name"] = N_("Required")
        elif len(self.name) > 100:
            self.errors["name"] = too_long(100)
        if self.phone and not phones.is_valid(self.phone):
            self.errors["phone"] = N_("Not a phone number")
        if len(self.badge_no) > 32:
            self.errors["badge_no"] = too_long(32)
        if not self.roles:
            self.errors["role_0"] = N_("Give the person at least one role")
        for i, (role, unit) in enumerate(self.roles):
            error = role_unit_error(role, parse_unit(unit))
            if error:
                self.errors[f"role_{i}"] = error
        for i, (kind, obtained) in enumerate(self.qualifications):
            if kind not in QUALIFICATIONS:
                self.errors[f"qual_{i}"] = N_("Choose one")
            elif obtained and _parse_date(obtained) is None:
                self.errors[f"qual_{i}"] = N_("Not a date")


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


async def unit_choices() -> dict[str, list[tuple[str, str]]]:
    """Units grouped by kind, values as 'kind:id', for the role rows of the form."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for kind, table in (("station", Station), ("office", Office), ("grid", Grid), ("agency", Agency)):
        rows = await table.select(table.id, table.name).where(table.active == True).order_by(table.name)  # noqa: E712
        groups[kind] = [(f"{kind}:{r['id']}", r["name"]) for r in rows]
    return groups


async def _check_units_exist(form: PersonForm) -> None:
    tables = {"station": Station, "office": Office, "grid": Grid, "agency": Agency}
    for i, (_role, unit) in enumerate(form.roles):
        parsed = parse_unit(unit)
        if parsed and f"role_{i}" not in form.errors:
            table = tables[parsed[0]]
            if not await table.exists().where(table.id == parsed[1]):
                form.errors[f"role_{i}"] = N_("Choose the unit this role is held for")


async def save(form: PersonForm, actor: audit.Actor, person_id: int | None = None) -> int | None:
    """Create or update a person with their roles and qualifications; None when the form has errors."""
    form.validate()
    await _check_units_exist(form)
    if form.errors:
        return None
    values = {"name": form.name, "phone": form.phone, "badge_no": form.badge_no}
    async with write_transaction(Person._meta.db):
        if person_id is None:
            rows = await Person.insert(Person(**values)).returning(Person.id)
            person_id = rows[0]["id"]
            before: dict = {}
        else:
            before = await Person.select().where(Person.id == person_id).first() or {}
            await Person.update(values).where(Person.id == person_id)
            before["roles"] = await _role_summary(person_id)
            await PersonRole.delete().where(PersonRole.person == person_id)
            await Qualification.delete().where(Qualification.person == person_id)
        for role, unit in form.roles:
            parsed = parse_unit(unit)
            await PersonRole.insert(
                PersonRole(person=person_id, role=role, **({parsed[0]: parsed[1]} if parsed else {}))
            )
        for kind, obtained in form.qualifications:
            await Qualification.insert(Qualification(person=person_id, kind=kind, obtained_on=_parse_date(obtained)))
        after = {**values, "roles": await _role_summary(person_id)}
        # Phone numbers are personal data: the log says that it changed, not what it is.
        diff = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
        if "phone" in diff:
            diff["phone"] = ["***" if before.get("phone") else "", "***" if form.phone else ""]
        await audit.record(actor, "update" if before else "create", "person", person_id, diff)
    return person_id


def _unit_of(row: dict) -> str:
    return next((f"{k}:{row[k]}" for k in ("station", "office", "grid", "agency") if row[k]), "")


async def _role_summary(person_id: int) -> list[str]:
    rows = await PersonRole.select().where(PersonRole.person == person_id).order_by(PersonRole.id)
    return [f"{r['role']}@{_unit_of(r)}" for r in rows]


async def form_for(person_id: int) -> PersonForm | None:
    person = await Person.select().where(Person.id == person_id).first()
    if person is None:
        return None
    roles = await PersonRole.select().where(PersonRole.person == person_id).order_by(PersonRole.id)
    quals = await Qualification.select().where(Qualification.person == person_id).order_by(Qualification.id)
    return PersonForm(
        name=person["name"],
        phone=person["phone"],
        badge_no=person["badge_no"],
        roles=[(r["role"], _unit_of(r)) for r in roles],
        qualifications=[(q["kind"], q["obtained_on"].isoformat() if q["obtained_on"] else "") for q in quals],
    )


# --- reading, scoped -----------------------------------------------------------


# Foreign-key chains built, and the role list's joins compiled, once (see app.selects).
_ROLE_STATIONS = (PersonRole.station, PersonRole.office.station, PersonRole.grid.office.station)
_ROLES_WITH_UNITS = Columns(
    PersonRole,
    PersonRole.person,
    PersonRole.role,
    PersonRole.station.name.as_alias("station_name"),
    PersonRole.office.name.as_alias("office_name"),
    PersonRole.grid.name.as_alias("grid_name"),
    PersonRole.agency.name.as_alias("agency_name"),
)


async def visible_person_ids(principal: Principal) -> set[int] | None:
    """Administrators see everyone; supervisors the people who work in their station."""
    if principal.has("admin"):
        return None
    stations = await scope.station_ids(principal)
    if not stations:
        return set()
    station, office_station, grid_station = _ROLE_STATIONS
    rows = await PersonRole.select(PersonRole.person).where(
        station.is_in(list(stations)) | office_station.is_in(list(stations)) | grid_station.is_in(list(stations))
    )
    return {r["person"] for r in rows}


async def search(principal: Principal, q: str = "", role: str = "", unit: str = "") -> list[dict]:
    """People with their roles; phones masked."""
    query = Person.select().order_by(Person.active, ascending=False).order_by(Person.name)
    visible = await visible_person_ids(principal)
    if visible is not None:
        query = query.where(Person.id.is_in(list(visible) or [-1]))
    if q:
        query = query.where(Person.name.like(f"%{q}%") | Person.badge_no.like(f"%{q}%"))
    role_query = PersonRole.select(PersonRole.person)
    filtered = False
    if role in ROLES:
        role_query, filtered = role_query.where(PersonRole.role == role), True
    parsed = parse_unit(unit)
    if parsed:
        role_query, filtered = role_query.where(getattr(PersonRole, parsed[0]) == parsed[1]), True
    if filtered:
        ids = [r["person"] for r in await role_query]
        query = query.where(Person.id.is_in(ids or [-1]))
    people = await query.limit(200)
    roles = await _roles_by_person([p["id"] for p in people])
    for person in people:
        person["phone_masked"] = phones.mask(person["phone"]) if person["phone"] else ""
        person["roles"] = roles.get(person["id"], [])
    return people


async def _roles_by_person(ids: list[int]) -> dict[int, list[dict]]:
    if not ids:
        return {}
    rows = await _ROLES_WITH_UNITS.select().where(PersonRole.person.is_in(ids)).order_by(PersonRole.id)
    grouped: dict[int, list[dict]] = {}
    for row in rows:
        row["unit_name"] = row["grid_name"] or row["office_name"] or row["station_name"] or row["agency_name"] or ""
        grouped.setdefault(row["person"], []).append(row)
    return grouped


async def profile(principal: Principal, person_id: int, reveal_phone: bool = False) -> dict | None:
    """One person as the principal may see them; None (404) outside their scope.
    Showing the full phone number is recorded in the audit log."""
    visible = await visible_person_ids(principal)
    if visible is not None and person_id not in visible and person_id != principal.id:
        return None
    person = await Person.select().where(Person.id == person_id).first()
    if person is None:
        return None
    person["roles"] = (await _roles_by_person([person_id])).get(person_id, [])
    person["qualifications"] = (
        await Qualification.select().where(Qualification.person == person_id).order_by(Qualification.obtained_on)
    )
    person["passkeys"] = await Passkey.select().where(Passkey.person == person_id).order_by(Passkey.created_at)
    person["phone_masked"] = phones.mask(person["phone"]) if person["phone"] else ""
    person["phone_shown"] = False
    if reveal_phone and principal.has("admin", "supervisor") and person["phone"]:
        await audit.record(
            audit.actor_of(principal), "view_personal_data", "person", person_id, {"field": [None, "phone"]}
        )
        person["phone_shown"] = True
    return person


async def qualification_counts(principal: Principal) -> list[dict]:
    """How many officers (in the principal's scope) hold each qualification."""
    visible = await visible_person_ids(principal)
    officers = PersonRole.select(PersonRole.person).where(PersonRole.role == "officer")
    officer_ids = {r["person"] for r in await officers}
    if visible is not None:
        officer_ids &= visible
    rows = await Qualification.select(Qualification.kind, Qualification.person).where(
        Qualification.person.is_in(list(officer_ids) or [-1])
    )
    counts: dict[str, set[int]] = {kind: set() for kind in QUALIFICATIONS}
    for row in rows:
        counts.setdefault(row["kind"], set()).add(row["person"])
    return [{"kind": k, "count": len(v), "officers": len(officer_ids)} for k, v in counts.items()]


# --- account state ---------------------------------------------------------------


async def set_active(person_id: int, active: bool, actor: audit.Actor) -> bool:
    """Deactivating ends every session at once; passkeys stay but cannot sign in."""
    async with write_transaction(Person._meta.db):
        person = await Person.select(Person.active).where(Person.id == person_id).first()
        if person is None:
            return False
        await Person.update({Person.active: active}).where(Person.id == person_id)
        ended = 0 if active else await revoke_sessions(person_id)
        await audit.record(
            actor,
            "activate" if active else "deactivate",
            "person",
            person_id,
            {"active": [person["active"], active], "sessions_ended": [None, ended]},
        )
    return True


async def revoke_all_access(person_id: int, actor: audit.Actor) -> bool:
    """A lost phone: every passkey and every session of the person stop working now."""
    async with write_transaction(Person._meta.db):
        if not await Person.exists().where(Person.id == person_id):
            return False
        keys = (
            await Passkey.update({Passkey.revoked_at: now()})
            .where((Passkey.person == person_id) & Passkey.revoked_at.is_null())
            .returning(Passkey.id)
        )
        ended = await revoke_sessions(person_id)
        await audit.record(
            actor,
            "revoke_access",
            "person",
            person_id,
            {"passkeys_revoked": [None, len(keys)], "sessions_ended": [None, ended]},
        )
    return True


async def set_locale(person_id: int, locale: str) -> None:
    await Person.update({Person.locale: locale}).where(Person.id == person_id)


# --- own passkeys ------------------------------------------------------------------


async def own_passkey(principal: Principal, passkey_id: int) -> dict | None:
    return await Passkey.select().where((Passkey.id == passkey_id) & (Passkey.person == principal.id)).first()


async def rename_passkey(principal: Principal, passkey_id: int, label: str) -> bool:
    key = await own_passkey(principal, passkey_id)
    if key is None:
        return False
    label = label.strip()[:60]
    async with write_transaction(Passkey._meta.db):
        await Passkey.update({Passkey.label: label}).where(Passkey.id == passkey_id)
        await audit.record(audit.actor_of(principal), "rename", "passkey", passkey_id, {"label": [key["label"], label]})
    return True


async def revoke_passkey(principal: Principal, passkey_id: int) -> bool:
    key = await own_passkey(principal, passkey_id)
    if key is None or key["revoked_at"] is not None:
        return key is not None
    async with write_transaction(Passkey._meta.db):
        await Passkey.update({Passkey.revoked_at: now()}).where(Passkey.id == passkey_id)
        await audit.record(audit.actor_of(principal), "revoke", "passkey", passkey_id)
    return True


async def demo_people() -> list[dict]:
    """One person per role, for the demo sign-in buttons."""
    rows = (
        await PersonRole.select(PersonRole.person, PersonRole.role, PersonRole.person.name.as_alias("name"))
        .where(PersonRole.person.active.eq(True))
        .order_by(PersonRole.id)
    )
    seen: dict[str, dict] = {}
    for row in rows:
        seen.setdefault(row["role"], row)
    return [seen[r] for r in ROLES if r in seen]


async def saved_locale(person_id: int) -> str:
    row = await Person.select(Person.locale).where(Person.id == person_id).first()
    return row["locale"] if row else ""


async def first_admin() -> int:
    """The administrator `qianmo admin-link` invites: the first active one, created if none exists."""
    row = (
        await PersonRole.select(PersonRole.person)
        .where((PersonRole.role == "admin") & PersonRole.person.active.eq(True))
        .order_by(PersonRole.id)
        .first()
    )
    if row:
        return row["person"]
    person_id = await save(PersonForm(name="管理员 Administrator", roles=[("admin", "")]), audit.SYSTEM)
    assert person_id is not None
    return person_id
