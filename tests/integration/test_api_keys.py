"""API keys: issued by an admin (pages or the command line), shown once, kept as a hash,
revoked; a key authenticates as its role and station."""

from __future__ import annotations

import re

import pytest

from app.cli import main
from app.services import api_keys
from app.services.auth import token_hash
from app.tables import ApiKey, AuditEvent, Station
from tests.conftest import run


def test_the_command_line_prints_a_key_once_and_keeps_only_its_hash(demo, capsys):
    code = run(Station.select(Station.code).first())["code"]
    main(["api-key", "create", "--name", "nightly 110 import", "--role", "analyst", "--station", code])
    key = re.search(r"qm_\S+", capsys.readouterr().out).group()
    [row] = run(ApiKey.select())
    assert row["key_hash"] == token_hash(key) and key not in str(row)
    client = run(api_keys.authenticate(key))
    assert (client.role, client.station_id, client.name) == ("analyst", row["station"], "nightly 110 import")
    assert client.principal().station_ids == {row["station"]}
    main(["api-key", "list"])
    listing = capsys.readouterr().out
    assert "nightly 110 import" in listing and key not in listing
    main(["api-key", "revoke", str(row["id"])])
    assert run(api_keys.authenticate(key)) is None


@pytest.mark.parametrize(
    "args, message",
    [
        (["--role", "analyst"], "station"),  # an analyst key needs its station
        (["--role", "wizard"], "role"),
        (["--role", "analyst", "--station", "NOPE"], "no station"),
    ],
)
def test_the_command_line_refuses_bad_keys(demo, args, message):
    with pytest.raises(SystemExit, match=message):
        main(["api-key", "create", "--name", "x", *args])
    assert run(ApiKey.count()) == 0


def test_unknown_and_malformed_keys_authenticate_nobody(db):
    for key in ("", "qm_nothing", "Bearer qm_x", "x" * 500):
        assert run(api_keys.authenticate(key)) is None


def test_an_admin_creates_and_revokes_a_key_in_the_pages(admin):
    page = admin.post("/admin/api-keys", data={"name": "市民热线App", "role": "open311", "station": ""})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    key = re.search(r"qm_[A-Za-z0-9_\-]+", page.text).group()
    assert run(api_keys.authenticate(key)).role == "open311"
    assert key not in admin.get("/admin/api-keys").text  # shown once
    refused = admin.post("/admin/api-keys", data={"name": "", "role": "analyst"}, headers={"Accept-Language": "en"})
    assert refused.status_code == 422 and "Required" in refused.text and "Choose the station" in refused.text
    key_id = run(ApiKey.select(ApiKey.id).first())["id"]
    assert admin.post(f"/admin/api-keys/{key_id}/revoke").status_code == 303
    assert run(api_keys.authenticate(key)) is None
    actions = [r["action"] for r in run(AuditEvent.select().where(AuditEvent.object_type == "api_key"))]
    assert actions == ["create", "revoke"]
