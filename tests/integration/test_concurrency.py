"""Concurrent writers must queue for SQLite's lock, not fail with "database is locked"."""
import asyncio

from litestar.testing import AsyncTestClient

from app.main import create_app
from app.tables import Agency, AuditEvent
from tests.conftest import run

WRITERS = 25


def run_sync_person(role: str) -> int:
    import threading

    from app.tables import PersonRole

    result = {}

    def lookup() -> None:
        result["id"] = run(PersonRole.select(PersonRole.person).where(PersonRole.role == role).first())["person"]

    thread = threading.Thread(target=lookup)  # asyncio.run cannot nest inside the running loop
    thread.start()
    thread.join()
    return result["id"]


def test_concurrent_creates_all_succeed(demo, settings):
    async def scenario() -> list[int]:
        async with AsyncTestClient(app=create_app(settings), base_url="http://testserver.local") as http:
            await http.get("/offline")
            token = http.cookies["qianmo_csrf"]
            admin = run_sync_person("admin")
            await http.post("/signin/demo", data={"person": str(admin)}, headers={"x-csrftoken": token})

            async def create(i: int) -> int:
                response = await http.post(
                    "/admin/org/agency/new",
                    data={"name": f"机构{i}", "code": f"T-{i}", "kind": "other"},
                    headers={"x-csrftoken": token},
                    follow_redirects=False,
                )
                return response.status_code

            return await asyncio.gather(*(create(i) for i in range(WRITERS)))

    statuses = run(scenario())
    assert statuses == [303] * WRITERS
    assert run(Agency.count().where(Agency.code.like("T-%"))) == WRITERS
    assert run(AuditEvent.count().where((AuditEvent.object_type == "agency") & (AuditEvent.action == "create"))) == WRITERS
