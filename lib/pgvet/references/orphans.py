"""Count orphaned rows: one scan per child table for all of its references, tables in parallel.

Each child table gets one query that LEFT JOINs every parent it refers to and counts, per
reference, the rows with a value and the rows whose value has no parent. NULLs are never
orphans (MATCH SIMPLE: a row with any NULL in a composite reference is not checked).
Tables above `sample_above_rows` are read through `TABLESAMPLE BERNOULLI` (every page is read,
so clustered orphans are not missed the way SYSTEM sampling misses them) and the count becomes
an estimate with a 95 % Wilson interval. A table whose query times out is reported as such.
"""
from __future__ import annotations

import math
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from itertools import groupby

import psycopg
from psycopg import sql
from tqdm import tqdm

from ..connection import Target, connect
from ..redact import redact
from .model import Reference

SAMPLE_SEED = 42
Z95 = 1.96


@dataclass
class OrphanCount:
    reference: Reference
    method: str                      # exact | sampled | timeout | error
    checked_rows: int | None = None
    non_null: int | None = None
    orphans: int | None = None
    missing_parents: int | None = None
    estimate_low: int | None = None
    estimate_high: int | None = None
    reason: str | None = None


def _columns(alias: str, names) -> list[sql.Composable]:
    return [sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(n)) for n in names]


def table_query(refs: list[Reference], sample_percent: float | None = None) -> sql.Composed:
    """One statement counting rows, non-null values and orphans for every reference of one child table."""
    child = refs[0]
    selects = [sql.SQL("count(*)")]
    joins = []
    for i, ref in enumerate(refs):
        alias = f"p{i}"
        mine = _columns("c", ref.columns)
        theirs = _columns(alias, ref.ref_columns)
        not_null = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(c) for c in mine)
        orphan = sql.SQL("{} AND {} IS NULL").format(not_null, theirs[0])
        value = mine[0] if len(mine) == 1 else sql.SQL("ROW({})").format(sql.SQL(", ").join(mine))
        selects += [sql.SQL("count(*) FILTER (WHERE {})").format(not_null),
                    sql.SQL("count(*) FILTER (WHERE {})").format(orphan),
                    sql.SQL("count(DISTINCT {}) FILTER (WHERE {})").format(value, orphan)]
        on = sql.SQL(" AND ").join(sql.SQL("{} = {}").format(t, m) for t, m in zip(theirs, mine))
        # select only the key columns of the parent so that an index-only scan can serve it
        joins.append(sql.SQL("LEFT JOIN (SELECT {keys} FROM {parent}) {alias} ON {on}").format(
            keys=sql.SQL(", ").join(sql.Identifier(k) for k in ref.ref_columns), parent=ref.ref_qualified(),
            alias=sql.Identifier(alias), on=on))
    sample = (sql.SQL(" TABLESAMPLE BERNOULLI ({}) REPEATABLE ({})").format(
        sql.Literal(round(sample_percent, 6)), sql.Literal(SAMPLE_SEED)) if sample_percent else sql.SQL(""))
    return sql.SQL("SELECT {selects} FROM {child} c{sample} {joins}").format(
        selects=sql.SQL(", ").join(selects), child=child.qualified(), sample=sample, joins=sql.SQL(" ").join(joins))


def wilson_interval(hits: int, n: int) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    denom = 1 + Z95 ** 2 / n
    centre = (p + Z95 ** 2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _results(refs: list[Reference], row: tuple, sample_percent: float | None) -> list[OrphanCount]:
    checked = row[0]
    out = []
    for i, ref in enumerate(refs):
        non_null, orphans, missing = row[1 + 3 * i: 4 + 3 * i]
        if not sample_percent:
            out.append(OrphanCount(ref, "exact", checked, non_null, orphans, missing))
            continue
        population = max(ref.rows, checked)
        low, high = wilson_interval(orphans, checked)
        scale = population / checked if checked else 0
        out.append(OrphanCount(ref, "sampled", checked, round(non_null * scale), round(orphans * scale), None,
                               max(orphans, math.floor(low * population)), math.ceil(high * population)))
    return out


class _Connections:
    """One guarded connection per worker thread, closed together at the end."""

    def __init__(self, target: Target, timeout_ms: int):
        self.target, self.timeout_ms = target, timeout_ms
        self.local, self.opened, self.lock = threading.local(), [], threading.Lock()

    def get(self) -> psycopg.Connection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = connect(self.target, statement_timeout_ms=self.timeout_ms)
            with self.lock:
                self.opened.append(conn)
        return conn

    def close(self):
        for conn in self.opened:
            conn.close()


def _count_table(conns: _Connections, refs: list[Reference], sample_above_rows: int,
                 sample_rows: int) -> list[OrphanCount]:
    rows = refs[0].rows
    sample_percent = 100.0 * sample_rows / rows if sample_above_rows and rows > sample_above_rows else None
    conn = conns.get()
    try:
        conn.execute("SET TRANSACTION READ ONLY")
        row = conn.execute(table_query(refs, sample_percent)).fetchone()
        return _results(refs, row, sample_percent)
    except psycopg.errors.QueryCanceled:
        return [OrphanCount(r, "timeout", reason=f"statement timeout: not finished within {conns.timeout_ms} ms")
                for r in refs]
    except psycopg.errors.LockNotAvailable:
        return [OrphanCount(r, "timeout", reason="lock timeout: the table is locked by another session")
                for r in refs]
    except psycopg.Error as exc:
        reason = redact(str(exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [OrphanCount(r, "error", reason=reason) for r in refs]
    finally:
        conn.rollback()


def count_orphans(target: Target, refs: list[Reference], jobs: int = 2, timeout_ms: int = 30_000,
                  sample_above_rows: int = 0, sample_rows: int = 1_000_000,
                  progress: bool = False) -> dict[str, OrphanCount]:
    """Orphan counts keyed by reference key; `jobs` tables are counted at the same time."""
    countable = sorted((r for r in refs if r.countable), key=lambda r: (r.schema, r.table))
    groups = [list(g) for _, g in groupby(countable, key=lambda r: (r.schema, r.table))]
    groups.sort(key=lambda g: -g[0].rows)  # the biggest tables first keep all workers busy
    conns = _Connections(target, timeout_ms)
    out: dict[str, OrphanCount] = {}
    try:
        with ThreadPoolExecutor(max_workers=max(1, int(jobs))) as pool, \
                tqdm(total=len(groups), desc="counting orphans", unit="table", file=sys.stderr,
                     disable=not progress or not groups, leave=False) as bar:
            futures = [pool.submit(_count_table, conns, g, sample_above_rows, sample_rows) for g in groups]
            for fut in as_completed(futures):
                for result in fut.result():
                    out[result.reference.key] = result
                bar.update(1)
    finally:
        conns.close()
    return out
