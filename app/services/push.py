"""Web Push sending (pywebpush), best effort: one push to one subscription with the TTL and
urgency of app/domain/push.py. The status tells the caller what to do with the subscription;
a failure is never raised (push is an extra, the list and My day are the guaranteed channels).
Not yet wired to notifications (see docs/decisions.md, Web Push)."""

from __future__ import annotations

from py_vapid import Vapid02
from pywebpush import WebPushException, webpush

from app.domain import push as rules


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
