"""Fixtures on a real embedded PostgreSQL: one server per test session, one database per test."""
from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from pgvet import demo  # noqa: E402
from pgvet.connection import resolve_target  # noqa: E402
from pgvet.runner import run_audit  # noqa: E402
from pgvet.server import EmbeddedServer  # noqa: E402

_counter = itertools.count()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = EmbeddedServer(tmp_path_factory.mktemp("pgserver"))
    info = srv.start()
    yield info
    srv.remove()


PG15_BIN = Path("/usr/lib/postgresql/15/bin")
HYPOPG = Path("/usr/share/postgresql/15/extension/hypopg.control")


@pytest.fixture(scope="session")
def pg15_server(tmp_path_factory):
    """Debian's PostgreSQL 15 (make test installs it as root), a second major version."""
    if not (PG15_BIN / "postgres").exists() or not HYPOPG.exists():
        pytest.skip("Debian's postgresql-15 and postgresql-15-hypopg are not installed")
    srv = EmbeddedServer(tmp_path_factory.mktemp("pg15"), bin_dir=PG15_BIN)
    info = srv.start()
    yield info
    srv.remove()


def _pgserver_bin() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("pgserver")   # the wheel's binaries only; its Python API is not used
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
    return folder if (folder / "postgres").exists() else None


@pytest.fixture(scope="session")
def pg16_server(tmp_path_factory):
    """PostgreSQL 16 from the pgserver wheel (a test dependency), started by our own launcher."""
    folder = _pgserver_bin()
    if folder is None:
        pytest.skip("the pgserver wheel (PostgreSQL 16) is not installed")
    srv = EmbeddedServer(tmp_path_factory.mktemp("pg16"), bin_dir=folder)
    info = srv.start()
    yield info
    srv.remove()


def new_database(server, name: str) -> "Database":
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return Database(server, name)


@pytest.fixture(scope="session")
def admin_dsn(server) -> str:
    return server.dsn()


class Database:
    """A fresh database: `sql()` runs setup as superuser, `target` is what pgvet audits."""

    def __init__(self, server, name: str):
        self.server, self.name = server, name
        self.dsn = server.dsn(dbname=name)
        self.target = resolve_target(dsn=self.dsn, name=name)

    def sql(self, statement: str, params=None):
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description else None

    def audit(self, only: str, **params):
        return run_audit(self.target, only=only, params=params)

    def findings(self, check: str, **params):
        run = self.audit(check, **params)
        (result,) = run.checks
        assert result.status == "ok", result.reason
        return {f.key: f for f in result.findings}


@pytest.fixture
def db(server, admin_dsn):
    name = f"t{os.getpid()}_{next(_counter)}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield Database(server, name)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def demo_db(server, admin_dsn):
    name = demo.build(admin_dsn)
    return Database(server, name)


@pytest.fixture(scope="session")
def demo_audit(demo_db):
    return run_audit(demo_db.target, params=demo.report_params())


# -- a run that skipped tests (no Chromium, no PostgreSQL 15, not root) says so in its very last line --
_SKIPPED: dict[str, int] = {}


def pytest_runtest_logreport(report):
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        _SKIPPED[reason] = _SKIPPED.get(reason, 0) + 1


def pytest_unconfigure(config):
    if _SKIPPED:
        print("\nskipped, so not verified here: " + "; ".join(f"{n} test{'s' if n > 1 else ''}: {why}"
                                                           for why, n in sorted(_SKIPPED.items())))
