"""Admin: the contact tags and campaign topics officers pick from, and the agreement wording
per dispute type."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.domain.fieldwork import DISPUTE_TYPES
from app.routes.forms import FORM
from app.routes.guards import Me, admin_only
from app.services import fieldwork_lists
from app.services.audit import actor_of


async def _index(form: fieldwork_lists.TopicForm | None = None, status_code: int = 200) -> Template:
    lists = {kind: await fieldwork_lists.topics(kind, include_inactive=True) for kind in fieldwork_lists.TOPIC_KINDS}
    return Template(
        "fieldwork/admin.html",
        status_code=status_code,
        context={"lists": lists, "kinds": fieldwork_lists.TOPIC_KINDS, "form": form, "dispute_types": DISPUTE_TYPES},
    )


class FieldworkAdminController(Controller):
    path = "/admin/field"
    guards = [admin_only]

    @get("/", name="field_admin")
    async def index(self) -> Template:
        return await _index()

    @post("/lists/{kind:str}", name="topic_create", status_code=200)
    async def create_topic(
        self, me: Me, kind: FromPath[str], data: Annotated[dict[str, str], FORM]
    ) -> Template | Redirect:
        if kind not in fieldwork_lists.TOPIC_KINDS:
            raise NotFoundException()
        form = fieldwork_lists.TopicForm.from_data(kind, data)
        if await fieldwork_lists.save_topic(form, actor_of(me)) is None:
            return await _index(form, status_code=422)
        return Redirect("/admin/field", status_code=303)

    @get("/topics/{topic_id:int}", name="topic_edit")
    async def edit_topic(self, topic_id: FromPath[int]) -> Template:
        topic = await fieldwork_lists.get_topic(topic_id)
        if topic is None:
            raise NotFoundException()
        form = fieldwork_lists.TopicForm(topic["kind"], topic["code"], topic["name_zh"], topic["name_en"])
        return Template("fieldwork/admin_topic.html", context={"topic": topic, "form": form})

    @post("/topics/{topic_id:int}", name="topic_update", status_code=200)
    async def update_topic(
        self, me: Me, topic_id: FromPath[int], data: Annotated[dict[str, str], FORM]
    ) -> Template | Redirect:
        topic = await fieldwork_lists.get_topic(topic_id)
        if topic is None:
            raise NotFoundException()
        form = fieldwork_lists.TopicForm.from_data(topic["kind"], {**data, "code": topic["code"]})
        if await fieldwork_lists.save_topic(form, actor_of(me), topic_id) is None:
            return Template("fieldwork/admin_topic.html", status_code=422, context={"topic": topic, "form": form})
        return Redirect("/admin/field", status_code=303)

    @post("/topics/{topic_id:int}/active", name="topic_set_active", status_code=303)
    async def set_active(self, me: Me, topic_id: FromPath[int], data: Annotated[dict[str, str], FORM]) -> Redirect:
        if not await fieldwork_lists.set_topic_active(topic_id, data.get("active") == "1", actor_of(me)):
            raise NotFoundException()
        return Redirect("/admin/field", status_code=303)

    @get("/agreements/{dispute_type:str}", name="agreement_template")
    async def agreement(self, dispute_type: FromPath[str]) -> Template:
        if dispute_type not in DISPUTE_TYPES:
            raise NotFoundException()
        wording = await fieldwork_lists.agreement_template(dispute_type)
        return Template(
            "fieldwork/admin_agreement.html",
            context={
                "dispute_type": dispute_type,
                "label": DISPUTE_TYPES[dispute_type],
                "values": wording.__dict__,
                "errors": {},
            },
        )

    @post("/agreements/{dispute_type:str}", name="agreement_template_save", status_code=200)
    async def save_agreement(
        self, me: Me, dispute_type: FromPath[str], data: Annotated[dict[str, str], FORM]
    ) -> Template | Redirect:
        if dispute_type not in DISPUTE_TYPES:
            raise NotFoundException()
        errors = await fieldwork_lists.save_agreement_template(dispute_type, data, actor_of(me))
        if errors:
            return Template(
                "fieldwork/admin_agreement.html",
                status_code=422,
                context={
                    "dispute_type": dispute_type,
                    "label": DISPUTE_TYPES[dispute_type],
                    "values": data,
                    "errors": errors,
                },
            )
        return Redirect("/admin/field", status_code=303)
