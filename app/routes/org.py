"""Administration of the organisation: stations, offices, grids, places, agencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from app.domain.org import ENTITIES, Entity
from app.routes.forms import FORM, MULTIPART
from app.routes.guards import Me, admin_only
from app.services import org, paging
from app.services.audit import actor_of

VARY = {"Vary": "HX-Request"}


@dataclass
class ImportForm:
    file: UploadFile | None = None
    text: str = ""


def entity_or_404(key: str) -> Entity:
    if key not in ENTITIES:
        raise NotFoundException()
    return ENTITIES[key]


async def form_page(
    entity: Entity, values: dict, errors: dict, item_id: int | None = None, active: bool = True, status_code: int = 200
) -> Template:
    return Template(
        "org/form.html",
        context={
            "entity": entity,
            "values": values,
            "errors": errors,
            "item_id": item_id,
            "active": active,
            "parents": await org.parent_choices(entity),
        },
        status_code=status_code,
    )


class OrgController(Controller):
    path = "/admin/org"
    guards = [admin_only]

    @get("/", name="org_index")
    async def index(self) -> Template:
        return Template("org/index.html", context={"entities": ENTITIES.values(), "counts": await org.counts()})

    @get("/{entity_key:str}", name="org_list")
    async def list_items(
        self,
        request: HTMXRequest,
        entity_key: FromPath[str],
        q: FromQuery[str] = "",
        inactive: FromQuery[bool] = False,
        parent: FromQuery[int | None] = None,
        after: FromQuery[int | None] = None,
    ) -> Template:
        entity = entity_or_404(entity_key)
        found, total = await org.list_items(entity, q.strip(), inactive, parent, after)
        context = {
            "entity": entity,
            "page": found,
            "total": total,
            "count_cap": paging.COUNT_CAP,
            "q": q,
            "inactive": inactive,
            "parent": parent,
        }
        # An htmx search swaps only the results; the same URL without htmx is the whole page.
        partial = request.htmx and request.htmx.target == "results"
        return Template("org/_results.html" if partial else "org/list.html", context=context, headers=VARY)

    @get("/{entity_key:str}/new", name="org_new")
    async def new(self, entity_key: FromPath[str]) -> Template:
        return await form_page(entity_or_404(entity_key), {}, {})

    @post("/{entity_key:str}/new", name="org_create", status_code=200)
    async def create(
        self, me: Me, entity_key: FromPath[str], data: Annotated[dict[str, str], FORM]
    ) -> Template | Redirect:
        entity = entity_or_404(entity_key)
        result = await org.save(entity, data, actor=actor_of(me))
        if not result.ok:
            return await form_page(entity, data, result.errors, status_code=422)
        return Redirect(f"/admin/org/{entity.key}?saved={result.id}", status_code=303)

    @get("/{entity_key:str}/{item_id:int}", name="org_edit")
    async def edit(self, entity_key: FromPath[str], item_id: FromPath[int]) -> Template:
        entity = entity_or_404(entity_key)
        item = await org.get_item(entity, item_id)
        if item is None:
            raise NotFoundException()
        values = {k: "" if v is None else str(v) for k, v in item.items()}
        return await form_page(entity, values, {}, item_id, item["active"])

    @post("/{entity_key:str}/{item_id:int}", name="org_update", status_code=200)
    async def update(
        self, me: Me, entity_key: FromPath[str], item_id: FromPath[int], data: Annotated[dict[str, str], FORM]
    ) -> Template | Redirect:
        entity = entity_or_404(entity_key)
        result = await org.save(entity, data, item_id, actor=actor_of(me))
        if "_" in result.errors:
            raise NotFoundException()
        if not result.ok:
            return await form_page(entity, data, result.errors, item_id, status_code=422)
        return Redirect(f"/admin/org/{entity.key}?saved={item_id}", status_code=303)

    @post("/{entity_key:str}/{item_id:int}/active", name="org_set_active", status_code=303)
    async def set_active(
        self, me: Me, entity_key: FromPath[str], item_id: FromPath[int], data: Annotated[dict[str, str], FORM]
    ) -> Redirect:
        entity = entity_or_404(entity_key)
        if not await org.set_active(entity, item_id, data.get("active") == "1", actor_of(me)):
            raise NotFoundException()
        return Redirect(f"/admin/org/{entity.key}/{item_id}", status_code=303)

    @get("/{entity_key:str}/import", name="org_import_form")
    async def import_form(self, entity_key: FromPath[str]) -> Template:
        return Template("org/import.html", context={"entity": importable_or_404(entity_key), "plan": None})

    @post("/{entity_key:str}/import", name="org_import", status_code=200)
    async def import_file(self, me: Me, entity_key: FromPath[str], data: Annotated[ImportForm, MULTIPART]) -> Template:
        """Step 1 (a file): preview. Step 2 (confirm, with the previewed text): write."""
        entity = importable_or_404(entity_key)
        if data.file and data.file.filename:
            plan = await org.plan_import(entity, await data.file.read())
            return Template(
                "org/import.html",
                context={"entity": entity, "plan": plan, "done": False},
                status_code=200 if not plan.error else 422,
            )
        if not data.text:
            return Template(
                "org/import.html", context={"entity": entity, "plan": None, "missing_file": True}, status_code=422
            )
        plan = await org.apply_import(entity, data.text.encode("utf-8"), actor_of(me))
        return Template("org/import.html", context={"entity": entity, "plan": plan, "done": not plan.error})


def importable_or_404(key: str) -> Entity:
    if key not in org.IMPORTABLE:
        raise NotFoundException()
    return ENTITIES[key]
