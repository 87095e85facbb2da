"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) under /open311/v2, in XML and
JSON as the spec defines them: the format is the resource's suffix (`services.xml`,
`requests/12.json`). Services are the report categories (service_code = category code);
service requests are resident reports. Filing a request needs an API key of role "open311"
(the spec's `api_key` form field); reading is open, but a request's description (a resident's
own words) is only returned to a caller that sends a valid open311 key."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, QueryParameter

from app.domain import reports as rules
from app.i18n import get_locale
from app.routes.forms import FORM
from app.services import api_keys, ratelimit, report_lists, reports
from app.services.auth import now
from app.settings import Settings

ROLE = "open311"
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml"  # Litestar adds "; charset=utf-8" to every text/* type
FORMATS = ("json", "xml")
SERVICE_FIELDS = ("service_code", "service_name", "description", "metadata", "type", "keywords", "group")
REQUEST_FIELDS = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)


# --- documented shapes (OpenAPI) -------------------------------------------------------------------


@dataclass
class Service:
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


@dataclass
class ServiceDefinition:
    service_code: str
    attributes: list[dict[str, Any]]


@dataclass
class ServiceRequest:
    service_request_id: str
    status: str
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str
    service_notice: str | None
    requested_datetime: str
    updated_datetime: str | None
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


@dataclass
class CreatedRequest:
    service_request_id: str
    token: str
    service_notice: str
    account_id: str | None


@dataclass
class TokenAnswer:
    service_request_id: str | None
    token: str


@dataclass
class Open311Error:
    code: int
    description: str


@dataclass
class NewServiceRequest:
    """The spec's form fields. One of lat+long, address_string or address_id is required;
    address_id is a place id or the code printed on a QR poster."""

    api_key: str = ""
    service_code: str = ""
    description: str = ""
    lat: str = ""
    long: str = ""
    address_string: str = ""
    address_id: str = ""
    phone: str = ""
    email: str = ""
    device_id: str = ""
    account_id: str = ""
    first_name: str = ""
    last_name: str = ""
    media_url: str = ""
    jurisdiction_id: str = ""


def _errors(*codes: int) -> dict[int, ResponseSpec]:
    descriptions = {
        400: "Bad request: a parameter is missing or wrong",
        403: "Invalid or missing api_key",
        404: "Not found (or an unknown format suffix)",
        429: "Too many requests from this key",
    }
    return {code: ResponseSpec(data_container=list[Open311Error], description=descriptions[code]) for code in codes}


JURISDICTION = "Accepted and ignored: this server serves one jurisdiction."


# --- rendering -----------------------------------------------------------------------------------


def _xml_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _xml(root: str, item: str, rows: list[dict], fields: tuple[str, ...] | None = None) -> str:
    top = ET.Element(root)
    for row in rows:
        element = ET.SubElement(top, item)
        for key in fields or tuple(row):
            child = ET.SubElement(element, key)
            value = row.get(key)
            if isinstance(value, list):  # attributes of a service definition: none here
                continue
            child.text = _xml_text(value)
    return '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="unicode")


def answer(
    fmt: str, root: str, item: str, rows: list[dict], fields: tuple[str, ...] | None = None, status_code: int = 200
) -> Response:
    if fmt == "xml":
        return Response(_xml(root, item, rows, fields), media_type=XML_TYPE, status_code=status_code)
    if fields:
        rows = [{key: row.get(key) for key in fields} for row in rows]
    return Response(rows, media_type=JSON_TYPE, status_code=status_code)


def error(fmt: str, status: int, description: str) -> Response:
    return answer(
        fmt,
        "errors",
        "error",
        [{"code": status, "description": description}],
        ("code", "description"),
        status_code=status,
    )


def split_format(value: str) -> tuple[str, str]:
    """'12.json' -> ('12', 'json'); an unknown suffix gives fmt ''."""
    stem, _dot, fmt = value.rpartition(".")
    return (stem, fmt) if fmt in FORMATS and stem else (value, "")


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z") if moment else None


