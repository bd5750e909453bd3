"""Page data: what the report pages draw besides findings, captured inside the audit run.

Each view belongs to an area (its page) and runs in the audit's connection with the same guards as
a check; its result is saved with the run (`pages.json`), so a page renders without a connection.
Views of activity counters run before the checks that scan tables, so pgvet's own reads never show.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy import text

from .catalog import load_checks
from .references import all_references
from .references.explore import orphan_sample, reference_rows
from .results import _plain


@dataclass(frozen=True)
class View:
    name: str
    area: str
    before_data: bool
    function: Callable


_VIEWS: list[View] = []


def view(area: str, before_data: bool = False):
    def register(function):
        _VIEWS.append(View(function.__name__, area, before_data, function))
        return function
    return register


def views(areas: set[str], before_data: bool) -> list[View]:
    return [v for v in _VIEWS if v.area in areas and v.before_data == before_data]


def _rows(ctx, query: str, params: dict | None = None) -> list[dict]:
    return [{k: _plain(v) for k, v in r.items()} for r in ctx.conn.execute(text(query), params or {}).mappings()]


def _check_rows(ctx, check_id: str, thresholds: dict) -> list[dict]:
    """A SQL check's rows with some thresholds replaced (e.g. at 0, to show every counter, not only alarms)."""
    check = next(c for c in load_checks() if c.id == check_id)
    return _rows(ctx, check.sql, check.resolved_params({f"{check_id}.{k}": v for k, v in thresholds.items()}))


@view("scans", before_data=True)
def activity(ctx) -> list[dict]:
    """Per table: sequential scans, rows they read, index scans, size and rows."""
    return _rows(ctx, """
        SELECT s.schemaname || '.' || s.relname AS "table", s.seq_scan, s.seq_tup_read,
               coalesce(s.idx_scan, 0) AS idx_scan, pg_relation_size(s.relid) AS table_bytes,
               greatest(c.reltuples, 0)::bigint AS table_rows
        FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
        ORDER BY s.seq_tup_read DESC, 1""")


def _hints(ctx) -> tuple[str, str]:
    def param(name):
        return next((str(v) for k, v in ctx.params.items() if k.rpartition(".")[2] == name and v), "")
    return param("hints_file"), param("migrations_dir")


def _references(ctx):
    hints_file, migrations_dir = _hints(ctx)
    ctx.params = {"hints_file": hints_file, "migrations_dir": migrations_dir}
    return all_references(ctx)


@view("references")
def relationships(ctx) -> list[dict]:
    """Every declared and inferred reference with its evidence (the checks' discovery, read once per run)."""
    return reference_rows(_references(ctx))


@view("references")
def orphans(ctx) -> dict:
    """A few orphaned rows (keys only) of the drill-down reference, or of the one with the most orphans."""
    wanted = ctx.options.drill_down
    if not wanted:
        found = ctx.cache.get("results", {}).get("orphaned_rows", [])
        worst = max(found, key=lambda f: f.metrics.get("orphans") or 0, default=None)
        if worst is None:
            return {"reference": None, "rows": []}
        wanted = worst.key.split(":", 1)[1]
    ref = next((r for r in _references(ctx) if r.key == wanted and r.countable), None)
    if ref is None:
        return {"reference": wanted, "rows": [], "reason": "no countable reference of that name"}
    return {"reference": wanted, "rows": orphan_sample(ctx.pg, ref)}


@view("bloat")
def headroom(ctx) -> list[dict]:
    """Transaction-ID age and sequence use as % of their limits, every counter (thresholds at 0)."""
    rows = [{"what": f"transaction IDs: {r.get('object') or r['schema'] + '.' + r['table']}",
             "used_pct": r["pct_of_limit"]} for r in _check_rows(ctx, "xid_wraparound", {"warn_age": 0})][:6]
    rows += [{"what": f"sequence {r['schema']}.{r['object']} -> {r['table']}.{r.get('column') or ''}".rstrip("."),
              "used_pct": r["used_pct"]} for r in _check_rows(ctx, "sequence_overflow", {"warn_pct": 0})][:6]
    return rows


@view("schema")
def widest_columns(ctx) -> list[dict]:
    """The widest variable-width columns (toast_heavy_columns with its thresholds at 0)."""
    rows = [{"column": f"{r['schema']}.{r['table']}.{r['column']}", "avg_width": r.get("avg_width") or 0,
             "toast_bytes": r.get("toast_bytes") or 0}
            for r in _check_rows(ctx, "toast_heavy_columns", {"min_avg_width": 0, "min_toast_bytes": 0})]
    return sorted(rows, key=lambda r: -r["avg_width"])[:15]
