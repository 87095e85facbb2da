"""A database that is unreachable but does not refuse (a hung host, a firewall that swallows the
packets) must not hang the pages: past the connect or statement timeout they answer 503 in the
user's language (JSON under /api), and the app recovers by itself once the database answers.
The database here is a quiet TCP server on 127.0.0.1; the tables point at it for a while, on
SQLite and PostgreSQL runs alike. The assertions are on the answers, never on how long they took
(the timeouts are one second so that the test is short)."""

from __future__ import annotations

import socket
import struct
import threading
from contextlib import contextmanager
from dataclasses import replace

import pytest
from litestar.testing import TestClient
from piccolo.engine.postgres import PostgresEngine

from app import main
from app.db import engine_from_url, unavailable
from app.tables import ALL_TABLES

TIMEOUT = 1.0
SSL_REQUEST, CANCEL_REQUEST = 80877103, 80877102


def _message(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("!i", len(payload) + 4) + payload


# PostgreSQL's answer to a start-up message: no password needed, a few server parameters, the
# key a cancel request names, and ready for a query.
GREETING = (
    _message(b"R", struct.pack("!i", 0))
    + b"".join(
        _message(b"S", f"{k}\0{v}\0".encode())
        for k, v in (
            ("server_version", "15.0"),
            ("client_encoding", "UTF8"),
            ("server_encoding", "UTF8"),
            ("integer_datetimes", "on"),
            ("standard_conforming_strings", "on"),
        )
    )
    + _message(b"K", struct.pack("!ii", 4242, 4242))
    + _message(b"Z", b"I")
)


class QuietServer:
    """Accepts every connection and holds it open. Silent from the start (greet=False: a host
    that accepts and never answers), or after PostgreSQL's start-up handshake (greet=True: a
    server that stops answering once connected; a cancel request gets no answer either)."""

    def __init__(self, greet: bool) -> None:
        self.greet = greet
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed
                return
            self.held.append(connection)
            if self.greet:
                threading.Thread(target=self._handshake, args=(connection,), daemon=True).start()

    def _handshake(self, connection: socket.socket) -> None:
        try:
            length, code = struct.unpack("!ii", connection.recv(8, socket.MSG_WAITALL))
            if code == SSL_REQUEST:
                connection.sendall(b"N")
                length, code = struct.unpack("!ii", connection.recv(8, socket.MSG_WAITALL))
            if code == CANCEL_REQUEST:
                return
            connection.recv(length - 8, socket.MSG_WAITALL)  # user, database, settings
            connection.sendall(GREETING)
        except (OSError, struct.error):
            return

    def close(self) -> None:
        if self.listener.fileno() == -1:
            return
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() above
        self.listener.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def quiet_server():
    servers: list[QuietServer] = []

    def start(greet: bool = False) -> QuietServer:
        servers.append(QuietServer(greet))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@contextmanager
def tables_on(server: QuietServer, monkeypatch):
    """Every table on a PostgreSQL engine at `server`, then back on the test database."""

    async def no_server_to_ask(_engine) -> None:  # Piccolo asks for the version when an engine is made
        return None

    with monkeypatch.context() as patch:
        patch.setattr(PostgresEngine, "check_version", no_server_to_ask)
        engine = engine_from_url(f"postgresql://qianmo@127.0.0.1:{server.port}/qianmo", connect_timeout=TIMEOUT)
        for table in ALL_TABLES:
            patch.setattr(table._meta, "db", engine)
        yield engine


def test_pages_answer_503_while_the_database_hangs_and_recover_by_themselves(client, demo, monkeypatch, quiet_server):
    client.sign_in_as("officer")
    with tables_on(quiet_server(), monkeypatch):
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json() == {"status": "database unavailable"}
        home = client.get("/")  # the session is looked up first
        assert home.status_code == 503 and "服务暂不可用" in home.text and "请稍后再试" in home.text
        client.http.cookies.delete("qianmo_session")
        report = client.post("/report", data={"place": "1", "category": "noise", "description": "停水"})
        assert report.status_code == 503 and "服务暂不可用" in report.text
        client.http.cookies.set("qianmo_locale", "en", domain="testserver.local")
        english = client.get("/report")
        assert english.status_code == 503 and "Service unavailable" in english.text
        api = client.get("/api/v1/work-orders", headers={"Authorization": "Bearer qm_not_checked_yet"})
        assert api.status_code == 503 and api.json() == {"status_code": 503, "detail": "Service unavailable"}
    # The tables are back on the test database: the same app answers again, no restart.
    assert client.get("/healthz").status_code == 200
    assert client.get("/report").status_code == 200


def test_a_server_that_stops_answering_mid_connection_gives_503_not_a_hang(db, settings, monkeypatch, quiet_server):
    """The worker's pool, started as on app start-up: connected, then the server goes silent."""
    quick = replace(settings, db_pool=True, db_connect_timeout=TIMEOUT, db_statement_timeout=TIMEOUT)
    server = quiet_server(greet=True)
    with tables_on(server, monkeypatch) as engine:
        monkeypatch.setattr(main, "engine_finder", lambda: engine)  # open_pool's engine
        with TestClient(app=main.create_app(quick), base_url="http://testserver.local") as http:
            assert engine.pool is not None
            health, page = http.get("/healthz"), http.get("/report")
            server.close()  # hang up: the pool's goodbye at shutdown gets no answer otherwise
    assert health.status_code == 503
    assert page.status_code == 503 and "服务暂不可用" in page.text


def test_only_errors_of_a_database_that_does_not_answer_count_as_unavailable():
    """503 says "try again in a moment"; a bug, or a disk that is full, stays a logged 500."""
    import errno
    import sqlite3

    import asyncpg

    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorcode = sqlite3.SQLITE_BUSY
    broken_sql = sqlite3.OperationalError("no such column: x")
    broken_sql.sqlite_errorcode = sqlite3.SQLITE_ERROR
    down = [
        TimeoutError(),
        ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
        socket.gaierror(-2, "unknown"),
        OSError(errno.EHOSTUNREACH, "no route"),
        OSError("Multiple exceptions: [Errno 111] …"),
        locked,
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
    ]
    bugs = [
        ValueError("x"),
        KeyError("x"),
        OSError(errno.ENOSPC, "disk full"),
        FileNotFoundError("photo"),
        broken_sql,
        asyncpg.exceptions.UndefinedColumnError("column x does not exist"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
    ]
    assert [unavailable(e) for e in down] == [True] * len(down)
    assert [unavailable(e) for e in bugs] == [False] * len(bugs)
