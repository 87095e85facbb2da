"""Phone notifications end to end without the internet: a browser's subscription made through
the app's routes, a notification stored by the service every area uses, and a push service on
127.0.0.1 (tests/unit/test_push_send.py) that receives the push, which this test decrypts with
the subscription's own key. After the push: the subscription's row as the push service left it."""

from __future__ import annotations

import json

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02, b64urlencode

from app.db import write_transaction
from app.services import notifications, push
from app.services.notifications import New
from app.tables import Agency, Notification, PushChoice, PushSubscription, Report
from tests.conftest import client_with, run
from tests.unit.test_push_send import _service, _subscription

CONTACT = "mailto:ops@qianmo.example.cn"


@pytest.fixture
def phone(db, demo, settings, tmp_path):
    """A signed-in officer's browser on an app with phone notifications configured."""
    with client_with(settings, vapid_key_file=tmp_path / "vapid.pem", vapid_contact=CONTACT) as browser:
        browser.officer = browser.sign_in_as("officer")
        yield browser


def subscribed(phone, status: int):
    """A push service answering `status`, and this browser subscribed to it."""
    server, seen = _service(status)
    sub, private, auth = _subscription(f"http://127.0.0.1:{server.server_port}/push/{status}")
    response = phone.post("/push/subscribe", json=sub, headers={"user-agent": "Phone/1.0"})
    assert response.status_code == 200 and response.json() == {"ok": True}
    return server, seen, private, auth


def notify(*items: New) -> None:
    async def go() -> None:
        await notifications.send(list(items))
        await push.drain()

    run(go())


def test_a_notification_reaches_the_subscribed_phone_decrypted(phone, tmp_path):
    server, seen, private, auth = subscribed(phone, 201)
    try:
        notify(New(person=phone.officer, kind="alert", text="两户邻居要打起来了", url="/alerts/7", urgent=True))
    finally:
        server.shutdown()
    assert len(seen) == 1
    assert seen[0]["headers"]["urgency"] == "high"
    plain = http_ece.decrypt(seen[0]["body"], private_key=private, auth_secret=auth, version="aes128gcm")
    assert json.loads(plain) == {"title": "网格警情", "body": "两户邻居要打起来了", "url": "/alerts/7"}
    row = run(PushSubscription.select().first())
    assert row["person"] == phone.officer and row["user_agent"] == "Phone/1.0"
    assert row["last_status"] == 201 and row["last_used_at"] is not None
    # The key the browser was given is the one in the key file the app made.
    key = Vapid02.from_file(str(tmp_path / "vapid.pem"))
    point = key.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    assert phone.get("/push/key").json() == {"key": b64urlencode(point)}


def test_a_subscription_the_push_service_calls_gone_is_deleted(phone):
    server, seen, _private, _auth = subscribed(phone, 410)
    try:
        notify(New(person=phone.officer, kind="alert", text="t", url="/alerts/1", urgent=True))
    finally:
        server.shutdown()
    assert len(seen) == 1
    assert run(PushSubscription.count()) == 0


def test_a_kind_the_person_turned_off_is_not_pushed_and_one_turned_on_is(phone):
    server, seen, private, auth = subscribed(phone, 201)
    # Only work orders ticked: the default "alert" is off now.
    assert phone.post("/notifications/channels", data={"kind": ["work_order"]}).status_code == 303
    try:
        notify(New(person=phone.officer, kind="alert", text="不推送", url="/alerts/2", urgent=True))
        assert seen == []
        notify(New(person=phone.officer, kind="work_order", text="工单", url="/orders/3"))
    finally:
        server.shutdown()
    assert len(seen) == 1 and seen[0]["headers"]["urgency"] == "normal"
    plain = http_ece.decrypt(seen[0]["body"], private_key=private, auth_secret=auth, version="aes128gcm")
    assert json.loads(plain)["url"] == "/orders/3"
    assert run(Notification.count()) == 2  # the list has both: only the phone was spared
    assert json.loads(run(PushChoice.select().first())["kinds"])["alert"] is False


def test_a_rolled_back_write_pushes_nothing(phone):
    server, seen, _private, _auth = subscribed(phone, 201)

    async def go() -> None:
        try:
            async with write_transaction(Notification._meta.db):
                await notifications.add([New(person=phone.officer, kind="alert", text="x", urgent=True)])
                raise RuntimeError("the caller's write fails")
        except RuntimeError:
            pass
        await push.drain()

    try:
        run(go())
    finally:
        server.shutdown()
    assert seen == [] and run(Notification.count()) == 0


