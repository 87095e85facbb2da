"""schemathesis against /schema/openapi.json, in process, for the APIs other systems call: Open311
(/open311/v2) and the JSON API (/api/v1, with a valid analyst key so that it gets past the key
check): every answer is documented (status code) and none is a server error. Bounded and
deterministic so CI can always run it: QIANMO_SCHEMA_EXAMPLES examples per operation (default
25; raise it for a longer hunt), derandomized."""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from app.main import create_app
from app.services import api_keys, audit, report_lists
from app.tables import Station
from tests.conftest import run

EXAMPLES = int(os.environ.get("QIANMO_SCHEMA_EXAMPLES", "25"))


def check_operations(settings, path_regex: str, count: int, headers: dict[str, str] | None = None) -> dict:
    """Runs every operation under `path_regex`; returns the status codes seen per operation."""
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", create_app(settings)).include(path_regex=path_regex)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == count
    seen: dict[str, set[int]] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_as_documented(case):
            response = case.call_and_validate(headers=headers, checks=[not_a_server_error, status_code_conformance])
            seen.setdefault(operation.label, set()).add(response.status_code)  # noqa: B023 (called at once)

        answers_as_documented()
    return seen


def test_open311_answers_as_documented(demo, settings):
    run(report_lists.ensure_categories())
    run(api_keys.create("schemathesis", "open311", None, audit.SYSTEM))
    check_operations(settings, "^/open311/", 9)


def test_the_json_api_answers_as_documented(demo, settings):
    station = run(Station.select(Station.id).first())["id"]
    key = run(api_keys.create("schemathesis", "analyst", station, audit.SYSTEM))[1]
    seen = check_operations(settings, "^/api/v1/", 4, {"Authorization": f"Bearer {key}"})
    assert seen and not any(401 in codes for codes in seen.values()), seen  # every case got past the key check
