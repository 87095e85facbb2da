"""Concurrent writers must queue for SQLite's lock, not fail with "database is locked"."""
import asyncio

from litestar.testing import AsyncTestClient

from app.main import create_app
from app.tables import Agency, AuditEvent
from tests.conftest import run

WRITERS = 25


def test_concurrent_creates_all_succeed(db, settings):
    async def scenario() -> list[int]:
        async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as http:
            await http.get("/offline")
            token = http.cookies["qianmo_csrf"]

            async def create(i: int) -> int:
                response = await http.post(
                    "/admin/org/agency/new",
                    data={"name": f"机构{i}", "code": f"C{i}", "kind": "other"},
                    headers={"x-csrftoken": token},
                    follow_redirects=False,
                )
                return response.status_code

            return await asyncio.gather(*(create(i) for i in range(WRITERS)))

    statuses = run(scenario())
    assert statuses == [303] * WRITERS
    assert run(Agency.count()) == WRITERS
    assert run(AuditEvent.count().where(AuditEvent.object_type == "agency")) == WRITERS
