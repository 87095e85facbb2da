"""Grid alerts (/alerts), the notification list (/notifications), its channels page, the live
stream (/events) and the browser's Web Push subscription (/push).

/events is one Server-Sent Events stream per signed-in person: each event is a notification
(its id is the event id), read from the database after the last id the client has, so a
reconnect with Last-Event-ID replays exactly what was missed, in order."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncGenerator

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import File, Redirect, ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage

from app.domain import alerts as rules
from app.domain.access import Principal
from app.domain.photos import MAX_BYTES
from app.i18n import N_, gettext
from app.routes.guards import Me, requires, signed_in
from app.routes.uploads import form_fields, form_photo, photo_response
from app.services import alerts, events, notifications, push

POSTERS = ("grid_worker", "officer", "supervisor", "admin", "volunteer")
KEEPERS = ("supervisor", "admin")
NO_STORE = {"Cache-Control": "no-store"}
STREAM_SECONDS = 600.0  # then the browser reconnects (and the session is checked again)
DONE = {
    "posted": N_("Alert sent. The grid's officer sees it now."),
    "acknowledged": N_("The sender sees that you acknowledged."),
    "closed": N_("Alert closed."),
    "saved": N_("Saved."),
}


class AlertsController(Controller):
    path = "/alerts"
    include_in_schema = False

    @get("/", name="alerts_list", guards=[requires(*POSTERS)])
    async def index(self, me: Me) -> Template:
        return Template(
            "alerts/list.html",
            headers=NO_STORE,
            context={"rows": await alerts.listing(me), "alert_acks": rules.ACKS, "alert_states": rules.STATES},
        )

    @get("/new", name="alert_new", guards=[requires(*POSTERS)])
    async def new(self, me: Me) -> Template:
        return await _form(me, {"client_uuid": str(uuid.uuid4()), "urgency": "urgent"}, {})

    @post("/new", name="alert_create", guards=[requires(*POSTERS)], status_code=200)
    async def create(self, request: Request, me: Me) -> Template | Redirect:
        raw = await form_fields(request)
        outcome = await alerts.post(me, raw, await form_photo(request), request.app.state.settings.upload_dir)
        if outcome.errors:
            return await _form(me, raw, outcome.errors, status_code=422)
        if outcome.id is None:
            raise NotFoundException()
        return Redirect(f"/alerts/{outcome.id}?done=posted", status_code=303)

    @get("/{alert_id:int}", name="alert_detail", guards=[requires(*POSTERS)])
    async def detail(self, me: Me, alert_id: FromPath[int], done: FromQuery[str] = "") -> Template:
        return await _detail(me, alert_id, done=DONE.get(done, ""))

    @post("/{alert_id:int}/acknowledge", name="alert_acknowledge", guards=[requires(*POSTERS)], status_code=200)
    async def acknowledge(self, request: Request, me: Me, alert_id: FromPath[int]) -> Template | Redirect:
        raw = await form_fields(request)
        outcome = await alerts.acknowledge(me, alert_id, str(raw.get("kind", "")))
        if outcome.refusal:
            return await _detail(me, alert_id, refusal=outcome.refusal, status_code=422)
        return Redirect(f"/alerts/{alert_id}?done=acknowledged", status_code=303)

    @post("/{alert_id:int}/close", name="alert_close", guards=[requires(*POSTERS)], status_code=200)
    async def close(self, request: Request, me: Me, alert_id: FromPath[int]) -> Template | Redirect:
        raw = await form_fields(request)
        outcome = await alerts.close(me, alert_id, raw)
        if outcome.refusal or outcome.errors:
            return await _detail(
                me, alert_id, refusal=outcome.refusal, errors=outcome.errors, values=raw, status_code=422
            )
        return Redirect(f"/alerts/{alert_id}?done=closed", status_code=303)

    @get("/photos/{photo_id:int}", name="alert_photo", guards=[requires(*POSTERS)])
    async def photo(self, request: Request, me: Me, photo_id: FromPath[int]) -> File:
        return photo_response(await alerts.photo_file(me, photo_id, request.app.state.settings.upload_dir))

    @get("/settings", name="alert_settings", guards=[requires(*KEEPERS)])
    async def settings(self, me: Me, done: FromQuery[str] = "") -> Template:
        return await _settings(me, done=DONE.get(done, ""))

    @post("/settings/{station_id:int}", name="alert_settings_save", guards=[requires(*KEEPERS)], status_code=200)
    async def save_settings(self, request: Request, me: Me, station_id: FromPath[int]) -> Template | Redirect:
        raw = await form_fields(request)
        outcome = await alerts.save_setting(me, station_id, raw)
        if outcome.refusal:
            raise NotFoundException()
        if outcome.errors:
            return await _settings(me, errors={station_id: outcome.errors}, values=raw, status_code=422)
        return Redirect("/alerts/settings?done=saved", status_code=303)


async def _form(me: Principal, values: dict, errors: dict, status_code: int = 200) -> Template:
    return Template(
        "alerts/form.html",
        status_code=status_code,
        headers=NO_STORE,
        context={
            "values": values,
            "errors": errors,
            "grids": await alerts.form_choices(me),
            "urgencies": rules.URGENCIES,
            "max_photo": MAX_BYTES,
        },
    )


async def _detail(
    me: Principal,
    alert_id: int,
    done: str = "",
    refusal: str = "",
    errors: dict | None = None,
    values: dict | None = None,
    status_code: int = 200,
) -> Template:
    alert = await alerts.get(me, alert_id)
    if alert is None:
        raise NotFoundException()
    return Template(
        "alerts/detail.html",
        status_code=status_code,
        headers=NO_STORE,
        context={
            "a": alert,
            "done": done,
            "refusal": refusal,
            "errors": errors or {},
            "values": values or {},
            "urgencies": rules.URGENCIES,
            "states": rules.STATES,
            "steps": rules.STEPS,
            "acks": rules.ACKS,
        },
    )


async def _settings(
    me: Principal, done: str = "", errors: dict | None = None, values: dict | None = None, status_code: int = 200
) -> Template:
    return Template(
        "alerts/settings.html",
        status_code=status_code,
        headers=NO_STORE,
        context={
            "stations": await alerts.settings_for(me),
            "done": done,
            "errors": errors or {},
            "values": values or {},
        },
    )


class NotificationsController(Controller):
    include_in_schema = False
    guards = [signed_in]

    @get("/notifications", name="notifications")
    async def index(self, me: Me) -> Template:
        return Template(
            "alerts/notifications.html",
            headers=NO_STORE,
            context={"rows": await notifications.listing(me), "kinds": rules.NOTIFICATION_KINDS},
        )

    @get("/notifications/channels", name="notification_channels")
    async def channels(self, me: Me, done: FromQuery[str] = "") -> Template:
        return Template(
            "alerts/channels.html",
            headers=NO_STORE,
            context={
                "kinds": rules.NOTIFICATION_KINDS,
                "phone": await push.choices(me.id),
                "phones": await push.subscribed_count(me.id),
                "push_ready": push.keys() is not None,
                "done": DONE.get(done, ""),
            },
        )

    @post("/notifications/channels", name="notification_channels_save", status_code=200)
    async def save_channels(self, request: Request, me: Me) -> Redirect:
        raw = await form_fields(request, lists=("kind",))
        await push.save_choices(me.id, [str(k) for k in raw.get("kind", [])])
        return Redirect("/notifications/channels?done=saved", status_code=303)

    @post("/notifications/read", name="notifications_read", status_code=200)
    async def read_all(self, me: Me) -> Redirect:
        await notifications.mark_read(me)
        return Redirect("/notifications", status_code=303)

    @post("/notifications/{notification_id:int}/open", name="notification_open", status_code=200)
    async def open(self, me: Me, notification_id: FromPath[int]) -> Redirect:
        url = await notifications.opened(me, notification_id)
        if url is None:
            raise NotFoundException()
        return Redirect(url, status_code=303)

    @get("/events", name="events")
    async def events(self, request: Request, me: Me, after: FromQuery[int | None] = None) -> ServerSentEvent:
        """The person's live stream. Where it starts: after Last-Event-ID (a reconnect), else
        after `after` (the newest id the page knew), else after the newest now. A client that
        does not ask for an event stream (EventSource always does) gets what is waiting and the
        answer ends: a poll."""
        header = request.headers.get("last-event-id", "")
        start = int(header) if header.isdecimal() else after
        if start is None:
            start = await notifications.newest_id(me.id)
        return ServerSentEvent(
            _stream(
                me,
                start,
                live="text/event-stream" in request.headers.get("accept", ""),
                ping=request.app.state.settings.events_ping_seconds,
            ),
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )


class PushController(Controller):
    """The browser's side of Web Push: the server's public key, and this browser's subscription
    for the signed-in person (JSON from static/js/channels.js, the CSRF token in its header)."""

    path = "/push"
    include_in_schema = False

    @get("/key", name="push_key")
    async def key(self) -> Response:
        """The VAPID public key (applicationServerKey); "" when phone notifications are off."""
        found = push.keys()
        return Response({"key": found.public if found else ""}, headers={"Cache-Control": "no-cache"})

    @post("/subscribe", name="push_subscribe", guards=[signed_in], status_code=200)
    async def subscribe(self, request: Request, me: Me) -> Response:
        ok = await push.subscribe(me.id, await _json(request), request.headers.get("user-agent", ""))
        return Response({"ok": ok}, status_code=200 if ok else 422, headers=NO_STORE)

    @post("/unsubscribe", name="push_unsubscribe", guards=[signed_in], status_code=200)
    async def unsubscribe(self, request: Request, me: Me) -> Response:
        body = await _json(request)
        endpoint = body.get("endpoint") if isinstance(body, dict) else None
        if isinstance(endpoint, str):
            await push.unsubscribe(me.id, endpoint)
        return Response({"ok": isinstance(endpoint, str)}, headers=NO_STORE)


async def _json(request: Request) -> object:
    try:
        return json.loads(await request.body())
    except ValueError:
        return None


def _message(row: dict) -> ServerSentEventMessage:
    data = {
        "id": row["id"],
        "kind": row["kind"],
        "title": gettext(rules.NOTIFICATION_KINDS.get(row["kind"], row["kind"])),
        "text": row["text"],
        "url": row["url"],
        "urgent": bool(row["urgent"]),
    }
    return ServerSentEventMessage(data=json.dumps(data, ensure_ascii=False), event="notification", id=str(row["id"]))


async def _stream(
    me: Principal, after: int, live: bool = True, ping: float = 15.0
) -> AsyncGenerator[ServerSentEventMessage, None]:
    """Woken by services/events (or every `ping` seconds, which also catches anything a lost
    NOTIFY left behind), it sends what the table holds after the last id sent. It ends after
    STREAM_SECONDS: EventSource reconnects at once with Last-Event-ID, and the reconnect passes
    the session check again (a revoked phone stops hearing alerts)."""
    wake = events.HUB.subscribe(me.id)
    ends = asyncio.get_running_loop().time() + STREAM_SECONDS
    try:
        # Its id is where the stream starts: a reconnect before any notification came resumes there.
        yield ServerSentEventMessage(
            event="hello",
            data=json.dumps({"unread": await notifications.unread_count(me.id)}),
            id=str(after),
            retry=3000,
        )
        while True:
            wake.clear()
            rows, unread = await events.HUB.read(me.id, after, notifications.news)
            for row in rows:
                yield _message(row)
                after = row["id"]
            if rows:
                yield ServerSentEventMessage(event="unread", data=str(unread))
                continue
            if not live or asyncio.get_running_loop().time() > ends:
                return
            try:
                await asyncio.wait_for(wake.wait(), ping)
            except TimeoutError:
                yield ServerSentEventMessage(comment="ping")
    finally:
        events.HUB.unsubscribe(me.id, wake)
