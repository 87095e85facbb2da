"""Every route of the app (read from its route table) × anonymous and every role.

A route added without a decision here fails `test_every_route_has_a_decision`, so no
page can slip out unguarded. "Allowed" means the guard let the request through (any
answer but 401/403 or a redirect to sign in; 404 is scoping inside the service)."""

from __future__ import annotations

import pytest
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from app.domain.roles import ROLES
from app.main import create_app
from app.services import auth
from app.tables import Grid, PersonRole, Place
from tests.conftest import Browserless, run

ANON = "anonymous"
EVERYONE = frozenset({ANON, *ROLES})
SIGNED_IN = frozenset(ROLES)
ADMIN = frozenset({"admin"})
READERS = frozenset({"admin", "supervisor"})
FIELD = frozenset({"officer", "grid_worker", "volunteer", "supervisor", "analyst", "admin"})
LOG_WRITERS = frozenset({"officer", "grid_worker", "supervisor"})
LOG_READERS = LOG_WRITERS | {"analyst", "admin"}
LOG_EXPORTERS = frozenset({"supervisor", "analyst", "admin"})
VOL_STAFF = frozenset({"officer", "supervisor"})
VOL_ALL = VOL_STAFF | {"volunteer"}
VOLUNTEER = frozenset({"volunteer"})
REPORT_STAFF = frozenset({"officer", "grid_worker", "supervisor", "admin"})  # reports
POSTER_PRINTERS = frozenset({"officer", "admin"})  # reports
CALL_READERS = frozenset({"analyst", "supervisor", "officer", "admin"})
CALL_IMPORTERS = frozenset({"analyst", "admin"})
ORDER_READERS = frozenset({"officer", "grid_worker", "analyst", "supervisor", "admin"})
ORDER_ASSIGNERS = frozenset({"analyst", "supervisor"})
ALERT_POSTERS = frozenset({"grid_worker", "officer", "supervisor", "admin", "volunteer"})  # alerts
ALERT_KEEPERS = frozenset({"supervisor", "admin"})  # alerts: the station's escalation minutes
AGENCY_STAFF = frozenset({"agency_staff"})  # agencies: the service scopes to the person's agency
MAP_READERS = frozenset({"officer", "grid_worker", "supervisor", "analyst", "admin"})
NOBODY: frozenset[str] = frozenset()

