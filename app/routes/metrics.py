"""GET /metrics: Prometheus' text format, for the operator's scraper only.

With QIANMO_METRICS_TOKEN set, a request must carry `Authorization: Bearer <token>`. Without
it, only a request made on this machine straight to the app passes: a loopback client address
and none of a proxy's forwarding headers (nginx on the same machine connects from 127.0.0.1
too; the operator's guide also denies /metrics there). Never a signed-in role: a session is
not how a scraper authenticates, and the numbers are the whole site's.
"""

from __future__ import annotations

import hmac

from litestar import Controller, Request, Response, get

from app import metrics

LOOPBACK = {"127.0.0.1", "::1"}
PROXY_HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded")


def allowed(request: Request, token: str) -> bool:
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
    client = request.client.host if request.client else ""
    return client in LOOPBACK and not any(h in request.headers for h in PROXY_HEADERS)


class MetricsController(Controller):
    @get("/metrics", name="metrics", include_in_schema=False)
    async def metrics(self, request: Request) -> Response[bytes]:
        token = request.app.state.settings.metrics_token
        if not allowed(request, token):
            # 401 asks for the token; without one configured there is nothing to ask for.
            headers = {"WWW-Authenticate": 'Bearer realm="metrics"'} if token else {}
            return Response(b"forbidden\n", status_code=401 if token else 403, media_type="text/plain", headers=headers)
        return Response(metrics.render(), media_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})