def test_subscribe_refuses_what_is_not_a_subscription_and_unsubscribe_removes_it(phone):
    good, _private, _auth = _subscription("https://push.example.cn/abc")
    bad_keys = {**good, "keys": {"p256dh": "AAAA", "auth": good["keys"]["auth"]}}
    elsewhere = {**good, "endpoint": "http://push.example.cn/abc"}  # plain http off this machine
    for body in (bad_keys, elsewhere, {"endpoint": 5}):
        assert phone.post("/push/subscribe", json=body).status_code == 422
    assert phone.post("/push/subscribe", content=b"not json").status_code == 422
    assert run(PushSubscription.count()) == 0
    assert phone.post("/push/subscribe", json=good).status_code == 200
    assert phone.post("/push/subscribe", json=good).status_code == 200  # the same browser again: one row
    assert run(PushSubscription.count()) == 1
    assert phone.post("/push/unsubscribe", json={"endpoint": good["endpoint"]}).json() == {"ok": True}
    assert run(PushSubscription.count()) == 0


def test_without_a_contact_push_services_accept_phone_notifications_are_off(db, demo, settings, tmp_path):
    with client_with(settings, vapid_key_file=tmp_path / "vapid.pem", vapid_contact="") as browser:
        assert browser.get("/push/key").json() == {"key": ""}  # the public address is localhost
    assert not (tmp_path / "vapid.pem").exists()


@pytest.fixture
def resident(db, demo, settings, tmp_path):
    """A resident's browser (and, in turn, the staff's) on an app with phone notifications."""
    from app.services import report_lists

    run(report_lists.ensure_categories())
    with client_with(settings, vapid_key_file=tmp_path / "vapid.pem", vapid_contact=CONTACT) as browser:
        yield browser


def test_a_resident_who_asked_on_the_tracking_page_hears_of_the_reply_the_transfer_and_done(resident):
    from tests.integration.test_reports import form, handle, place_named, poster_code, send, tracking_of

    tracking = tracking_of(send(resident, poster_code(resident, place_named("泰和花园")), form()))
    server, seen = _service(201)
    sub, private, auth = _subscription(f"http://127.0.0.1:{server.server_port}/push/resident")
    assert resident.post(f"/t/{tracking}/push", json=sub, headers={"accept-language": "en"}).json() == {"ok": True}
    assert resident.post("/t/XXXXXXXX/push", json=sub).status_code == 404  # no such code
    row = run(PushSubscription.select().first())
    assert row["tracking"] == tracking and row["person"] is None and row["locale"] == "en"

    report_id = run(Report.select(Report.id).first())["id"]
    agency = run(Agency.select(Agency.id, Agency.name).first())
    resident.sign_in_as("officer")
    try:
        handle(resident, report_id, "accept")  # not one of the resident's steps: no push
        handle(resident, report_id, "reply", text="已联系物业，明日上门")
        handle(resident, report_id, "transfer", agency=str(agency["id"]), text="内部原因")
        handle(resident, report_id, "take_back", text="收回")
        handle(resident, report_id, "done", text="已处理")
        resident.http.blocking_portal.call(push.drain)
    finally:
        server.shutdown()
    pushed = [
        json.loads(http_ece.decrypt(s["body"], private_key=private, auth_secret=auth, version="aes128gcm"))
        for s in seen
    ]
    assert pushed == [
        {"title": "Your report: Reply", "body": "已联系物业，明日上门", "url": f"/t/{tracking}"},
        {"title": f"Your report: Transferred to {agency['name']}", "body": "", "url": f"/t/{tracking}"},
        {"title": "Your report: Done", "body": "", "url": f"/t/{tracking}"},
    ]


def test_a_resident_turns_it_off_and_a_shared_browser_keeps_the_officers_part(resident):
    from tests.integration.test_reports import form, place_named, poster_code, send, tracking_of

    tracking = tracking_of(send(resident, poster_code(resident, place_named("泰和花园")), form()))
    officer = resident.sign_in_as("officer")
    good, _private, _auth = _subscription("https://push.example.cn/shared")
    assert resident.post("/push/subscribe", json=good).status_code == 200
    assert resident.post(f"/t/{tracking}/push", json=good).status_code == 200
    row = run(PushSubscription.select().first())
    assert row["person"] == officer and row["tracking"] == tracking  # one browser, both uses
    assert resident.post(f"/t/{tracking}/push/off", json={"endpoint": good["endpoint"]}).status_code == 200
    row = run(PushSubscription.select().first())
    assert row["person"] == officer and row["tracking"] == ""
    assert resident.post("/push/unsubscribe", json={"endpoint": good["endpoint"]}).status_code == 200
    assert run(PushSubscription.count()) == 0