DECISIONS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/"): EVERYONE,
    ("GET", "/healthz"): EVERYONE,
    # The operator's scraper: a bearer token (QIANMO_METRICS_TOKEN) or loopback, never a session.
    ("GET", "/metrics"): NOBODY,
    ("GET", "/offline"): EVERYONE,
    ("GET", "/sw.js"): EVERYONE,
    ("GET", "/static/{file_path:path}"): EVERYONE,
    ("GET", "/locale/{chosen:str}"): EVERYONE,
    ("POST", "/locale/{chosen:str}"): EVERYONE,  # saved on the person when signed in
    ("GET", "/signin"): EVERYONE,
    ("POST", "/signin/options"): EVERYONE,
    ("POST", "/signin/verify"): EVERYONE,
    ("POST", "/signin/demo"): EVERYONE,  # demo mode only; 404 in production
    ("POST", "/signout"): EVERYONE,
    ("GET", "/invite/{token:str}"): EVERYONE,  # the token is the credential
    ("POST", "/invite/{token:str}/options"): EVERYONE,
    ("POST", "/invite/{token:str}/verify"): EVERYONE,
    ("GET", "/me"): SIGNED_IN,
    ("POST", "/me/passkeys/options"): SIGNED_IN,
    ("POST", "/me/passkeys/verify"): SIGNED_IN,
    ("POST", "/me/passkeys/{passkey_id:int}/label"): SIGNED_IN,
    ("POST", "/me/passkeys/{passkey_id:int}/revoke"): SIGNED_IN,
    ("GET", "/area"): FIELD,
    ("GET", "/area/places/{place_id:int}"): FIELD,
    ("GET", "/people"): READERS,
    ("GET", "/people/qualifications"): READERS,
    ("GET", "/people/{person_id:int}"): READERS,
    ("GET", "/people/new"): ADMIN,
    ("POST", "/people/new"): ADMIN,
    ("GET", "/people/{person_id:int}/edit"): ADMIN,
    ("POST", "/people/{person_id:int}/edit"): ADMIN,
    ("POST", "/people/{person_id:int}/invitation"): ADMIN,
    ("POST", "/people/{person_id:int}/lost-phone"): ADMIN,
    ("POST", "/people/{person_id:int}/active"): ADMIN,
    ("POST", "/people/{person_id:int}/volunteer-link"): ADMIN,  # an application's role for an existing person
    ("GET", "/admin/org"): ADMIN,
    ("GET", "/admin/org/{entity_key:str}"): ADMIN,
    ("GET", "/admin/org/{entity_key:str}/new"): ADMIN,
    ("POST", "/admin/org/{entity_key:str}/new"): ADMIN,
    ("GET", "/admin/org/{entity_key:str}/{item_id:int}"): ADMIN,
    ("POST", "/admin/org/{entity_key:str}/{item_id:int}"): ADMIN,
    ("POST", "/admin/org/{entity_key:str}/{item_id:int}/active"): ADMIN,
    ("GET", "/admin/org/{entity_key:str}/import"): ADMIN,
    ("POST", "/admin/org/{entity_key:str}/import"): ADMIN,
    ("GET", "/admin/audit"): ADMIN,
    ("GET", "/admin/audit/export.csv"): ADMIN,
    ("GET", "/admin/api-keys"): ADMIN,
    ("POST", "/admin/api-keys"): ADMIN,
    ("POST", "/admin/api-keys/{key_id:int}/revoke"): ADMIN,
    ("GET", "/calls"): CALL_READERS,
    ("GET", "/calls/import"): CALL_IMPORTERS,
    ("POST", "/calls/import"): CALL_IMPORTERS,
    ("POST", "/calls/import/{token:str}"): CALL_IMPORTERS,
    ("POST", "/calls/import/{token:str}/columns"): CALL_IMPORTERS,
    ("POST", "/calls/detect"): ORDER_ASSIGNERS | ADMIN,
    ("GET", "/calls/settings"): ORDER_ASSIGNERS | ADMIN,
    ("POST", "/calls/settings"): ORDER_ASSIGNERS | ADMIN,
    ("POST", "/calls/families"): ORDER_ASSIGNERS | ADMIN,
    ("POST", "/calls/non-police"): ADMIN,
    ("GET", "/calls/unmatched"): ORDER_ASSIGNERS | ADMIN,
    ("POST", "/calls/unmatched"): ORDER_ASSIGNERS | ADMIN,
    ("GET", "/calls/places/{place_id:int}"): CALL_READERS,
    ("GET", "/calls/ranking"): CALL_READERS,
    ("GET", "/orders"): ORDER_READERS,
    ("GET", "/orders/new"): ORDER_ASSIGNERS,
    ("POST", "/orders/new"): ORDER_ASSIGNERS,
    ("POST", "/orders/bulk-assign"): ORDER_ASSIGNERS,
    ("GET", "/orders/{order_id:int}"): ORDER_READERS,  # the service scopes; others' orders answer 404
    ("POST", "/orders/{order_id:int}/step"): ORDER_READERS,
    ("POST", "/orders/{order_id:int}/split"): ORDER_ASSIGNERS,  # surges only; others answer 404
    # The service allows the order's assignee and supervisors, on 一人多次 orders only.
    ("POST", "/orders/{order_id:int}/caller"): frozenset({"officer", "grid_worker", "supervisor"}),
    ("GET", "/dashboard"): ORDER_ASSIGNERS | ADMIN,
    ("GET", "/briefing"): ORDER_ASSIGNERS | ADMIN | {"officer"},
    ("GET", "/reviews"): ORDER_ASSIGNERS | ADMIN | {"officer"},
    ("GET", "/reviews/new"): ORDER_ASSIGNERS | ADMIN | {"officer"},
    ("POST", "/reviews/new"): ORDER_ASSIGNERS | ADMIN | {"officer"},
    ("GET", "/reviews/{review_id:int}"): ORDER_ASSIGNERS | ADMIN | {"officer"},
    # The JSON API authenticates with API keys, not sessions: every role is refused (401).
    ("POST", "/api/v1/calls"): NOBODY,
    ("GET", "/api/v1/work-orders"): NOBODY,
    ("GET", "/api/v1/metrics/calls"): NOBODY,
    ("GET", "/api/v1/metrics/platform"): NOBODY,  # API keys only (analyst or supervisor)
    ("GET", "/metrics/platform"): ORDER_ASSIGNERS | ADMIN,
    ("GET", "/metrics/platform.csv"): ORDER_ASSIGNERS | ADMIN,
    ("GET", "/field"): LOG_WRITERS,
    ("GET", "/field/{segment:str}/new"): LOG_WRITERS,
    ("POST", "/field/{segment:str}/new"): LOG_WRITERS,
    ("GET", "/field/logs"): LOG_READERS,
    ("GET", "/field/logs/export.csv"): LOG_EXPORTERS,
    ("GET", "/field/logs/{log_id:int}"): LOG_READERS,  # the service scopes to the person's grids
    ("GET", "/field/logs/{log_id:int}/edit"): LOG_READERS,  # the service allows author or supervisor
    ("POST", "/field/logs/{log_id:int}/edit"): LOG_READERS,
    ("POST", "/field/logs/{log_id:int}/void"): LOG_READERS,
    ("GET", "/field/logs/{log_id:int}/agreement"): LOG_READERS,
    ("GET", "/field/photos/{photo_id:int}"): LOG_READERS,
    # Reviews of a log (#18): read by whoever reads the log, written by supervisors only.
    ("GET", "/field/logs/{log_id:int}/reviews"): LOG_READERS,
    ("POST", "/field/logs/{log_id:int}/reviews"): frozenset({"supervisor"}),
    # The map of grids and hotspots, a grid's page, near me (#18): the roles that work grids.
    ("GET", "/map"): MAP_READERS,
    ("GET", "/map/grids/{grid_id:int}"): MAP_READERS,  # the service scopes; other grids answer 404
    ("GET", "/map/near"): MAP_READERS,
    ("GET", "/admin/field"): ADMIN,
    ("POST", "/admin/field/lists/{kind:str}"): ADMIN,
    ("GET", "/admin/field/topics/{topic_id:int}"): ADMIN,
    ("POST", "/admin/field/topics/{topic_id:int}"): ADMIN,
    ("POST", "/admin/field/topics/{topic_id:int}/active"): ADMIN,
    ("GET", "/admin/field/agreements/{dispute_type:str}"): ADMIN,
    ("POST", "/admin/field/agreements/{dispute_type:str}"): ADMIN,
    ("GET", "/volunteer/register"): EVERYONE,  # the public registration form (rate limited)
    ("POST", "/volunteer/register"): EVERYONE,
    ("GET", "/volunteers"): VOL_STAFF,
    ("GET", "/volunteers/my"): VOLUNTEER,
    ("GET", "/volunteers/applications"): VOL_STAFF,  # the service scopes to the officer's grids
    ("GET", "/volunteers/applications/{app_id:int}"): VOL_STAFF,
    ("POST", "/volunteers/applications/{app_id:int}/approve"): VOL_STAFF,
    ("POST", "/volunteers/applications/{app_id:int}/decline"): VOL_STAFF,
    ("GET", "/volunteers/shifts"): VOL_ALL,  # volunteers: their grids' shifts; officers: their station's
    ("GET", "/volunteers/shifts/new"): VOL_STAFF,
    ("POST", "/volunteers/shifts/new"): VOL_STAFF,
    ("GET", "/volunteers/shifts/{shift_id:int}"): VOL_ALL,
    ("GET", "/volunteers/shifts/{shift_id:int}/edit"): VOL_STAFF,
    ("POST", "/volunteers/shifts/{shift_id:int}/edit"): VOL_STAFF,
    ("POST", "/volunteers/shifts/{shift_id:int}/cancel"): VOL_STAFF,
    ("POST", "/volunteers/shifts/{shift_id:int}/signup"): VOLUNTEER,
    ("POST", "/volunteers/shifts/{shift_id:int}/withdraw"): VOLUNTEER,
    ("POST", "/volunteers/shifts/{shift_id:int}/check-in"): VOLUNTEER,
    ("POST", "/volunteers/shifts/{shift_id:int}/check-out"): VOLUNTEER,
    ("POST", "/volunteers/shifts/{shift_id:int}/attendance"): VOL_ALL,  # the service: the leader or an officer
    ("POST", "/volunteers/shifts/{shift_id:int}/observations"): VOL_ALL,  # the service: on patrol or leading
    ("GET", "/volunteers/observations/{observation_id:int}"): VOL_ALL,
    ("POST", "/volunteers/observations/{observation_id:int}/acknowledge"): VOL_STAFF,
    ("GET", "/volunteers/photos/{photo_id:int}"): VOL_ALL,
    ("GET", "/volunteers/hours"): VOL_ALL,  # a volunteer: their own ledger only
    ("POST", "/volunteers/hours/certificate"): VOL_ALL,  # issues a numbered certificate (own, or an officer for theirs)
    ("GET", "/volunteers/certificates/{code:str}"): VOL_ALL,  # the service: the holder or their officers
    ("GET", "/v/{code:str}"): EVERYONE,  # the public check of a certificate (rate limited)
    ("POST", "/volunteers/shifts/{shift_id:int}/minutes"): VOL_ALL,  # the service: the leader or an officer
    ("GET", "/volunteers/hours/export.csv"): VOL_STAFF,
    ("GET", "/volunteers/people"): VOL_STAFF,
    ("POST", "/volunteers/people/{person_id:int}/senior"): VOL_STAFF,
    # Resident reports: the public pages need no sign-in (rate limited); staff see their grids'.
    ("GET", "/r/{code:str}"): EVERYONE,  # reports: a QR poster's form
    ("POST", "/r/{code:str}"): EVERYONE,  # reports
    ("GET", "/report"): EVERYONE,  # reports: the general form
    ("POST", "/report"): EVERYONE,  # reports
    ("GET", "/report/similar"): EVERYONE,  # reports: "already reported here?"
    ("GET", "/report/similar/{report_id:int}/photo"): EVERYONE,  # reports: the hint's picture (open reports)
    ("GET", "/t"): EVERYONE,  # reports: tracking-code look-up
    ("GET", "/t/{code:str}"): EVERYONE,  # reports: the tracking code is the credential
    ("POST", "/t/{code:str}/rate"): EVERYONE,  # reports
    ("GET", "/t/{code:str}/photos/{photo_id:int}"): EVERYONE,  # reports
    ("GET", "/agency"): AGENCY_STAFF,
    ("GET", "/agency/{report_id:int}"): AGENCY_STAFF,
    ("POST", "/agency/{report_id:int}/steps"): AGENCY_STAFF,
    ("GET", "/agency/photos/{photo_id:int}"): AGENCY_STAFF,
    ("GET", "/agency/calls/{call_id:int}"): AGENCY_STAFF,
    ("POST", "/agency/calls/{call_id:int}/steps"): AGENCY_STAFF,
    ("GET", "/admin/routing"): ADMIN,
    ("POST", "/admin/routing"): ADMIN,
    ("GET", "/admin/routing/print"): ADMIN,
    ("GET", "/admin/routing/export.csv"): ADMIN,
    ("GET", "/admin/routing/{rule_id:int}"): ADMIN,
    ("POST", "/admin/routing/{rule_id:int}"): ADMIN,
    ("POST", "/admin/routing/{rule_id:int}/retire"): ADMIN,
    ("GET", "/admin/routing/holidays"): ADMIN,
    ("POST", "/admin/routing/holidays"): ADMIN,
    ("POST", "/admin/routing/holidays/{holiday_id:int}/remove"): ADMIN,
    ("GET", "/reports"): REPORT_STAFF,  # reports: the service scopes to the person's grids
    ("GET", "/reports/{report_id:int}"): REPORT_STAFF,  # reports
    ("POST", "/reports/{report_id:int}/steps"): REPORT_STAFF,  # reports
    ("POST", "/reports/{report_id:int}/phones"): REPORT_STAFF,  # reports: the service allows handlers only
    ("GET", "/reports/photos/{photo_id:int}"): REPORT_STAFF,  # reports
    ("GET", "/admin/reports"): ADMIN,  # reports: categories
    ("POST", "/admin/reports/categories"): ADMIN,  # reports
    ("GET", "/admin/reports/categories/{category_id:int}"): ADMIN,  # reports
    ("POST", "/admin/reports/categories/{category_id:int}"): ADMIN,  # reports
    ("POST", "/admin/reports/categories/{category_id:int}/active"): ADMIN,  # reports
    ("GET", "/admin/reports/posters"): POSTER_PRINTERS,  # reports: officers print their station's posters
    ("GET", "/admin/reports/posters/{kind:str}/{unit_id:int}"): POSTER_PRINTERS,  # reports
    ("GET", "/admin/reports/posters/grid-places/{grid_id:int}"): POSTER_PRINTERS,  # reports
    ("POST", "/admin/reports/posters/{kind:str}/{unit_id:int}"): POSTER_PRINTERS,  # reports: issues a code
    ("POST", "/admin/reports/posters/grid-places/{grid_id:int}"): POSTER_PRINTERS,  # reports: issues codes
    ("POST", "/admin/reports/poster-codes/{poster_id:int}/retire"): POSTER_PRINTERS,  # reports
    # Open311: reading is public; filing authenticates with an api_key field, so no session role passes.
    ("GET", "/open311/v2/services.json"): EVERYONE,  # reports: Open311
    ("GET", "/open311/v2/services.xml"): EVERYONE,  # reports: Open311
    ("GET", "/open311/v2/services/{service_code:str}"): EVERYONE,  # reports: Open311
    ("GET", "/open311/v2/requests.json"): EVERYONE,  # reports: Open311
    ("GET", "/open311/v2/requests.xml"): EVERYONE,  # reports: Open311
    ("POST", "/open311/v2/requests.json"): NOBODY,  # reports: Open311, api_key only
    ("POST", "/open311/v2/requests.xml"): NOBODY,  # reports: Open311, api_key only
    ("GET", "/open311/v2/requests/{service_request_id:str}"): EVERYONE,  # reports: Open311
    ("GET", "/open311/v2/tokens/{token:str}"): EVERYONE,  # reports: Open311
    # The offline outbox: public forms (reports, volunteer registration) wait and replay there too.
    ("GET", "/csrf"): EVERYONE,  # a fresh CSRF token for the offline outbox's replays
    ("GET", "/outbox"): EVERYONE,
    # Grid alerts: the service scopes to the person's grids (volunteers: during a patrol).
    ("GET", "/alerts"): ALERT_POSTERS,
    ("GET", "/alerts/new"): ALERT_POSTERS,
    ("POST", "/alerts/new"): ALERT_POSTERS,
    ("GET", "/alerts/{alert_id:int}"): ALERT_POSTERS,
    ("POST", "/alerts/{alert_id:int}/acknowledge"): ALERT_POSTERS,
    ("POST", "/alerts/{alert_id:int}/close"): ALERT_POSTERS,
    ("GET", "/alerts/photos/{photo_id:int}"): ALERT_POSTERS,
    ("GET", "/alerts/settings"): ALERT_KEEPERS,
    ("POST", "/alerts/settings/{station_id:int}"): ALERT_KEEPERS,
    ("GET", "/notifications"): SIGNED_IN,  # alerts: the person's own
    ("POST", "/notifications/read"): SIGNED_IN,
    ("POST", "/notifications/{notification_id:int}/open"): SIGNED_IN,
    ("GET", "/events"): SIGNED_IN,  # alerts: the person's own live stream
    ("GET", "/notifications/channels"): SIGNED_IN,  # alerts: the person's own phone kinds
    ("POST", "/notifications/channels"): SIGNED_IN,
    ("GET", "/push/key"): EVERYONE,  # the VAPID public key (residents' tracking pages too)
    ("POST", "/t/{code:str}/push"): EVERYONE,  # reports: the tracking code is the credential
    ("POST", "/t/{code:str}/push/off"): EVERYONE,
    ("POST", "/push/subscribe"): SIGNED_IN,  # this browser, for the person signed in
    ("POST", "/push/unsubscribe"): SIGNED_IN,
}
# The OpenAPI document and its viewers describe the public JSON API: public by design.
PUBLIC_PREFIXES = ("/schema",)


