"""schemathesis against /schema/openapi.json for the Open311 routes, in process: every answer is
documented (status code) and none is a server error. Bounded so CI can always run it:
QIANMO_SCHEMA_EXAMPLES examples per operation (default 25; raise it for a longer hunt)."""
from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from app.main import create_app
from app.services import api_keys, audit, report_lists
from tests.conftest import run

EXAMPLES = int(os.environ.get("QIANMO_SCHEMA_EXAMPLES", "25"))


def test_open311_answers_as_documented(demo, settings):
    run(report_lists.ensure_categories())
    run(api_keys.create("schemathesis", "open311", None, audit.SYSTEM))
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", create_app(settings)).include(
        path_regex="^/open311/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 9
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                             suppress_health_check=list(HealthCheck))
        def answers_as_documented(case):
            case.call_and_validate(checks=[not_a_server_error, status_code_conformance])

        answers_as_documented()