def parse_moment(text: str) -> datetime | None:
    """A w3c / ISO 8601 date-time; a time zone is required by the spec, UTC assumed without one."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# --- handlers ------------------------------------------------------------------------------------


async def _services() -> list[dict]:
    zh = get_locale() == "zh_CN"
    return [
        {
            "service_code": c["code"],
            "service_name": c["label"],
            "description": c["hint"] or (c["name_en"] if zh else c["name_zh"]),
            "metadata": False,
            "type": "realtime",
            "keywords": "",
            "group": "",
        }
        for c in await report_lists.categories()
    ]


async def _definition(fmt: str, code: str) -> Response:
    category = await report_lists.category(code)
    if not fmt or category is None or not category["active"]:
        return error(fmt or "json", 404, "No service with this service_code")
    row = {"service_code": category["code"], "attributes": []}
    if fmt == "xml":
        return Response(
            _xml("service_definition", "_", [row])
            .replace("<service_definition><_>", "<service_definition>")
            .replace("</_></service_definition>", "</service_definition>"),
            media_type=XML_TYPE,
        )
    return Response(row, media_type=JSON_TYPE)


def _request_row(row: dict, with_description: bool) -> dict:
    return {
        "service_request_id": str(row["id"]),
        "status": rules.open311_status(row["status"]),
        "status_notes": row["status_notes"] or None,
        "service_name": row["category_label"],
        "service_code": row["category_code"],
        "description": row["description"] if with_description else None,
        "agency_responsible": row["responsible"],
        "service_notice": None,
        "requested_datetime": iso(row["created_at"]),
        "updated_datetime": iso(row["updated_at"]),
        "expected_datetime": iso(row["expected"]) if row["expected"] else None,
        "address": row["where"] or None,
        "address_id": str(row["place"]) if row["place"] else None,
        "zipcode": None,
        "lat": row["lat"],
        "long": row["long"],
        "media_url": None,
    }


async def _reader_may_see_descriptions(api_key: str | None) -> bool:
    client = await api_keys.authenticate(api_key or "")
    return client is not None and client.role == ROLE


async def _search(
    fmt: str,
    api_key: str | None,
    service_request_id: str | None,
    service_code: str | None,
    start_date: str | None,
    end_date: str | None,
    status: str | None,
) -> Response:
    ids = None
    if service_request_id:
        parts = [p.strip() for p in service_request_id.split(",") if p.strip()]
        if not parts or not all(p.isdecimal() and len(p) < 12 for p in parts):
            return error(fmt, 400, "service_request_id: comma-separated ids")
        ids = [int(p) for p in parts][: rules.OPEN311_MAX_ROWS]
    codes = [c.strip() for c in (service_code or "").split(",") if c.strip()] or None
    statuses = None
    if status:
        statuses = rules.statuses_for_open311(status)
        if statuses is None:
            return error(fmt, 400, "status: open, closed or both (comma-separated)")
    start = end = None
    if ids is None:  # the spec: with ids, the other filters are ignored
        start = parse_moment(start_date) if start_date else None
        end = parse_moment(end_date) if end_date else None
        if (start_date and start is None) or (end_date and end is None):
            return error(fmt, 400, "start_date and end_date: w3c date-times, e.g. 2026-11-01T00:00:00Z")
        span = timedelta(days=rules.OPEN311_MAX_DAYS)
        if start and end and end - start > span:
            return error(fmt, 400, "start_date and end_date may be at most 90 days apart")
        if start and end and end < start:
            return error(fmt, 400, "end_date is before start_date")
        if start is None:
            start = (end or now()) - span  # the default window: the last 90 days
    else:
        codes = statuses = None
    rows = await reports.open311_requests(ids=ids, codes=codes, start=start, end=end, statuses=statuses)
    with_description = await _reader_may_see_descriptions(api_key)
    return answer(fmt, "service_requests", "request", [_request_row(r, with_description) for r in rows], REQUEST_FIELDS)


async def _allowed(key_id: int, data: NewServiceRequest, settings: Settings) -> bool:
    """One key is a whole city app, all its residents: a generous limit per key, and the public
    form's burst per resident's device (device_id or account_id) when the app names it."""
    device = (data.device_id or data.account_id).strip()[:64]
    if device and not await ratelimit.allow_burst(
        f"open311:{key_id}:device:{device}", settings.report_burst, settings.report_per_minute
    ):
        return False
    return await ratelimit.allow(f"open311:{key_id}", settings.open311_per_minute, timedelta(minutes=1))


async def _create(request: Request, fmt: str, data: NewServiceRequest) -> Response:
    settings = request.app.state.settings
    client = await api_keys.authenticate(data.api_key.strip())
    if client is None or client.role != ROLE:
        return error(fmt, 403, "Invalid api_key: ask the administrator for an Open311 key")
    if not await _allowed(client.key_id, data, settings):
        return error(fmt, 429, "Too many requests from this api_key: wait a minute")
    if not data.service_code or await report_lists.category(data.service_code) is None:
        return error(fmt, 400, "service_code: not one of GET services")
    lat = lon = None
    if data.lat or data.long:
        try:
            lat, lon = float(data.lat), float(data.long)
        except ValueError:
            return error(fmt, 400, "lat and long: decimal degrees (WGS84)")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return error(fmt, 400, "lat and long: decimal degrees (WGS84)")
    if lat is None and not data.address_string.strip() and not data.address_id.strip():
        return error(fmt, 400, "Give lat and long, address_string or address_id")
    where = await reports.where_for_open311(lat, lon, data.address_string[:200], data.address_id.strip()[:20])
    if where is None:
        return error(fmt, 400, "This location is outside the area we serve, or unknown")
    raw = {
        "category": data.service_code,
        "description": data.description,
        "phone": data.phone,
        "lat": data.lat if lat is not None else "",
        "lon": data.long if lon is not None else "",
    }
    outcome = await reports.submit(where, raw, None, settings.upload_dir, get_locale(), source="open311", client=client)
    if outcome.errors:
        field, message = next(iter(outcome.errors.items()))
        return error(fmt, 400, f"{field}: {message}")
    row = {
        "service_request_id": str(outcome.report_id),
        "token": outcome.token,
        "service_notice": "In an emergency, call 110.",
        "account_id": None,
    }
    return answer(
        fmt,
        "service_requests",
        "request",
        [row],
        ("service_request_id", "token", "service_notice", "account_id"),
        status_code=201,
    )


async def _one(fmt: str, report_id: str, api_key: str | None) -> Response:
    if not fmt or not report_id.isdecimal() or len(report_id) > 11:
        return error(fmt or "json", 404, "No service request with this id")
    rows = await reports.open311_requests(ids=[int(report_id)])
    if not rows:
        return error(fmt, 404, "No service request with this id")
    with_description = await _reader_may_see_descriptions(api_key)
    return answer(fmt, "service_requests", "request", [_request_row(rows[0], with_description)], REQUEST_FIELDS)


async def _token(fmt: str, token: str) -> Response:
    report_id = await reports.report_id_for_token(token) if fmt else None
    if report_id is None:
        return error(fmt or "json", 404, "No service request with this token")
    return answer(
        fmt,
        "service_requests",
        "request",
        [{"service_request_id": str(report_id), "token": token}],
        ("service_request_id", "token"),
    )


QUERY_FILTERS = "Comma-separated; see the GeoReport v2 spec"


class Open311Controller(Controller):
    path = "/open311/v2"
    tags = ["Open311 GeoReport v2"]
    include_in_schema = True

    @get(
        "/services.json",
        name="open311_services_json",
        media_type=MediaType.JSON,
        summary="GET services (JSON): the report categories",
        responses=_errors(404),
    )
    async def services_json(
        self,
        request: Request,
        jurisdiction_id: Annotated[str | None, QueryParameter(description=JURISDICTION)] = None,
    ) -> Response[list[Service]]:
        return answer("json", "services", "service", await _services(), SERVICE_FIELDS)

    @get(
        "/services.xml",
        name="open311_services_xml",
        media_type=MediaType.XML,
        summary="GET services (XML): the report categories",
        responses=_errors(404),
    )
    async def services_xml(
        self,
        request: Request,
        jurisdiction_id: Annotated[str | None, QueryParameter(description=JURISDICTION)] = None,
    ) -> Response[str]:
        return answer("xml", "services", "service", await _services(), SERVICE_FIELDS)

    @get(
        "/services/{service_code:str}",
        name="open311_service",
        media_type=MediaType.JSON,
        summary="GET a service definition: service_code followed by .json or .xml (e.g. noise.json)",
        responses=_errors(404),
    )
    async def service(
        self,
        request: Request,
        service_code: FromPath[str],
        jurisdiction_id: Annotated[str | None, QueryParameter(description=JURISDICTION)] = None,
    ) -> Response[ServiceDefinition]:
        code, fmt = split_format(service_code)
        return await _definition(fmt, code)

    @post(
        "/requests.json",
        name="open311_create_json",
        media_type=MediaType.JSON,
        status_code=201,
        summary="POST a service request (JSON answer); needs an api_key of role open311",
        responses=_errors(400, 403, 429),
    )
    async def create_json(
        self, request: Request, data: Annotated[NewServiceRequest, FORM]
    ) -> Response[list[CreatedRequest]]:
        return await _create(request, "json", data)

    @post(
        "/requests.xml",
        name="open311_create_xml",
        media_type=MediaType.XML,
        status_code=201,
        summary="POST a service request (XML answer); needs an api_key of role open311",
        responses=_errors(400, 403, 429),
    )
    async def create_xml(self, request: Request, data: Annotated[NewServiceRequest, FORM]) -> Response[str]:
        return await _create(request, "xml", data)

    @get(
        "/requests.json",
        name="open311_requests_json",
        media_type=MediaType.JSON,
        summary="GET service requests (JSON): newest first, at most 1,000, at most 90 days",
        responses=_errors(400),
    )
    async def requests_json(
        self,
        request: Request,
        service_request_id: Annotated[str | None, QueryParameter(description=QUERY_FILTERS)] = None,
        service_code: Annotated[str | None, QueryParameter(description=QUERY_FILTERS)] = None,
        start_date: Annotated[str | None, QueryParameter(description="w3c date-time")] = None,
        end_date: Annotated[str | None, QueryParameter(description="w3c date-time")] = None,
        status: Annotated[str | None, QueryParameter(description="open, closed or both")] = None,
        api_key: Annotated[str | None, QueryParameter(description="An open311 key: descriptions are included")] = None,
        jurisdiction_id: Annotated[str | None, QueryParameter(description=JURISDICTION)] = None,
    ) -> Response[list[ServiceRequest]]:
        return await _search("json", api_key, service_request_id, service_code, start_date, end_date, status)

    @get(
        "/requests.xml",
        name="open311_requests_xml",
        media_type=MediaType.XML,
        summary="GET service requests (XML): newest first, at most 1,000, at most 90 days",
        responses=_errors(400),
    )
    async def requests_xml(
        self,
        request: Request,
        service_request_id: Annotated[str | None, QueryParameter(description=QUERY_FILTERS)] = None,
        service_code: Annotated[str | None, QueryParameter(description=QUERY_FILTERS)] = None,
        start_date: Annotated[str | None, QueryParameter(description="w3c date-time")] = None,
        end_date: Annotated[str | None, QueryParameter(description="w3c date-time")] = None,
        status: Annotated[str | None, QueryParameter(description="open, closed or both")] = None,
        api_key: Annotated[str | None, QueryParameter(description="An open311 key: descriptions are included")] = None,
        jurisdiction_id: Annotated[str | None, QueryParameter(description=JURISDICTION)] = None,
    ) -> Response[str]:
        return await _search("xml", api_key, service_request_id, service_code, start_date, end_date, status)

    @get(
        "/requests/{service_request_id:str}",
        name="open311_request",
        media_type=MediaType.JSON,
        summary="GET one service request: its id followed by .json or .xml (e.g. 12.json)",
        responses=_errors(404),
    )
    async def one(
        self,
        service_request_id: FromPath[str],
        api_key: Annotated[
            str | None, QueryParameter(description="An open311 key: the description is included")
        ] = None,
        jurisdiction_id: Annotated[str | None, QueryParameter(description=JURISDICTION)] = None,
    ) -> Response[list[ServiceRequest]]:
        report_id, fmt = split_format(service_request_id)
        return await _one(fmt, report_id, api_key)

    @get(
        "/tokens/{token:str}",
        name="open311_token",
        media_type=MediaType.JSON,
        summary="GET the service_request_id for a token: the token followed by .json or .xml",
        responses=_errors(404),
    )
    async def token(
        self,
        token: FromPath[str],
        jurisdiction_id: Annotated[str | None, QueryParameter(description=JURISDICTION)] = None,
    ) -> Response[list[TokenAnswer]]:
        value, fmt = split_format(token)
        return await _token(fmt, value)
