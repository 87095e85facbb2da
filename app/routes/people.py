"""People administration (admin) and the people pages supervisors read."""

from __future__ import annotations

from typing import Annotated

import segno
from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.domain.access import Principal
from app.domain.roles import QUALIFICATIONS, ROLE_UNITS, ROLES
from app.i18n import N_
from app.routes.forms import FORM, posted
from app.routes.guards import Me, admin_only, requires
from app.services import auth, people, volunteers
from app.services.audit import Actor, actor_of

readers = requires("admin", "supervisor")
LINKED = N_("The volunteer role is added. No invitation was made: the person signs in as before.")


def _qr_svg(link: str) -> str:
    return segno.make(link, error="m").svg_inline(scale=4, dark="#000", light="#fff")


async def _form_page(form: people.PersonForm, person_id: int | None = None, status_code: int = 200) -> Template:
    return Template(
        "people/form.html",
        status_code=status_code,
        context={
            "form": form,
            "person_id": person_id,
            "roles": ROLES,
            "role_units": ROLE_UNITS,
            "qualifications": QUALIFICATIONS,
            "units": await people.unit_choices(),
            "role_rows": people.MAX_ROLE_ROWS,
            "qual_rows": people.MAX_QUALIFICATION_ROWS,
        },
    )


async def _profile_page(
    request: Request,
    me: Principal,
    person_id: int,
    reveal: bool = False,
    link: str = "",
    link_error: dict | None = None,
    status_code: int = 200,
) -> Template:
    person = await people.profile(me, person_id, reveal_phone=reveal)
    if person is None:
        raise NotFoundException()
    return Template(
        "people/profile.html",
        status_code=status_code,
        context={
            "person": person,
            "roles": ROLES,
            "qualifications": QUALIFICATIONS,
            "invitation_link": link,
            "invitation_qr": _qr_svg(link) if link else "",
            "applications": await volunteers.applications_for_person(me, person_id),
            "link_error": link_error or {},
            "done": LINKED if request.query_params.get("done") == "linked" else "",
        },
    )


async def _invite(request: Request, person_id: int, actor: Actor) -> str:
    try:
        return await auth.issue_invitation(person_id, request.app.state.settings, actor)
    except auth.InvitationRefused as exc:
        raise PermissionDeniedException(exc.message) from exc


class PeopleController(Controller):
    path = "/people"

    @get("/", name="people_list", guards=[readers])
    async def list_people(
        self, me: Me, q: FromQuery[str] = "", role: FromQuery[str] = "", unit: FromQuery[str] = ""
    ) -> Template:
        rows = await people.search(me, q.strip(), role, unit)
        return Template(
            "people/list.html",
            context={
                "rows": rows,
                "q": q,
                "role": role,
                "unit": unit,
                "roles": ROLES,
                "units": await people.unit_choices(),
            },
        )

    @get("/qualifications", name="people_qualifications", guards=[readers])
    async def qualification_counts(self, me: Me) -> Template:
        counts = await people.qualification_counts(me)
        return Template("people/qualifications.html", context={"counts": counts, "qualifications": QUALIFICATIONS})

    @get("/new", name="person_new", guards=[admin_only])
    async def new(self) -> Template:
        return await _form_page(people.PersonForm(roles=[("officer", "")]))

    @post("/new", name="person_create", guards=[admin_only], status_code=200)
    async def create(self, request: Request, me: Me, data: Annotated[dict[str, str], FORM]) -> Template:
        form = people.PersonForm.from_data(data)
        person_id = await people.save(form, actor_of(me))
        if person_id is None:
            return await _form_page(form, status_code=422)
        link = await _invite(request, person_id, actor_of(me))
        return await _profile_page(request, me, person_id, link=link)

    @get("/{person_id:int}", name="person_profile", guards=[readers])
    async def profile(
        self, request: Request, me: Me, person_id: FromPath[int], reveal: FromQuery[bool] = False
    ) -> Template:
        return await _profile_page(request, me, person_id, reveal)

    @get("/{person_id:int}/edit", name="person_edit", guards=[admin_only])
    async def edit(self, person_id: FromPath[int]) -> Template:
        form = await people.form_for(person_id)
        if form is None:
            raise NotFoundException()
        return await _form_page(form, person_id)

    @post("/{person_id:int}/edit", name="person_update", guards=[admin_only], status_code=200)
    async def update(
        self, me: Me, person_id: FromPath[int], data: Annotated[dict[str, str], FORM]
    ) -> Template | Redirect:
        if await people.form_for(person_id) is None:
            raise NotFoundException()
        form = people.PersonForm.from_data(data)
        if await people.save(form, actor_of(me), person_id) is None:
            return await _form_page(form, person_id, status_code=422)
        return Redirect(f"/people/{person_id}", status_code=303)

    @post("/{person_id:int}/invitation", name="person_invite", guards=[admin_only], status_code=200)
    async def invite(self, request: Request, me: Me, person_id: FromPath[int]) -> Template:
        if await people.form_for(person_id) is None:
            raise NotFoundException()
        link = await _invite(request, person_id, actor_of(me))
        return await _profile_page(request, me, person_id, link=link)

    @post("/{person_id:int}/lost-phone", name="person_lost_phone", guards=[admin_only], status_code=200)
    async def lost_phone(self, request: Request, me: Me, person_id: FromPath[int]) -> Template:
        """Revoke every passkey and session at once, and hand out a new invitation."""
        actor = actor_of(me)
        if not await people.revoke_all_access(person_id, actor):
            raise NotFoundException()
        link = await _invite(request, person_id, actor)
        return await _profile_page(request, me, person_id, link=link)

    @post("/{person_id:int}/active", name="person_set_active", guards=[admin_only], status_code=303)
    async def set_active(self, me: Me, person_id: FromPath[int], data: Annotated[dict[str, str], FORM]) -> Redirect:
        if not await people.set_active(person_id, data.get("active") == "1", actor_of(me)):
            raise NotFoundException()
        return Redirect(f"/people/{person_id}", status_code=303)

    @post("/{person_id:int}/volunteer-link", name="person_volunteer_link", guards=[admin_only], status_code=200)
    async def volunteer_link(self, request: Request, me: Me, person_id: FromPath[int]) -> Template | Redirect:
        """Give this existing person the volunteer role an application (made with their phone) asks
        for: audited, and no invitation (the person already signs in)."""
        form = await posted(request)
        application = form.text("application")
        outcome = await volunteers.link(me, form.id("application"), person_id, form.ids("grids"))
        if outcome.ok:
            return Redirect(f"/people/{person_id}?done=linked", status_code=303)
        message = outcome.refusal.message if outcome.refusal else outcome.errors.get("person", "")
        return await _profile_page(
            request,
            me,
            person_id,
            status_code=422,
            link_error={"application": application, "message": message, "fields": outcome.errors},
        )
