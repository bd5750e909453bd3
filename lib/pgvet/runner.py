"""Run checks: each in its own read-only transaction with its own timeouts.

Failures never stop the run; they become a status with a reason:
`ok`, `error`, `timeout` (statement or lock timeout), `skipped` (missing extension,
privilege or server version).
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import psycopg.errors
import sqlalchemy
from sqlalchemy import text

from . import __version__
from .catalog import Check, load_checks, select_checks
from .errors import UsageError
from .connection import DEFAULT_STATEMENT_TIMEOUT_MS, Target, describe, engine
from .redact import redact
from .results import AuditRun, CheckResult, Finding


class Skip(Exception):
    """Raised before or during a check to mark it skipped with a reason."""


@dataclass
class CheckContext:
    """What a Python check receives: its connection (inside the check's read-only transaction),
    its resolved parameters, the target (for extra worker connections) and a per-run cache."""

    conn: sqlalchemy.Connection
    params: dict
    target: Target
    timeout_ms: int
    cache: dict
    notes: list[str] = field(default_factory=list)
    progress: bool = False

    @property
    def pg(self):
        """The underlying psycopg connection, for `psycopg.sql` compositions."""
        return self.conn.connection.driver_connection


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


def _classify(exc: BaseException) -> tuple[str, str]:
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
    return "error", f"{type(orig).__name__}: {first}"


def run_check(conn: sqlalchemy.Connection, check: Check, overrides: dict | None = None,
              timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS, server_version_num: int = 0,
              target: Target | None = None, cache: dict | None = None) -> CheckResult:
    """Run one check in a fresh read-only transaction; never raises for a failing check."""
    params = check.resolved_params(overrides)
    started = time.monotonic()
    status, reason, findings = "ok", None, []
    ctx = CheckContext(conn, params, target, timeout_ms, cache if cache is not None else {}, progress=_show_progress())
    trans = conn.begin()
    try:
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        conn.execute(text("select set_config('statement_timeout', :t, true)"), {"t": str(int(timeout_ms))})
        unmet = _unmet_requirement(conn, check, server_version_num)
        if unmet:
            raise Skip(unmet)
        if check.function:
            rows = check.function(ctx)
        else:
            rows = [dict(r) for r in conn.execute(text(check.sql), params).mappings().all()]
        findings = [Finding.from_row(check.id, check.severity, r) for r in rows]
    except (sqlalchemy.exc.DBAPIError, psycopg.Error, Skip) as exc:
        status, reason = _classify(exc)
    except UsageError:
        raise  # a bad parameter value stops the run before any report is written
    except Exception as exc:  # a defect in a Python check must not take the other checks down
        status, reason = "error", f"{type(exc).__name__}: {redact(str(exc)).strip()[:300]}"
    finally:
        trans.rollback()
    return CheckResult(id=check.id, title=check.title, area=check.area, severity=check.severity, status=status,
                       reason=reason, duration_ms=int((time.monotonic() - started) * 1000), params=params,
                       findings=findings, notes=ctx.notes)


def run_audit(target: Target, only: str | list[str] | None = None, params: dict | None = None,
              timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS, checks: list[Check] | None = None) -> AuditRun:
    """Run the selected checks against `target` and return the whole run."""
    selected = select_checks(checks if checks is not None else load_checks(), only)
    results, cache = [], {}
    eng = engine(target)
    with eng.connect() as conn:  # one connection for the whole run; it also tells the server version
        server = describe(conn.connection.driver_connection)
        for check in sorted(selected, key=lambda c: c.reads == "data"):
            result = run_check(conn, check, params, timeout_ms, server["server_version_num"], target, cache)
            cache.setdefault("results", {})[check.id] = result.findings  # later checks may build on them
            results.append(result)
    results.sort(key=lambda r: [c.id for c in selected].index(r.id))  # back to catalogue order
    eng.dispose()
    return AuditRun(target=target.name, generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    server_version=server["server_version"], pgvet_version=__version__, checks=results)
