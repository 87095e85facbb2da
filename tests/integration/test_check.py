"""`qianmo check`: what an operator must know before opening, and exit 1 on a blocker."""

from __future__ import annotations

import secrets

import pytest

from app.cli import main
from app.domain import check as rules
from app.services import backup
from tests.conftest import DATABASE_URL

STRONG = secrets.token_urlsafe(48)


@pytest.fixture
def production(db, monkeypatch, tmp_path):
    monkeypatch.setenv("QIANMO_DATABASE_URL", DATABASE_URL)
    monkeypatch.setenv("QIANMO_SECRET_KEY", STRONG)
    monkeypatch.setenv("QIANMO_PUBLIC_BASE_URL", "https://qianmo.example.gov.cn")
    monkeypatch.setenv("QIANMO_UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("QIANMO_DB_POOL_SIZE", "5")
    return monkeypatch


def test_a_ready_installation_passes_and_says_what_it_runs_on(production, capsys):
    main(["check", "--workers", "2"])
    out = capsys.readouterr().out
    assert "BLOCKER" not in out and out.rstrip().endswith("ready to open")
    assert "OK       secret key: strong" in out
    assert "OK       public address: https://qianmo.example.gov.cn" in out
    assert "OK       upload folder:" in out and "writable" in out
    assert f"OK       migrations: all {len(backup.known_migrations())} applied" in out
    assert STRONG not in out  # the secret is judged, never printed


def test_each_blocker_is_named_and_the_exit_is_not_zero(production, capsys, tmp_path):
    (tmp_path / "a-file").write_text("")
    production.setenv("QIANMO_SECRET_KEY", "changeme")
    production.setenv("QIANMO_PUBLIC_BASE_URL", "http://qianmo.example.gov.cn")
    production.setenv("QIANMO_UPLOAD_DIR", str(tmp_path / "a-file" / "uploads"))
    with pytest.raises(SystemExit) as stopped:
        main(["check"])
    assert stopped.value.code == 1
    out = capsys.readouterr().out
    assert "BLOCKER  secret key: QIANMO_SECRET_KEY has 8 characters" in out
    assert "BLOCKER  public address: QIANMO_PUBLIC_BASE_URL=http://qianmo.example.gov.cn: not https" in out
    assert "BLOCKER  upload folder:" in out and "not writable" in out
    assert "ready to open" not in out


def test_an_unreachable_database_blocks(production, capsys):
    production.setenv("QIANMO_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/qianmo")
    with pytest.raises(SystemExit):
        main(["check"])
    assert "BLOCKER  database: cannot reach the database" in capsys.readouterr().out


def test_the_rules_of_the_check():
    assert rules.secret_problem("") and rules.secret_problem("a" * 64) and rules.secret_problem("x" * 20)
    assert "guessable" in rules.secret_problem("my-qianmo-production-secret-key-2026")
    assert rules.secret_problem(STRONG) is None
    assert rules.base_url_finding("http://localhost:8000").level == rules.WARN
    known = {"2026-01-01", "2026-02-01"}
    assert rules.migrations_finding(known, known).level == rules.OK
    assert rules.migrations_finding(known, {"2026-01-01"}).level == rules.WARN
    assert rules.migrations_finding(known, known | {"2099-01-01"}).level == rules.BLOCKER
    assert rules.connections_finding(4, 20, 100).level == rules.OK  # 80, and 10 kept for the operator
    assert rules.connections_finding(4, 25, 100).level == rules.BLOCKER
