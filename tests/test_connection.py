"""Guarded connections: read-only, timeouts, app name; one clear line for every way to fail."""
import socket
import threading

import psycopg
import pytest

from pgvet.connection import connect, resolve_target
from pgvet.errors import ConnectionFailed, UsageError


def test_a_write_through_pgvet_fails(db):
    db.sql("CREATE TABLE t (id int)")
    with connect(db.target) as conn:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO t VALUES (1)")
    assert db.sql("SELECT count(*) FROM t") == [(0,)]


def test_every_session_carries_the_guards(db):
    with connect(db.target, statement_timeout_ms=1234, lock_timeout_ms=567) as conn:
        row = conn.execute("select current_setting('application_name'), current_setting('statement_timeout'),"
                           " current_setting('lock_timeout'), current_setting('default_transaction_read_only')"
                           ).fetchone()
    assert row == ("pgvet", "1234ms", "567ms", "on")


def test_target_comes_from_the_environment_in_order(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/fromurl")
    assert resolve_target().name == "fromurl"
    monkeypatch.setenv("PGVET_DSN", "dbname=fromdsn")
    assert resolve_target().name == "fromdsn"
    assert resolve_target(service="prod").conninfo == "service=prod"


def test_a_malformed_dsn_is_a_usage_error():
    with pytest.raises(UsageError, match="invalid DSN"):
        resolve_target(dsn="host=db port")


def test_bad_password_is_one_clear_line(db, server):
    db.sql("CREATE ROLE pw_user LOGIN PASSWORD 'right-password'")
    try:
        target = resolve_target(dsn=f"host=127.0.0.1 port={server.port} dbname={db.name} user=pw_user "
                                    "password=wrong-password")
        with pytest.raises(ConnectionFailed) as exc:
            connect(target)
        msg = str(exc.value)
        assert msg.startswith("authentication failed") and "\n" not in msg and "wrong-password" not in msg
    finally:
        db.sql("DROP ROLE pw_user")


def test_missing_database_is_one_clear_line(server):
    with pytest.raises(ConnectionFailed, match="^database missing: .*nosuchdb"):
        connect(resolve_target(dsn=server.dsn(dbname="nosuchdb")))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_host_is_one_clear_line():
    with pytest.raises(ConnectionFailed, match="^cannot reach the server"):
        connect(resolve_target(dsn=f"host=127.0.0.1 port={_closed_port()} dbname=x user=x"))


def test_something_that_is_not_postgresql_is_named_as_such():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def answer_like_http():
        conn, _ = listener.accept()
        conn.recv(1024)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        conn.close()

    threading.Thread(target=answer_like_http, daemon=True).start()
    port = listener.getsockname()[1]
    try:
        with pytest.raises(ConnectionFailed, match="^not a PostgreSQL server"):
            connect(resolve_target(dsn=f"host=127.0.0.1 port={port} dbname=x user=x sslmode=disable"))
    finally:
        listener.close()
