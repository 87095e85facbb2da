"""A log's reviews (审阅): a supervisor marks a log of the team reviewed, with an optional
comment; its author and the supervisors read them. The team's day itself is part of My day
(routes/fieldwork.my_day)."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.domain.access import Principal
from app.domain.redirects import safe_next
from app.routes.forms import posted
from app.routes.guards import Me, requires
from app.services import fieldwork, team

READERS = (*fieldwork.WRITERS, "analyst", "admin")  # whoever may read the log


class TeamController(Controller):
    path = "/field/logs/{log_id:int}/reviews"

    @get("/", name="log_reviews", guards=[requires(*READERS)])
    async def index(self, me: Me, log_id: FromPath[int]) -> Template:
        return await _page(me, log_id, {}, "")

    @post("/", name="log_review", guards=[requires(team.ROLE)], status_code=200)
    async def create(self, request: Request, me: Me, log_id: FromPath[int]) -> Template | Redirect:
        form = await posted(request)
        comment = form.text("comment")
        errors = await team.review(me, log_id, comment)
        if errors:
            return await _page(me, log_id, errors, comment, status_code=422)
        return Redirect(safe_next(form.text("next", f"/field/logs/{log_id}/reviews")), status_code=303)


async def _page(me: Principal, log_id: int, errors: dict, comment: str, status_code: int = 200) -> Template:
    log = await fieldwork.get(me, log_id)
    if log is None:
        raise NotFoundException()
    return Template(
        "fieldwork/reviews.html",
        status_code=status_code,
        context={
            "log": log,
            "reviews": await team.reviews(log_id),
            "errors": errors,
            "comment": comment,
            "may_review": me.has(team.ROLE),
        },
    )
