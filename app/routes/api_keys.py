"""Admin: API keys for other systems (issued, shown once, revoked)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.domain.roles import API_ROLES
from app.routes.forms import FORM
from app.routes.guards import Me, admin_only
from app.services import api_keys
from app.services.audit import actor_of


async def _page(
    values: dict | None = None, errors: dict | None = None, new_key: str = "", status_code: int = 200
) -> Template:
    return Template(
        "api_keys/index.html",
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
        context={
            "keys": await api_keys.list_keys(),
            "roles": API_ROLES,
            "stations": await api_keys.station_choices(),
            "values": values or {},
            "errors": errors or {},
            "new_key": new_key,
        },
    )


class ApiKeysController(Controller):
    path = "/admin/api-keys"
    guards = [admin_only]

    @get("/", name="api_keys")
    async def index(self) -> Template:
        return await _page()

    @post("/", name="api_key_create", status_code=200)
    async def create(self, me: Me, data: Annotated[dict[str, str], FORM]) -> Template:
        station = int(data["station"]) if data.get("station", "").isdecimal() else None
        name, role = data.get("name", ""), data.get("role", "")
        errors = await api_keys.form_errors(name, role, station)
        if errors:
            return await _page(data, errors, status_code=422)
        _key_id, key = await api_keys.create(name, role, station, actor_of(me))
        return await _page(new_key=key)

    @post("/{key_id:int}/revoke", name="api_key_revoke", status_code=303)
    async def revoke(self, me: Me, key_id: FromPath[int]) -> Redirect:
        if not await api_keys.revoke(key_id, actor_of(me)):
            raise NotFoundException()
        return Redirect("/admin/api-keys", status_code=303)