def app_routes(app) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            found += [(m, route.path) for m in sorted(route.methods - {"HEAD", "OPTIONS"})]
    return found


def decision(method: str, path: str) -> frozenset[str] | None:
    if path.startswith(PUBLIC_PREFIXES) and method == "GET":
        return EVERYONE
    return DECISIONS.get((method, path))


def test_every_route_has_a_decision(settings):
    missing = [r for r in app_routes(create_app(settings)) if decision(*r) is None]
    assert missing == [], f"decide who may use these routes in DECISIONS: {missing}"


def concrete(path: str, ids: dict[str, int]) -> str:
    path = (
        path.replace("{code:str}", "ABCDEFGH")
        .replace("{report_id:int}", "999999")  # reports
        .replace("{category_id:int}", "999999")
        .replace("{unit_id:int}", "999999")  # reports
        .replace("{grid_id:int}", "999999")
        .replace("{poster_id:int}", "999999")  # reports
        .replace("{service_code:str}", "noise.json")
        .replace("{service_request_id:str}", "999999.json")
    )  # reports
    path = (
        path.replace("{app_id:int}", "999999")
        .replace("{shift_id:int}", "999999")
        .replace("{observation_id:int}", "999999")
        .replace("{call_id:int}", "999999")
    )
    return (
        path.replace("{file_path:path}", "css/app.css")
        .replace("{chosen:str}", "en")
        .replace("{token:str}", "no-such-token")
        .replace("{entity_key:str}", "place")
        .replace("{item_id:int}", str(ids["place"]))
        .replace("{place_id:int}", str(ids["place"]))
        .replace("{person_id:int}", str(ids["person"]))
        .replace("{passkey_id:int}", str(ids["passkey"]))
        .replace("{path:str}", "openapi.json")
        .replace("{segment:str}", "contacts")
        .replace("{log_id:int}", "999999")
        .replace("{photo_id:int}", "999999")
        .replace("{kind:str}", "tag")
        .replace("{topic_id:int}", "999999")
        .replace("{dispute_type:str}", "family")
        .replace("{key_id:int}", "999999")
        .replace("{rule_id:int}", "999999")
        .replace("{holiday_id:int}", "999999")
        .replace("{order_id:int}", "999999")
        .replace("{review_id:int}", "999999")
        .replace("{alert_id:int}", "999999")
        .replace("{notification_id:int}", "999999")
        .replace("{station_id:int}", "999999")
    )


