"""Exact bloat on demand: pgstattuple_approx / pgstatindex on the estimate's candidates only.

Each measurement runs in a savepoint under the check's statement timeout; a missing extension or
privilege, or a measurement that fails, becomes a note on the check, never an error of the check.
"""
from __future__ import annotations

import psycopg
from sqlalchemy import text

EXACT_TABLE = "SELECT table_len, dead_tuple_len, approx_free_space FROM pgstattuple_approx(%s::oid::regclass)"
EXACT_INDEX = ("SELECT index_size, leaf_pages, empty_pages, deleted_pages, avg_leaf_density "
               "FROM pgstatindex(%s::oid::regclass)")
CAN_MEASURE = """
SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgstattuple') AS installed,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       OR pg_has_role(current_user, 'pg_stat_scan_tables', 'USAGE') AS allowed
"""


def _why_not(conn) -> str | None:
    installed, allowed = conn.execute(CAN_MEASURE).fetchone()
    if not installed:
        return "extension pgstattuple is not installed in this database (CREATE EXTENSION pgstattuple)"
    if not allowed:
        return "needs superuser or membership in pg_stat_scan_tables"
    return None


def _table_waste(row, fillfactor: int) -> int:
    table_len, dead_len, free = row
    return max(0, int(dead_len + free - table_len * (100 - fillfactor) / 100))


def _index_waste(row, fillfactor: int, block_size: int) -> int | None:
    _, leaf, empty, deleted, density = row
    if density is None or density != density:  # NaN on an empty index
        return None
    return int((empty + deleted) * block_size + leaf * block_size * max(0.0, 1 - density / fillfactor))


def add_exact(ctx, rows: list[dict], kind: str) -> None:
    """Add `exact_wasted_bytes` and `exact_bloat_pct` to rows of size >= exact_min_bytes (kind: table|index)."""
    if not ctx.params["exact_bloat"] or not rows:
        return
    conn = ctx.pg
    reason = _why_not(conn)
    if reason:
        ctx.notes.append(f"exact measurement skipped: {reason}")
        return
    size_key = f"{kind}_bytes"
    for row in rows:
        if row[size_key] < ctx.params["exact_min_bytes"]:
            continue
        try:
            with conn.transaction():
                measured = conn.execute(EXACT_TABLE if kind == "table" else EXACT_INDEX, (row["oid"],)).fetchone()
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            ctx.notes.append(f"exact measurement of {row['schema']}.{row.get('object') or row['table']} failed: {first}")
            continue
        waste = (_table_waste(measured, row["fillfactor"]) if kind == "table"
                 else _index_waste(measured, row["fillfactor"], int(row["block_size"])))
        if waste is not None:
            row["exact_wasted_bytes"] = waste
            row["exact_bloat_pct"] = round(100.0 * waste / max(row[size_key], 1), 1)
            row["exact_method"] = "pgstattuple_approx" if kind == "table" else "pgstatindex"


def estimate_and_measure(ctx, estimate_sql: str, kind: str) -> list[dict]:
    """Rows of an estimate query (which also selects `oid` and `block_size`), measured on demand."""
    rows = [dict(r) for r in ctx.conn.execute(text(estimate_sql), ctx.params).mappings().all()]
    add_exact(ctx, rows, kind)
    for r in rows:
        del r["oid"], r["block_size"]
    return rows
