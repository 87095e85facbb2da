"""Web Push's pure rules: which notification kinds go to the phone by default, how long a push
may wait at the push service and how urgent it is, the small payload, and a VAPID `sub` that
every push service accepts. Sending (pywebpush) is a service's; this decides nothing by I/O."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.domain.alerts import NOTIFICATION_KINDS

# On the phone unless the person unticks them: what must reach someone at once (an urgent
# alert, its escalation, the acknowledgement the sender waits for, a volunteer's urgent
# observation). The rest is seen soon enough in the in-app list and My day.
DEFAULT_PHONE_KINDS = frozenset(
    {"alert", "alert_escalated", "alert_on_my_way", "alert_seen", "observation", "observation_acknowledged"}
)

# The report steps a resident who asked on the tracking page is told of (True: the step's own
# words are the push's body — a reply is what they wait to read).
RESIDENT_STEPS = {"reply": True, "answered": True, "done": False, "transferred": False}

URGENT_TTL = 3600  # an urgent alert older than an hour is news for My day, not a buzz
NORMAL_TTL = 86400
MAX_TITLE = 80
MAX_BODY = 160
MAX_URL = 200


def kinds() -> list[str]:
    """Every notification kind, from the one list in code: a kind added there appears here."""
    return list(NOTIFICATION_KINDS)


def phone_kinds(chosen: dict[str, bool]) -> set[str]:
    """The kinds a person receives on the phone: their own ticks over the defaults."""
    return {k for k in NOTIFICATION_KINDS if chosen.get(k, k in DEFAULT_PHONE_KINDS)}


@dataclass(frozen=True)
class Delivery:
    ttl: int
    urgency: str  # RFC 8030: very-low | low | normal | high


def delivery(urgent: bool) -> Delivery:
    return Delivery(URGENT_TTL, "high") if urgent else Delivery(NORMAL_TTL, "normal")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def payload(title: str, body: str, url: str) -> bytes:
    """The push's JSON, kept small (push services cap it near 4 kB); only a local path as url,
    so a push can never open another site."""
    if not url.startswith("/") or url.startswith("//"):
        url = "/"
    data = {"title": _cut(title, MAX_TITLE), "body": _cut(body, MAX_BODY), "url": url[:MAX_URL]}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def vapid_sub(contact: str) -> str | None:
    """The VAPID `sub` claim from a setting: a mailto: (or https:) contact, or None when a push
    service would refuse it (Apple refuses localhost and .local)."""
    contact = contact.strip()
    if not contact:
        return None
    if "://" not in contact and not contact.startswith("mailto:"):
        contact = "mailto:" + contact
    host = contact.rsplit("@", 1)[-1] if contact.startswith("mailto:") else (urlsplit(contact).hostname or "")
    host = host.lower().rstrip(".")
    if not host or host == "localhost" or host.endswith((".local", ".localhost")) or "." not in host:
        return None
    return contact


def audience(endpoint: str) -> str:
    """The VAPID `aud` claim: the push endpoint's origin."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def gone(status: int) -> bool:
    """The push service says the subscription no longer exists: delete it."""
    return status in (404, 410)


def _b64url_bytes(value: object) -> bytes | None:
    if not isinstance(value, str) or not value or len(value) > 200:
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, binascii.Error):
        return None


LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def subscription(raw: object, local_ok: bool = False) -> dict | None:
    """A browser's PushSubscription.toJSON() checked: {endpoint, p256dh, auth}, or None.
    The server will POST to the endpoint, so only https (http to this machine only when the
    app itself runs on localhost: a developer's or a test's push service)."""
    if not isinstance(raw, dict):
        return None
    endpoint = raw.get("endpoint")
    keys = raw.get("keys")
    if not isinstance(keys, dict):
        return None
    if not isinstance(endpoint, str) or not endpoint_ok(endpoint, local_ok):
        return None
    public, auth = _b64url_bytes(keys.get("p256dh")), _b64url_bytes(keys.get("auth"))
    # An uncompressed P-256 point (65 bytes, 0x04 first) and a 16-byte secret (RFC 8291).
    if public is None or len(public) != 65 or public[0] != 4 or auth is None or len(auth) != 16:
        return None
    return {"endpoint": endpoint, "p256dh": keys["p256dh"], "auth": keys["auth"]}


def local_app(public_base_url: str) -> bool:
    """The app itself runs on this machine (a developer's or a test's): plain http allowed."""
    parts = urlsplit(public_base_url)
    return parts.scheme == "http" and (parts.hostname or "") in ("127.0.0.1", "localhost", "::1")


def endpoint_ok(endpoint: str, local_ok: bool = False) -> bool:
    if len(endpoint) > 1000 or any(c.isspace() for c in endpoint):
        return False
    parts = urlsplit(endpoint)
    if not parts.hostname or parts.username or parts.password:
        return False
    if parts.scheme == "https":
        return True
    return local_ok and parts.scheme == "http" and parts.netloc.rsplit(":", 1)[0] in LOCAL_HOSTS


def chosen(ticked: Iterable[str]) -> dict[str, bool]:
    """A person's ticks from the form, as a choice for every kind (an unticked box is a no)."""
    ticked = set(ticked)
    return {k: k in ticked for k in NOTIFICATION_KINDS}