def denied(response) -> bool:
    if response.status_code in (401, 403):
        return True
    return response.status_code == 303 and response.headers.get("location", "").startswith("/signin?next=")


@pytest.mark.parametrize("who", sorted(EVERYONE))
def test_route_by_role_matrix(demo, settings, who):
    grid = run(Grid.select(Grid.id).where(Grid.code == "TH-04").first())["id"]
    ids = {
        "place": run(Place.select(Place.id).where(Place.grid == grid).first())["id"],
        "person": run(PersonRole.select(PersonRole.person).where(PersonRole.role == "volunteer").first())["person"],
        "passkey": 999999,  # someone else's or nobody's: the guard passes, the service answers 404
    }
    person = (
        None
        if who == ANON
        else run(PersonRole.select(PersonRole.person).where(PersonRole.role == who).first())["person"]
    )
    app = create_app(settings)
    wrong = []
    with TestClient(app=app, base_url="http://testserver.local") as http:
        client = Browserless(http)
        for method, path in app_routes(app):
            if person is not None:  # a fresh session each time: some routes end or change it
                http.cookies.set("qianmo_session", run(auth.start_session(person)).token)
            url = concrete(path, ids)
            response = client.get(url, follow_redirects=False) if method == "GET" else client.post(url, data={})
            expected = who in decision(method, path)
            if denied(response) == expected:
                wrong.append(
                    f"{method} {path}: {response.status_code} ({'should pass' if expected else 'should be refused'})"
                )
    assert wrong == []


