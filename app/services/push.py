"""Web Push (pywebpush, VAPID), best effort: the application server's key, the browsers'
subscriptions, each person's kinds for the phone, and the pushes that follow a notification.

A push is sent after the notification's transaction commits, from a task of its own: the
write never waits for a push service (they answer in 50 ms or in 10 s, or not at all from
mainland China), and a rolled-back write pushes nothing. A failure is never raised (push is
an extra; the list, the live page and My day are the guaranteed channels); a subscription the
push service calls gone (404/410) is deleted."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import secrets
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from piccolo.engine.postgres import PostgresEngine
from py_vapid import Vapid02, b64urlencode
from pywebpush import WebPushException, webpush

from app.db import write_transaction
from app.domain import push as rules
from app.domain import reports as report_rules
from app.domain.alerts import NOTIFICATION_KINDS
from app.i18n import DEFAULT_LOCALE, N_, gettext, set_locale
from app.replicas import READ_FROM_REPLICA
from app.services import auth
from app.tables import Notification, PushChoice, PushSubscription, ReportReporter, ReportStep

log = logging.getLogger("qianmo.push")
Job = tuple[dict, bytes, bool]  # (subscription for pywebpush, payload, urgent)


@dataclass(frozen=True)
class Keys:
    key: Vapid02
    public: str  # base64url of the uncompressed point: the browser's applicationServerKey
    sub: str


@dataclass
class _Config:
    key_file: Path = Path("var/vapid_private.pem")
    contact: str = ""
    local_ok: bool = False  # the app runs on localhost: http push services on this machine too
    keys: Keys | None = None


_config = _Config()
_pending: set[asyncio.Task] = set()  # pushes under way (the loop keeps only weak references)


def configure(key_file: Path, contact: str, public_base_url: str) -> None:
    """From the settings, once per app. The key is read (or made) when first needed."""
    global _config
    _config = _Config(key_file=key_file, contact=contact or public_base_url, local_ok=rules.local_app(public_base_url))


def keys() -> Keys | None:
    """The VAPID key pair and `sub`, or None when phone notifications are off (no contact a
    push service would accept)."""
    if _config.keys is None:
        sub = rules.vapid_sub(_config.contact)
        if sub is None:
            return None
        key = _load_or_make(_config.key_file)
        point = key.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        _config.keys = Keys(key, b64urlencode(point), sub)
    return _config.keys


def _load_or_make(path: Path) -> Vapid02:
    """The key in `path`; made there first when missing. Written to a temporary file and linked
    into place, so two processes starting at once end up reading the same one."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        made = Vapid02()
        made.generate_keys()
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".vapid-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(made.private_pem())
            os.link(tmp, path)
            log.info("made a new VAPID key in %s", path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            os.unlink(tmp)
    return Vapid02.from_file(str(path))


def send_one(subscription: dict, data: bytes, urgent: bool, key: Vapid02, sub: str) -> int:
    """Push `data` to one subscription ({endpoint, keys: {p256dh, auth}}); the push service's
    HTTP status, or 0 when it could not be reached."""
    how = rules.delivery(urgent)
    claims = {"sub": sub, "aud": rules.audience(subscription["endpoint"])}
    try:
        response = webpush(
            subscription,
            data,
            vapid_private_key=key,
            vapid_claims=claims,
            ttl=how.ttl,
            headers={"Urgency": how.urgency},
            timeout=10,
        )
    except WebPushException as exc:
        return exc.response.status_code if exc.response is not None else 0
    except OSError:
        return 0
    return int(getattr(response, "status_code", 0))


# ---------------------------------------------------------------------------------------------
# Subscriptions and choices


async def subscribe(person_id: int, raw: object, user_agent: str) -> bool:
    """Keep this browser's subscription for the person (a browser has one endpoint per site: one
    that was someone else's is this person's now). False: not a subscription we can use."""
    fields = rules.subscription(raw, _config.local_ok)
    if fields is None:
        return False
    await _keep(fields["endpoint"], {**fields, "user_agent": user_agent[:300], "person": person_id})
    return True


async def _keep(endpoint: str, values: dict) -> None:
    """Insert the browser's row, or update it (the row's other use stays)."""
    async with write_transaction(PushSubscription._meta.db):
        found = await PushSubscription.select(PushSubscription.id).where(PushSubscription.endpoint == endpoint).first()
        if found is None:
            await PushSubscription.insert(PushSubscription(**values))
        else:
            await PushSubscription.update(values).where(PushSubscription.id == found["id"])


async def unsubscribe(person_id: int, endpoint: str) -> None:
    """The person's own subscription for this browser stops: kept only while it also serves a
    resident's tracking code."""
    mine = (PushSubscription.endpoint == endpoint) & (PushSubscription.person == person_id)
    async with write_transaction(PushSubscription._meta.db):
        await PushSubscription.delete().where(mine & (PushSubscription.tracking == ""))
        await PushSubscription.update({PushSubscription.person: None}).where(mine)


async def known_tracking(code: str) -> str | None:
    """The tracking code as stored, when a resident holds it."""
    tracking = report_rules.normalise_code(code)
    if tracking is None:
        return None
    found = await ReportReporter.select(ReportReporter.id).where(ReportReporter.tracking == tracking).first()
    return tracking if found else None


async def subscribe_tracking(tracking: str, raw: object, user_agent: str, locale: str) -> bool:
    """A resident's "notify me on this phone" for one tracking code (known_tracking): the
    browser's row serves this code from now on (one code per browser: the latest)."""
    fields = rules.subscription(raw, _config.local_ok)
    if fields is None:
        return False
    values = {**fields, "user_agent": user_agent[:300], "tracking": tracking, "locale": locale[:8]}
    await _keep(fields["endpoint"], values)
    return True


async def unsubscribe_tracking(tracking: str, endpoint: str) -> None:
    theirs = (PushSubscription.endpoint == endpoint) & (PushSubscription.tracking == tracking)
    async with write_transaction(PushSubscription._meta.db):
        await PushSubscription.delete().where(theirs & PushSubscription.person.is_null())
        await PushSubscription.update({PushSubscription.tracking: ""}).where(theirs)


async def subscribed_count(person_id: int) -> int:
    return await PushSubscription.count().where(PushSubscription.person == person_id)


async def choices(person_id: int) -> set[str]:
    """The kinds this person gets on the phone (their ticks over the defaults)."""
    row = await PushChoice.select(PushChoice.kinds).where(PushChoice.person == person_id).first()
    return rules.phone_kinds(_parsed(row["kinds"]) if row else {})


async def save_choices(person_id: int, ticked: list[str]) -> None:
    kinds = json.dumps(rules.chosen(ticked), sort_keys=True)
    async with write_transaction(PushChoice._meta.db):
        done = (
            await PushChoice.update({PushChoice.kinds: kinds, PushChoice.updated_at: auth.now()})
            .where(PushChoice.person == person_id)
            .returning(PushChoice.id)
        )
        if not done:
            await PushChoice.insert(PushChoice(person=person_id, kinds=kinds))


def _parsed(text: str) -> dict[str, bool]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return {str(k): bool(v) for k, v in value.items()} if isinstance(value, dict) else {}


# ---------------------------------------------------------------------------------------------
# Pushing what was notified


async def after_commit(notification_ids: list[int]) -> None:
    """Called inside the write transaction that stored these notifications: their pushes go out
    from a task once it has committed (nothing when it rolls back)."""
    await _schedule(_notification_jobs, notification_ids)


async def report_steps(step_ids: list[int]) -> None:
    """Called inside the write transaction that added these steps to reports: the residents who
    asked on a tracking page hear of a reply, an agency's answer, done or a transfer."""
    await _schedule(_report_jobs, step_ids)


async def _schedule(jobs: Callable[[list[int]], Awaitable[list[Job]]], ids: list[int]) -> None:
    """The task that waits for the caller's commit, then pushes `jobs(ids)`.

    PostgreSQL: the transaction takes an advisory lock no one else knows (a random key); the
    task waits for that lock, which the commit (or rollback) releases. SQLite has one writer at
    a time: the task's empty write transaction begins only after this one ends."""
    if not ids or keys() is None:
        return
    db = Notification._meta.db
    lock = None
    if isinstance(db, PostgresEngine):
        lock = secrets.randbits(62)
        await Notification.raw("SELECT pg_advisory_xact_lock({})", lock)
    # The task must not run inside the caller's transaction (Piccolo finds it in a ContextVar)
    # and must read the primary.
    context = contextvars.copy_context()
    context.run(db.current_transaction.set, None)
    context.run(READ_FROM_REPLICA.set, False)
    task = asyncio.get_running_loop().create_task(_deliver(jobs, ids, lock), context=context)
    _pending.add(task)
    task.add_done_callback(_pending.discard)


async def drain() -> None:
    """Wait for the pushes under way (tests; a shutdown)."""
    while _pending:
        await asyncio.gather(*list(_pending), return_exceptions=True)


async def _deliver(make: Callable[[list[int]], Awaitable[list[Job]]], ids: list[int], lock: int | None) -> None:
    try:
        await _committed(lock)
        jobs = await make(ids)
        if not jobs:
            return
        found = keys()
        assert found is not None
        statuses = await asyncio.gather(
            *(asyncio.to_thread(send_one, sub, data, urgent, found.key, found.sub) for sub, data, urgent in jobs)
        )
        await _record([(sub["id"], status) for (sub, _d, _u), status in zip(jobs, statuses)])
    except Exception:  # noqa: BLE001 - best effort: a push never breaks anything else
        log.warning("pushing %s %s failed", make.__name__, ids, exc_info=True)


async def _committed(lock: int | None) -> None:
    """Returns once the caller's transaction has ended (committed or not)."""
    db = Notification._meta.db
    if lock is None:
        async with write_transaction(db):
            pass
        return
    async with db.transaction():
        await Notification.raw("SELECT pg_advisory_xact_lock({})", lock)


async def _notification_jobs(notification_ids: list[int]) -> list[Job]:
    """(subscription, payload, urgent) for each notification of a kind its person wants on the
    phone, to each of the person's browsers."""
    rows = await Notification.select(
        Notification.id,
        Notification.person,
        Notification.kind,
        Notification.text,
        Notification.url,
        Notification.urgent,
        Notification.person.locale.as_alias("locale"),
    ).where(Notification.id.is_in(notification_ids))
    people = sorted({r["person"] for r in rows})
    if not people:
        return []
    subs: dict[int, list[dict]] = {}
    for s in await PushSubscription.select().where(PushSubscription.person.is_in(people)):
        subs.setdefault(s["person"], []).append(s)
    if not subs:
        return []
    picked = {
        c["person"]: rules.phone_kinds(_parsed(c["kinds"]))
        for c in await PushChoice.select().where(PushChoice.person.is_in(list(subs)))
    }
    jobs: list[Job] = []
    for r in rows:
        if r["person"] not in subs or r["kind"] not in picked.get(r["person"], rules.phone_kinds({})):
            continue
        set_locale(r["locale"] or DEFAULT_LOCALE)  # the task's own context: the person's language
        data = rules.payload(gettext(NOTIFICATION_KINDS.get(r["kind"], r["kind"])), r["text"], r["url"])
        jobs.extend((_webpush_form(s), data, bool(r["urgent"])) for s in subs[r["person"]])
    return jobs


async def _report_jobs(step_ids: list[int]) -> list[Job]:
    """A push for each resident step (domain/push.RESIDENT_STEPS) to each browser subscribed with
    a tracking code of that report, in the language of the page they subscribed on."""
    steps = await ReportStep.select(
        ReportStep.id,
        ReportStep.report,
        ReportStep.kind,
        ReportStep.text,
        ReportStep.agency.name.as_alias("agency_name"),
    ).where(
        ReportStep.id.is_in(step_ids) & ReportStep.public.eq(True) & ReportStep.kind.is_in(list(rules.RESIDENT_STEPS))
    )
    if not steps:
        return []
    codes = await ReportReporter.select(ReportReporter.report, ReportReporter.tracking).where(
        ReportReporter.report.is_in(sorted({s["report"] for s in steps}))
    )
    subs = await PushSubscription.select().where(
        PushSubscription.tracking.is_in([c["tracking"] for c in codes] or [""])
    )
    by_code: dict[str, list[dict]] = {}
    for sub in subs:
        by_code.setdefault(sub["tracking"], []).append(sub)
    jobs: list[Job] = []
    for step in steps:
        for code in (c["tracking"] for c in codes if c["report"] == step["report"]):
            for sub in by_code.get(code, []):
                set_locale(sub["locale"] or DEFAULT_LOCALE)
                label = gettext(report_rules.STEPS[step["kind"]][0], agency=step["agency_name"] or "")
                title = gettext(N_("Your report: %(step)s"), step=label)
                body = step["text"] if rules.RESIDENT_STEPS[step["kind"]] else ""
                jobs.append((_webpush_form(sub), rules.payload(title, body, f"/t/{code}"), False))
    return jobs


def _webpush_form(row: dict) -> dict:
    return {"id": row["id"], "endpoint": row["endpoint"], "keys": {"p256dh": row["p256dh"], "auth": row["auth"]}}


async def _record(results: list[tuple[int, int]]) -> None:
    """Each subscription's answer kept; those the push service calls gone deleted."""
    gone = [sid for sid, status in results if rules.gone(status)]
    async with write_transaction(PushSubscription._meta.db):
        if gone:
            await PushSubscription.delete().where(PushSubscription.id.is_in(gone))
        for sid, status in results:
            if sid in gone:
                continue
            values: dict = {PushSubscription.last_status: status}
            if 200 <= status < 300:
                values[PushSubscription.last_used_at] = auth.now()
            await PushSubscription.update(values).where(PushSubscription.id == sid)
