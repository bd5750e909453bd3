"""Targets and guarded connections: read-only, timeouts, application_name='pgvet'.

A target is a libpq service name, a DSN, or the environment (`PGVET_DSN`, then
`DATABASE_URL`, then libpq's own `PG*` variables). Passwords stay with libpq.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

import psycopg
import sqlalchemy
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy.pool import NullPool

from .errors import ConnectionFailed, UsageError
from .options import RunOptions
from .redact import redact, remember_secret

MIN_SERVER_VERSION = 130000
DEFAULT_STATEMENT_TIMEOUT_MS = RunOptions.statement_timeout_ms
DEFAULT_LOCK_TIMEOUT_MS = RunOptions.lock_timeout_ms
DEFAULT_CONNECT_TIMEOUT_S = 5


QUERY_TAG = "/* pgvet */"
# The tag goes after the statement's first keyword: PostgreSQL 18's pg_stat_statements stores a
# statement from its first token, dropping a leading comment; a comment inside it is kept (13-18).
_FIRST_KEYWORD = re.compile(r"^(\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*)([A-Za-z]+)", re.S)


def tagged(query: str) -> str:
    """`query` with QUERY_TAG right after its first keyword (or in front when it has none)."""
    tagged_query, n = _FIRST_KEYWORD.subn(lambda m: f"{m.group(1)}{m.group(2)} {QUERY_TAG}", query, count=1)
    return tagged_query if n else f"{QUERY_TAG} {query}"


class TaggedCursor(psycopg.Cursor):
    """Tags every statement (see QUERY_TAG), so that top_queries can leave pgvet's own statements out."""

    def execute(self, query, params=None, **kwargs):
        if isinstance(query, sql.Composable):
            query = query.as_string(self.connection)
        if isinstance(query, bytes):
            query = query.decode()
        return super().execute(tagged(query), params, **kwargs)


@dataclass(frozen=True)
class Target:
    """What to audit. `conninfo` never needs to carry a password."""

    name: str
    conninfo: str

    @property
    def display(self) -> str:
        """A printable description without secrets."""
        return redact(self.conninfo) or "(libpq environment)"


def resolve_target(dsn: str | None = None, service: str | None = None, name: str | None = None) -> Target:
    """Build a Target from --dsn / --service / the environment; raises UsageError on a bad DSN."""
    if dsn and service:
        raise UsageError("give either --dsn or --service, not both")
    if service:
        conninfo = make_conninfo(service=service)
    else:
        conninfo = dsn or os.environ.get("PGVET_DSN") or os.environ.get("DATABASE_URL") or ""
    try:
        parts = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as exc:
        raise UsageError(f"invalid DSN: {redact(str(exc)).splitlines()[0]}") from None
    remember_secret(parts.get("password"))
    default_name = service or parts.get("dbname") or os.environ.get("PGDATABASE") or "default"
    return Target(name=name or str(default_name), conninfo=conninfo)


def guarded_conninfo(target: Target, statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
                     lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS) -> str:
    """The target's conninfo plus pgvet's session guards (read-only, timeouts, app name)."""
    parts = conninfo_to_dict(target.conninfo)
    guards = (f"-c default_transaction_read_only=on -c statement_timeout={int(statement_timeout_ms)}"
              f" -c lock_timeout={int(lock_timeout_ms)} -c idle_in_transaction_session_timeout=600000")
    options = f"{parts.get('options', '')} {guards}".strip()
    extra = {"connect_timeout": parts.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT_S)}
    return make_conninfo(target.conninfo, application_name="pgvet", options=options, **extra)


def explain_connection_error(exc: Exception) -> str:
    """Turn a libpq failure into one clear line, without secrets."""
    msg = redact(str(exc)).strip()
    lower = msg.lower()
    first = next((line.strip() for line in msg.splitlines() if line.strip()), "unknown error")
    if "password authentication failed" in lower or "no password supplied" in lower:
        return f"authentication failed: {first.split('FATAL:')[-1].strip()} (check your pgpass or service file)"
    if "does not exist" in lower and "database" in lower:
        return f"database missing: {first.split('FATAL:')[-1].strip()}"
    if "role" in lower and "does not exist" in lower:
        return f"login failed: {first.split('FATAL:')[-1].strip()}"
    if any(s in lower for s in ("ssl negotiation", "expected authentication request", "invalid response",
                                "server closed the connection unexpectedly", "bad protocol", "unsupported frontend protocol")):
        return f"not a PostgreSQL server: {first}"
    if any(s in lower for s in ("connection refused", "could not translate host", "no route to host", "timeout expired",
                                "network is unreachable", "no such file or directory", "name or service not known",
                                "connection timed out")):
        return f"cannot reach the server: {first}"
    return f"cannot connect: {first}"


def connect(target: Target, **guards) -> psycopg.Connection:
    """A guarded psycopg connection; raises ConnectionFailed with one clear line."""
    try:
        conn = psycopg.connect(guarded_conninfo(target, **guards), autocommit=False, cursor_factory=TaggedCursor)
    except psycopg.Error as exc:
        raise ConnectionFailed(explain_connection_error(exc)) from None
    version = conn.info.server_version
    if version < MIN_SERVER_VERSION:
        conn.close()
        raise ConnectionFailed(f"server version {version // 10000} is older than 13, which pgvet needs")
    return conn


def engine(target: Target, **guards) -> sqlalchemy.Engine:
    """SQLAlchemy 2 engine on psycopg 3 whose every session carries pgvet's guards."""
    # no hstore lookup on connect: an untagged catalog query pgvet would otherwise report as the user's
    return sqlalchemy.create_engine("postgresql+psycopg://", creator=lambda: connect(target, **guards),
                                    poolclass=NullPool, use_native_hstore=False)


def describe(conn: psycopg.Connection) -> dict:
    """Server version, database and user of an open connection (no query needed)."""
    info = conn.info
    return {"server_version": info.parameter_status("server_version"), "database": info.dbname,
            "user": info.user, "server_version_num": info.server_version}


def probe(target: Target) -> dict:
    """Connect once and describe the server; raises ConnectionFailed."""
    with connect(target) as conn:
        return describe(conn)
