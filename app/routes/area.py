"""My area: the grids and places a person works in (scoped by the services)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from app.domain.org import PLACE_KINDS
from app.routes.guards import Me, requires
from app.services import scope


class AreaController(Controller):
    path = "/area"
    guards = [requires("officer", "grid_worker", "volunteer", "supervisor", "analyst", "admin")]

    @get("/", name="area")
    async def index(self, me: Me, q: FromQuery[str] = "") -> Template:
        places = await scope.places(me, q.strip())
        return Template(
            "area/index.html",
            context={"places": places, "q": q, "kinds": dict(PLACE_KINDS)},
            headers={"Vary": "HX-Request"},
        )

    @get("/places/{place_id:int}", name="area_place")
    async def place(self, me: Me, place_id: FromPath[int]) -> Template:
        place = await scope.place(me, place_id)
        if place is None:
            raise NotFoundException()
        return Template("area/place.html", context={"place": place, "kinds": dict(PLACE_KINDS)})