def test_every_unsafe_route_refuses_a_request_without_the_csrf_token(demo, settings):
    app = create_app(settings)
    admin = run(PersonRole.select(PersonRole.person).where(PersonRole.role == "admin").first())["person"]
    ids = {"place": run(Place.select(Place.id).first())["id"], "person": admin, "passkey": 1}
    # Exempt by design: other systems authenticate with an API key, which a browser never sends.
    unsafe = [(m, p) for m, p in app_routes(app) if m not in ("GET",) and not p.startswith(("/api/", "/open311/"))]
    assert len(unsafe) > 15
    with TestClient(app=app, base_url="http://testserver.local") as http:
        http.get("/offline")  # the browser holds a CSRF cookie, but the form lacks the token
        for method, path in unsafe:
            http.cookies.set("qianmo_session", run(auth.start_session(admin)).token)
            response = http.request(method, concrete(path, ids), data={"name": "x"})
            assert response.status_code == 403, (method, path)
            assert "无权访问" in response.text


# Served without looking at the session (main.py excludes them from SessionAuth): the same
# bytes for everyone, cached by their own rules.
SESSIONLESS = ("/static/{file_path:path}", "/sw.js", "/healthz", "/metrics")


@pytest.mark.parametrize("who", sorted(SIGNED_IN))
def test_every_signed_in_get_answers_no_store(demo, settings, who):
    """No signed-in answer may stay on a phone after its session ends (the service worker keeps
    nothing marked no-store), except the pages it keeps for offline use on purpose."""
    from app.offline import kept_offline

    grid = run(Grid.select(Grid.id).where(Grid.code == "TH-04").first())["id"]
    ids = {
        "place": run(Place.select(Place.id).where(Place.grid == grid).first())["id"],
        "person": run(PersonRole.select(PersonRole.person).where(PersonRole.role == "volunteer").first())["person"],
        "passkey": 999999,
    }
    person = run(PersonRole.select(PersonRole.person).where(PersonRole.role == who).first())["person"]
    app = create_app(settings)
    wrong = []
    with TestClient(app=app, base_url="http://testserver.local") as http:
        for method, path in app_routes(app):
            if method != "GET" or path in SESSIONLESS:
                continue
            http.cookies.set("qianmo_session", run(auth.start_session(person)).token)
            url = concrete(path, ids)
            response = http.get(url, follow_redirects=False)
            expected = "private, no-cache" if kept_offline(url, b"") else "no-store"
            if response.headers.get("cache-control") != expected:
                wrong.append(f"GET {url}: {response.status_code} {response.headers.get('cache-control')!r}")
    assert wrong == []
    assert kept_offline("/field/contacts/new", b"outbox=1") and not kept_offline("/field/contacts/new", b"follow_up=3")
