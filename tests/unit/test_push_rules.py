import base64
import json

from app.domain import push
from app.domain.alerts import NOTIFICATION_KINDS


def test_every_kind_is_listed_and_defaults_hold():
    assert push.kinds() == list(NOTIFICATION_KINDS)
    assert push.DEFAULT_PHONE_KINDS <= set(NOTIFICATION_KINDS)
    assert push.phone_kinds({}) == set(push.DEFAULT_PHONE_KINDS)


def test_a_person_unticks_and_ticks():
    chosen = push.phone_kinds({"alert": False, "work_order": True, "no_such_kind": True})
    assert "alert" not in chosen
    assert "work_order" in chosen
    assert "no_such_kind" not in chosen
    assert "alert_escalated" in chosen


def test_ttl_and_urgency():
    assert push.delivery(True) == push.Delivery(3600, "high")
    assert push.delivery(False) == push.Delivery(86400, "normal")


def test_payload_is_small_and_stays_on_the_site():
    data = json.loads(push.payload("告" * 200, "b" * 500, "/alerts/3"))
    assert len(data["title"]) == push.MAX_TITLE and data["title"].endswith("…")
    assert len(data["body"]) == push.MAX_BODY
    assert data["url"] == "/alerts/3"
    assert json.loads(push.payload("t", "b", "https://evil.example/"))["url"] == "/"
    assert json.loads(push.payload("t", "b", "//evil.example/"))["url"] == "/"


def test_vapid_sub_refuses_what_apple_refuses():
    assert push.vapid_sub("ops@qianmo.example.cn") == "mailto:ops@qianmo.example.cn"
    assert push.vapid_sub("mailto:ops@qianmo.example.cn") == "mailto:ops@qianmo.example.cn"
    assert push.vapid_sub("https://qianmo.example.cn/contact") == "https://qianmo.example.cn/contact"
    for bad in ("", "mailto:me@localhost", "admin@box.local", "https://localhost/", "me@host"):
        assert push.vapid_sub(bad) is None


def test_audience_and_gone():
    assert push.audience("http://127.0.0.1:8123/push/abc?x=1") == "http://127.0.0.1:8123"
    assert push.gone(404) and push.gone(410)
    assert not push.gone(429) and not push.gone(500)


def _keys(public_len: int = 65, auth_len: int = 16) -> dict:
    b64 = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")  # noqa: E731
    return {"p256dh": b64(b"\x04" + b"k" * (public_len - 1)), "auth": b64(b"a" * auth_len)}


def test_a_subscription_is_https_with_a_p256_key_and_a_16_byte_secret():
    good = {"endpoint": "https://updates.push.services.mozilla.com/wpush/v2/abc", "keys": _keys()}
    assert push.subscription(good) == {"endpoint": good["endpoint"], **good["keys"]}
    for bad in (
        {**good, "endpoint": "http://push.example.cn/x"},
        {**good, "endpoint": "https://user:pw@push.example.cn/x"},
        {**good, "endpoint": "https://push.example.cn/" + "x" * 1000},
        {**good, "keys": _keys(public_len=33)},
        {**good, "keys": _keys(auth_len=8)},
        {**good, "keys": {"p256dh": "***", "auth": "***"}},
        {"endpoint": good["endpoint"]},
        "not a dict",
    ):
        assert push.subscription(bad) is None
    local = {**good, "endpoint": "http://127.0.0.1:8123/push/1"}
    assert push.subscription(local) is None
    assert push.subscription(local, local_ok=True) is not None


def test_local_app_and_chosen():
    assert push.local_app("http://localhost:8000") and push.local_app("http://127.0.0.1:8000")
    assert not push.local_app("https://qianmo.example.cn") and not push.local_app("http://qianmo.example.cn")
    ticks = push.chosen(["work_order", "not_a_kind"])
    assert set(ticks) == set(NOTIFICATION_KINDS) and ticks["work_order"] and not ticks["alert"]
    assert push.phone_kinds(ticks) == {"work_order"}
