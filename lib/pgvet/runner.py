"""Run checks: each in its own read-only transaction with its own timeouts.

Failures never stop the run; they become a status with a reason (see `results.STATUSES`):
`ok`, `partial` (some objects could not be checked: a statement timed out, a table is not
readable; the check lists them), `error`, `timeout` (statement or lock timeout), `skipped`
(missing extension, privilege or server version; no migrations folder). A lost connection is
re-opened once; the check that was running says `error: connection lost`.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import psycopg.errors
import sqlalchemy
from sqlalchemy import text

from . import __version__, pagedata
from .catalog import Check, load_checks, select_checks, selection_name
from .connection import Target, describe, engine
from .errors import ConnectionFailed, UsageError
from .options import RunOptions
from .redact import redact
from .results import AuditRun, CheckResult, Finding, PageData

LOST = "connection lost"
RECONNECT_SECONDS = 10   # a restarting server gets this long to come back, once per run
SHOWN_UNCHECKED = 5      # objects named in a partial check's reason; all are in `unchecked`

# User tables (and matviews) the role cannot read: left out of data checks, named in their status.
UNREADABLE_SQL = """
SELECT n.nspname || '.' || c.relname AS name,
       NOT (has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT')) AS unreadable
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp)'
ORDER BY 1
"""


def quiet(message: str) -> None:
    """The progress callback that says nothing (logs, schedulers, tests)."""


class Skip(Exception):
    """Raised before or during a check to mark it skipped with a reason."""


@dataclass
class CheckContext:
    """What a Python check receives: its connection (inside the check's read-only transaction),
    its resolved parameters, the target (for extra worker connections), the run options and a
    per-run cache. `not_checked(what, why)` records an object the check could not check."""

    conn: sqlalchemy.Connection
    params: dict
    target: Target
    options: RunOptions
    cache: dict
    notes: list[str] = field(default_factory=list)
    unchecked: list[tuple[str, str]] = field(default_factory=list)
    progress: bool = False

    @property
    def pg(self):
        """The underlying psycopg connection, for `psycopg.sql` compositions."""
        return self.conn.connection.driver_connection

    @property
    def timeout_ms(self) -> int:
        return self.options.statement_timeout_ms

    @property
    def unreadable(self) -> set[str]:
        """`schema.table` of the tables this role cannot SELECT from."""
        return self.cache.get("unreadable", set())

    def not_checked(self, what: str, why: str) -> None:
        if (what, why) not in self.unchecked:
            self.unchecked.append((what, why))


def _show_progress() -> bool:
    """Progress bars in a terminal or a Jupyter kernel, not in logs."""
    return sys.stderr.isatty() or "ipykernel" in sys.modules


def _unmet_requirement(conn: sqlalchemy.Connection, check: Check, server_version_num: int) -> str | None:
    req = check.requires
    if server_version_num < int(req.get("min_server_version", 0)):
        return f"needs PostgreSQL {int(req['min_server_version']) // 10000} or newer"
    for ext in req.get("extensions") or []:
        if not conn.execute(text("select 1 from pg_extension where extname = :e"), {"e": ext}).first():
            return f"extension {ext} is not installed in this database (CREATE EXTENSION {ext})"
    for role in req.get("privileges") or []:
        if not conn.execute(text("select pg_has_role(current_user, :r, 'USAGE') or "
                                 "(select rolsuper from pg_roles where rolname = current_user)"), {"r": role}).scalar():
            return f"needs membership in {role}"
    return None


def _named(items: list[str], shown: int = SHOWN_UNCHECKED) -> str:
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def connection_lost(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", exc)
    # a server error with its own SQLSTATE (out of shared memory, disk full…) leaves the session usable;
    # a lost session has none, or a connection-exception or shutdown code
    state = getattr(orig, "sqlstate", None)
    if state and not state.startswith(("08", "57P")):
        return bool(getattr(exc, "connection_invalidated", False))
    return bool(getattr(exc, "connection_invalidated", False)) or isinstance(
        orig, (psycopg.OperationalError, psycopg.errors.AdminShutdown)) and not isinstance(
        orig, (psycopg.errors.QueryCanceled, psycopg.errors.LockNotAvailable))


def classify(exc: BaseException) -> tuple[str, str]:
    """(status, one-line reason) for anything a check or a page-data query can raise."""
    orig = getattr(exc, "orig", exc)
    first = redact(str(orig)).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if isinstance(orig, psycopg.errors.QueryCanceled):
        return "timeout", f"statement timeout: {first}"
    if isinstance(orig, psycopg.errors.LockNotAvailable):
        return "timeout", f"lock timeout: {first}"
    if isinstance(orig, psycopg.errors.InsufficientPrivilege):
        return "skipped", f"missing privilege: {first}"
    if isinstance(orig, psycopg.errors.ObjectNotInPrerequisiteState):  # e.g. pg_stat_statements not preloaded
        return "skipped", first
    if isinstance(orig, Skip):
        return "skipped", first
    if connection_lost(exc):
        return "error", f"{LOST}: {first}"
    return "error", f"{type(orig).__name__}: {first}"


def guarded(conn: sqlalchemy.Connection, options: RunOptions, work: Callable[[], object]) -> tuple[str, str | None, object]:
    """Run `work` in a fresh read-only transaction with pgvet's timeouts; (status, reason, value), never raises
    for a database error or a defect in the work (a UsageError still stops the run)."""
    trans = None
    try:
        trans = conn.begin()
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        conn.execute(text("select set_config('statement_timeout', :t, true), set_config('lock_timeout', :l, true)"),
                     {"t": str(options.statement_timeout_ms), "l": str(options.lock_timeout_ms)})
        return "ok", None, work()
    except (sqlalchemy.exc.DBAPIError, psycopg.Error, Skip) as exc:
        return (*classify(exc), None)
    except UsageError:
        raise
    except Exception as exc:  # a defect in a Python check must not take the other checks down
        return "error", f"{type(exc).__name__}: {redact(str(exc)).strip()[:300]}", None
    finally:
        try:
            if trans is not None:
                trans.rollback()
        except Exception:  # the connection is gone; the caller reconnects
            pass


def _partial_reason(unchecked: list[tuple[str, str]]) -> str:
    by_why: dict[str, list[str]] = {}
    for what, why in unchecked:
        by_why.setdefault(why, []).append(what)
    return "; ".join(f"{len(items)} not checked ({why}): {_named(items)}" for why, items in by_why.items())


def run_check(conn: sqlalchemy.Connection, check: Check, overrides: dict | None = None,
              options: RunOptions = RunOptions(), server_version_num: int = 0,
              target: Target | None = None, cache: dict | None = None) -> CheckResult:
    """Run one check in a fresh read-only transaction; never raises for a failing check."""
    params = check.resolved_params(overrides)
    started = time.monotonic()
    cache = cache if cache is not None else {}
    ctx = CheckContext(conn, params, target, options, cache, progress=_show_progress())
    needs_select = check.reads in ("data", "stats")
    unreadable = sorted(cache.get("unreadable", ())) if needs_select else []

    def work():
        unmet = _unmet_requirement(conn, check, server_version_num)
        if unmet:
            raise Skip(unmet)
        if unreadable and len(unreadable) == cache.get("tables"):
            raise Skip(f"needs SELECT on {_named(unreadable)}")
        if check.function:
            return check.function(ctx)
        return [dict(r) for r in conn.execute(text(check.sql), params).mappings().all()]

    status, reason, rows = guarded(conn, options, work)
    findings = [Finding.from_row(check.id, check.severity, r) for r in rows or []]
    if status == "ok":
        for table in unreadable:
            ctx.not_checked(table, "needs SELECT")
        if ctx.unchecked:
            status, reason = "partial", _partial_reason(ctx.unchecked)
    return CheckResult(id=check.id, title=check.title, area=check.area, severity=check.severity, status=status,
                       reason=reason, duration_ms=int((time.monotonic() - started) * 1000), params=params,
                       findings=findings, notes=ctx.notes, unchecked=[f"{w} ({y})" for w, y in ctx.unchecked])


class _Session:
    """The run's one connection; re-opened once when the server drops it."""

    def __init__(self, target: Target, options: RunOptions):
        self.engine = engine(target, statement_timeout_ms=options.statement_timeout_ms,
                             lock_timeout_ms=options.lock_timeout_ms)
        self.conn = self.engine.connect()
        self.reconnected = False

    def reconnect(self) -> bool:
        """One new connection, trying for up to RECONNECT_SECONDS; False when this run already reconnected."""
        if self.reconnected:
            return False
        self.reconnected = True
        try:
            self.conn.close()
        except Exception:
            pass
        deadline, last = time.monotonic() + RECONNECT_SECONDS, None
        while time.monotonic() < deadline:
            try:
                self.conn = self.engine.connect()
                self.conn.exec_driver_sql("SELECT 1").close()
                self.conn.rollback()
                return True
            except (ConnectionFailed, sqlalchemy.exc.DBAPIError) as exc:
                last = exc
                time.sleep(1)
        first = (redact(str(last)).strip().splitlines() or ["no answer"])[0]
        raise ConnectionFailed(f"lost the connection to the server and could not reconnect: {first}")

    def close(self):
        try:
            self.conn.close()
        finally:
            self.engine.dispose()


def _lost_result(check: Check, params: dict | None) -> CheckResult:
    return CheckResult(id=check.id, title=check.title, area=check.area, severity=check.severity, status="error",
                       reason=f"{LOST}: not run", duration_ms=0, params=check.resolved_params(params))


def run_audit(target: Target, only: str | list[str] | None = None, params: dict | None = None,
              options: RunOptions = RunOptions(), checks: list[Check] | None = None,
              say: Callable[[str], None] = quiet) -> AuditRun:
    """Run the selected checks against `target` once, plus the page data of their areas; the whole run."""
    selected = select_checks(checks if checks is not None else load_checks(), only)
    areas = {c.area for c in selected}
    results: dict[str, CheckResult] = {}
    cache: dict = {}
    page_data: dict[str, PageData] = {}
    session = _Session(target, options)
    incomplete = False
    try:
        server = describe(session.conn.connection.driver_connection)
        status, reason, rows = guarded(session.conn, options, lambda: session.conn.execute(text(UNREADABLE_SQL)).all())
        cache["tables"] = len(rows or [])
        cache["unreadable"] = {r.name for r in rows or [] if r.unreadable}
        # catalog and counter reads first, so that pgvet's own data scans never show in the counters it reports
        steps = [("view", v) for v in pagedata.views(areas, before_data=True)]
        steps += [("check", c) for c in selected if c.reads != "data"]
        steps += [("check", c) for c in selected if c.reads == "data"]
        steps += [("view", v) for v in pagedata.views(areas, before_data=False)]
        for done, (kind, step) in enumerate(steps):
            say(f"{target.name}: {done + 1}/{len(steps)} {getattr(step, 'id', None) or step.name}")
            if incomplete:
                if kind == "check":
                    results[step.id] = _lost_result(step, params)
                continue
            if kind == "check":
                result = run_check(session.conn, step, params, options, server["server_version_num"], target, cache)
                cache.setdefault("results", {})[step.id] = result.findings  # later checks may build on them
                results[step.id] = result
                why = result.reason
            else:
                ctx = CheckContext(session.conn, dict(params or {}), target, options, cache)
                st, why, value = guarded(session.conn, options, lambda: step.function(ctx))
                page_data[step.name] = PageData(st, why, value)
            if (why or "").startswith(LOST) and not session.reconnect():
                incomplete = True   # lost a second time: the rest is not run
        incomplete = incomplete or session.reconnected
    finally:
        session.close()
    return AuditRun(target=target.name, generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    server_version=server["server_version"], pgvet_version=__version__,
                    checks=[results[c.id] for c in selected], pages=page_data,
                    selection=selection_name(only), incomplete=incomplete)
