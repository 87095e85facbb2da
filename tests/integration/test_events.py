"""The live stream (/events) on real app servers: an alert reaches the officer's open stream;
a reconnect with Last-Event-ID replays exactly what was missed, in order. On PostgreSQL the
alert is posted to a second process (LISTEN/NOTIFY); on SQLite there is one process.

No timing is asserted: a read that never comes fails the test at a generous deadline instead
of hanging it."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from app.services import alerts, notifications
from app.services.notifications import New
from app.tables import Grid, Notification, PersonRole
from tests.conftest import TEST_SERVER_URL, run
from tests.live import free_port, serving

DEADLINE = 60.0  # seconds: only a broken stream takes this long
STREAM = {"accept": "text/event-stream"}


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> list[str]:
    """One app process on SQLite, two on PostgreSQL (the alert goes to the second)."""
    tmp = tmp_path_factory.mktemp("events")
    env = {
        **os.environ,
        "QIANMO_DEMO": "1",
        "QIANMO_SECRET_KEY": "events-" + uuid.uuid4().hex,
        "QIANMO_UPLOAD_DIR": str(tmp / "uploads"),
        "QIANMO_JOBS_EVERY_SECONDS": "0",
        # Longer than DEADLINE: a ping's re-read cannot stand in for the wake-up (LISTEN/NOTIFY).
        "QIANMO_EVENTS_PING_SECONDS": "600",
    }
    ports = [free_port()]
    if TEST_SERVER_URL:
        ports.append(next(p for p in iter(free_port, None) if p != ports[0]))
    with serving(env, ports[0], tmp / "first.log"):
        if len(ports) == 1:
            yield [f"http://127.0.0.1:{ports[0]}"]
        else:
            with serving(env, ports[1], tmp / "second.log"):
                yield [f"http://127.0.0.1:{p}" for p in ports]


async def signed_in(base_url: str, person: int) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=base_url, timeout=DEADLINE)
    await http.get("/offline")
    response = await http.post(
        "/signin/demo", data={"person": str(person), "next": "/"}, headers={"x-csrftoken": http.cookies["qianmo_csrf"]}
    )
    assert response.status_code == 303
    return http


async def events(lines: AsyncIterator[str]) -> AsyncIterator[dict]:
    """The stream's events as {"event", "id", "data"} (comments, i.e. pings, skipped)."""
    event: dict = {}
    async for line in lines:
        if not line:
            if event:
                yield event
            event = {}
        elif not line.startswith(":"):
            name, _sep, value = line.partition(":")
            event[name] = value.removeprefix(" ")


async def next_event(stream: AsyncIterator[dict], kind: str) -> dict:
    async def find() -> dict:
        async for event in stream:
            if event.get("event") == kind:
                return event
        raise AssertionError("the stream ended")

    return await asyncio.wait_for(find(), DEADLINE)


def people() -> tuple[int, int, int]:
    grid = run(Grid.select(Grid.id).where(Grid.code == "TH-04").first())["id"]
    officer = run(alerts.chain_for(grid)).at(0)[0]
    worker = run(PersonRole.select(PersonRole.person).where(PersonRole.role == "grid_worker").first())["person"]
    return grid, officer, worker


async def post_alert(http: httpx.AsyncClient, grid: int, text: str) -> None:
    response = await http.post(
        "/alerts/new",
        data={"client_uuid": str(uuid.uuid4()), "text": text, "urgency": "urgent", "grid": str(grid)},
        headers={"x-csrftoken": http.cookies["qianmo_csrf"]},
    )
    assert response.status_code == 303, response.text


def test_an_alert_reaches_the_officers_open_stream_and_the_acknowledgement_the_senders(demo, servers):
    grid, officer, worker = people()

    async def scenario() -> tuple[dict, dict]:
        officer_http = await signed_in(servers[0], officer)
        worker_http = await signed_in(servers[-1], worker)
        try:
            async with (
                officer_http.stream("GET", "/events", headers=STREAM) as officer_response,
                worker_http.stream("GET", "/events", headers=STREAM) as worker_response,
            ):
                assert officer_response.headers["content-type"].startswith("text/event-stream")
                officer_events = events(officer_response.aiter_lines())
                worker_events = events(worker_response.aiter_lines())
                await next_event(officer_events, "hello")  # connected: what follows is live
                await next_event(worker_events, "hello")
                await post_alert(worker_http, grid, "两个邻居要打起来了")
                alert_event = await next_event(officer_events, "notification")
                alert_id = json.loads(alert_event["data"])["url"].rsplit("/", 1)[1]
                ack = await officer_http.post(
                    f"/alerts/{alert_id}/acknowledge",
                    data={"kind": "on_my_way"},
                    headers={"x-csrftoken": officer_http.cookies["qianmo_csrf"]},
                )
                assert ack.status_code == 303
                return alert_event, await next_event(worker_events, "notification")
        finally:
            await officer_http.aclose()
            await worker_http.aclose()

    alert_event, ack_event = asyncio.run(scenario())
    data = json.loads(alert_event["data"])
    assert data["kind"] == "alert" and data["text"] == "两个邻居要打起来了" and data["urgent"] is True
    officer_rows = run(Notification.select(Notification.id, Notification.kind).where(Notification.person == officer))
    assert [(str(r["id"]), r["kind"]) for r in officer_rows] == [(alert_event["id"], "alert")]
    assert json.loads(ack_event["data"])["kind"] == "alert_on_my_way"


def test_a_reconnect_with_last_event_id_gets_exactly_the_missed_events_in_order(demo, servers):
    grid, officer, worker = people()
    run(notifications.send([New(person=officer, kind="work_order", text=f"第{i}件") for i in range(5)]))
    ids = [
        r["id"]
        for r in run(
            Notification.select(Notification.id).where(Notification.person == officer).order_by(Notification.id)
        )
    ]

    async def scenario() -> list[dict]:
        officer_http = await signed_in(servers[0], officer)
        worker_http = await signed_in(servers[-1], worker)
        try:
            got = []
            async with officer_http.stream(
                "GET", "/events", headers={**STREAM, "last-event-id": str(ids[1])}
            ) as response:
                stream = events(response.aiter_lines())
                hello = await next_event(stream, "hello")
                assert hello["id"] == str(ids[1])  # where a reconnect before any event resumes
                for _ in range(3):
                    got.append(await next_event(stream, "notification"))
                # Then only what is new: the next event is the alert posted now, nothing twice.
                await post_alert(worker_http, grid, "又来了")
                got.append(await next_event(stream, "notification"))
            return got
        finally:
            await officer_http.aclose()
            await worker_http.aclose()

    got = asyncio.run(scenario())
    assert [e["id"] for e in got[:3]] == [str(i) for i in ids[2:]]
    assert [json.loads(e["data"])["text"] for e in got[:3]] == ["第2件", "第3件", "第4件"]
    assert json.loads(got[3]["data"])["text"] == "又来了" and int(got[3]["id"]) > ids[-1]


def test_without_an_event_stream_accept_the_answer_is_a_poll_that_ends(demo, servers):
    _grid, officer, _worker = people()
    run(notifications.send([New(person=officer, kind="work_order", text="一件")]))

    async def poll() -> str:
        http = await signed_in(servers[0], officer)
        try:
            response = await http.get("/events?after=0")
            return response.text
        finally:
            await http.aclose()

    text = asyncio.run(poll())  # it returns: the answer ended
    assert "event: hello" in text and "一件" in text
