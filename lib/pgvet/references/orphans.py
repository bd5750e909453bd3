"""Count orphaned rows: per child table one counting scan, then one anti-join per reference the scan
could not decide.

Per child table, in one REPEATABLE READ, read-only transaction (so every number comes from the
same snapshot):
0. for a single-column integer reference whose parent is not much bigger than the child, the
   parent's keys are profiled from its key index: their range, and the missing values inside it
   when there are at most `max_gaps` of them. A value is then an orphan exactly when it lies outside
   the range or is one of those gaps — which the counting scan decides with no join at all;
1. one scan counts the rows and, for each reference, the rows with a value — and, for every
   profiled reference, its orphans and distinct missing keys: the scan collects the orphan values
   when the planner expects few of them, else a second scan filtered to the orphan rows counts
   the distinct keys;
2. each other reference gets a NOT EXISTS anti-join that counts orphans and the distinct missing keys
   (only orphan rows reach the DISTINCT). When the child column leads a btree and the parent
   has 10k+ keys, hash joins are switched off for that statement so the planner merges two ordered index
   scans instead of building a parent hash table that outgrows the CPU caches.
Why not one scan for all references: bench/orphans.md measured a chain of hash LEFT JOINs at
2-4x the cost of separate anti-joins (each probe pipeline fights for cache), while a plain
counting scan costs a fraction of one anti-join.

NULLs are never orphans (MATCH SIMPLE: a row with a NULL in any column of a composite reference
is not checked). Tables above `sample_above_rows` are read through `TABLESAMPLE BERNOULLI`
(every page is read, so orphans clustered by a bulk delete are not missed the way SYSTEM
sampling misses them) and the count becomes an estimate with a 95 % Wilson interval. A statement
that times out marks its reference as such; the others are still counted.
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
from ..options import RunOptions
from ..redact import redact
from .model import Reference

SAMPLE_SEED = 42
Z95 = 1.96
MERGE_MIN_PARENT_ROWS = 10_000     # from here on an indexed reference is counted by a merge anti-join
# Profiling a parent reads its whole key index: worth it while the parent is at most this many times
# the child (a tiny child of a huge parent is cheaper to probe row by row).
RANGE_MAX_PARENT_PER_CHILD = 2
INTEGER_TYPES = {"smallint", "integer", "bigint", "int2", "int4", "int8"}


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
    counted_by: str = "anti-join"    # or "key range": decided by the parent's key range in the counting scan


def _child_columns(ref: Reference) -> list[sql.Composable]:
    return [sql.SQL("c.{}").format(sql.Identifier(n)) for n in ref.columns]


def _not_null(ref: Reference) -> sql.Composable:
    return sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(c) for c in _child_columns(ref))


def _child(ref: Reference, sample_percent: float | None) -> sql.Composable:
    sample = (sql.SQL(" TABLESAMPLE BERNOULLI ({}) REPEATABLE ({})").format(
        sql.Literal(round(sample_percent, 6)), sql.Literal(SAMPLE_SEED)) if sample_percent else sql.SQL(""))
    return sql.SQL("{} c{}").format(ref.qualified(), sample)


@dataclass(frozen=True)
class KeyRange:
    """A parent's integer keys: every value from `lo` to `hi` but the `gaps` (an empty parent: lo > hi)."""

    lo: int
    hi: int
    gaps: tuple[int, ...] = ()


def profiled(ref: Reference, max_gaps: int) -> bool:
    """Whether the reference's orphans can be decided from its parent's key range."""
    return (max_gaps >= 0 and len(ref.columns) == 1 and ref.comparable and ref.polymorphic_type_column is None
            and (ref.column_type or "").lower() in INTEGER_TYPES
            and (ref.referenced_type or "").lower() in INTEGER_TYPES
            and ref.ref_rows <= RANGE_MAX_PARENT_PER_CHILD * max(ref.rows, 1))


# The key's unique index: NULL when it has none, else whether the column is NOT NULL too (count(*) then
# counts its keys without reading the column).
UNIQUE_KEY = sql.SQL("""(SELECT bool_or(a.attnotnull) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid
                                 AND a.attnum = i.indkey[0]
                           WHERE i.indrelid = {parent}::regclass AND i.indisunique AND i.indnkeyatts = 1
                             AND i.indpred IS NULL AND a.attname = {column})""")


GAP_BUCKET = 256   # keys per bucket when looking for gaps: only buckets short of keys are read key by key


def key_range(conn: psycopg.Connection, ref: Reference, max_gaps: int) -> KeyRange | None:
    """The parent's key range and gaps, or None when it has more than `max_gaps` missing values (or
    its key is not unique). The parent's row estimate only picks the cheaper way to find out."""
    parent, key = ref.ref_qualified(), sql.Identifier(ref.ref_columns[0])
    unique_key = UNIQUE_KEY.format(parent=sql.Literal(parent.as_string(conn)), column=sql.Literal(ref.ref_columns[0]))
    lo, hi, not_null = conn.execute(sql.SQL("SELECT min({k}), max({k}), {u} FROM {p}").format(   # the index's ends
        k=key, p=parent, u=unique_key)).fetchone()
    unique = not_null is not None
    if lo is None:
        return KeyRange(1, 0)                      # no parent at all: every value is an orphan
    span = hi - lo + 1
    if not unique or (ref.ref_rows and span - ref.ref_rows > 2 * max_gaps + GAP_BUCKET):
        return None                                # by far more gaps than allowed: the key is not read
    if ref.ref_rows >= span:                       # most likely gapless: counting the keys proves it
        keys = conn.execute(sql.SQL("SELECT count({k}) FROM {p}").format(
            k=sql.SQL("*") if not_null else key, p=parent)).fetchone()[0]
        if keys == span or span - keys > max_gaps:
            return KeyRange(lo, hi) if keys == span else None
    buckets = _short_buckets(conn, parent, key, lo, span, max_gaps)
    return None if buckets is None else KeyRange(lo, hi, _gaps(conn, parent, key, lo, hi, buckets))


def _short_buckets(conn: psycopg.Connection, parent: sql.Composable, key: sql.Identifier, lo: int, span: int,
                   max_gaps: int) -> list[int] | None:
    """The buckets of GAP_BUCKET values that miss keys (None: more than `max_gaps` keys missing): one
    pass counts the keys per bucket (half the cost of a `lag()` window over every key)."""
    w = sql.Literal(GAP_BUCKET)
    per_bucket = sql.SQL("SELECT ({k}::bigint - {lo}) / {w} AS b, count(*) AS n FROM {p} WHERE {k} IS NOT NULL "
                         "GROUP BY 1").format(k=key, p=parent, w=w, lo=sql.Literal(lo))
    keys, filled, short = conn.execute(sql.SQL(
        "SELECT coalesce(sum(n), 0)::bigint, count(*), coalesce(array_agg(b) FILTER (WHERE n < least({w}, {span} - b * {w})), "
        "'{{}}') FROM ({q}) s").format(q=per_bucket, w=w, span=sql.Literal(span))).fetchone()
    if span - keys > max_gaps:
        return None
    if filled < (span - 1) // GAP_BUCKET + 1:      # whole buckets without a key: found against the full list
        short = conn.execute(sql.SQL(
            "SELECT coalesce(array_agg(b.b), '{{}}') FROM generate_series(0::bigint, {last}) b(b) LEFT JOIN ({q}) s "
            "ON s.b = b.b WHERE coalesce(s.n, 0) < least({w}, {span} - b.b * {w})").format(
            q=per_bucket, w=w, span=sql.Literal(span), last=sql.Literal((span - 1) // GAP_BUCKET))).fetchone()[0]
    return short


def _gaps(conn: psycopg.Connection, parent: sql.Composable, key: sql.Identifier, lo: int, hi: int,
          buckets: list[int]) -> tuple[int, ...]:
    """The missing keys of the short `buckets`: only their keys are read from the key index and set
    against the values they should hold."""
    w = sql.Literal(GAP_BUCKET)
    start = sql.SQL("{} + b * {}").format(sql.Literal(lo), w)
    rows = conn.execute(sql.SQL(
        "SELECT g FROM unnest({bs}::bigint[]) b, generate_series({s}, least({hi}, {s} + {w} - 1)) g "
        "EXCEPT SELECT p.{k} FROM unnest({bs}::bigint[]) b JOIN {p} p ON p.{k} BETWEEN {s} AND {s} + {w} - 1 "
        "ORDER BY 1").format(bs=sql.Literal(buckets), s=start, hi=sql.Literal(hi), w=w, k=key, p=parent)).fetchall()
    return tuple(g for (g,) in rows)


def range_orphan(ref: Reference, keys: KeyRange) -> sql.Composed:
    """True for a row whose value no parent key has: outside the range, or one of its gaps."""
    c = _child_columns(ref)[0]          # NULL makes both tests NULL: never an orphan
    outside = sql.SQL("{c} NOT BETWEEN {lo} AND {hi}").format(c=c, lo=sql.Literal(keys.lo), hi=sql.Literal(keys.hi))
    gaps = sql.SQL(" OR {} = ANY({}::bigint[])").format(c, sql.Literal(list(keys.gaps))) if keys.gaps else sql.SQL("")
    return sql.SQL("({}{})").format(outside, gaps)


def _without_value(ref: Reference) -> sql.Composable:
    """The rows whose reference is not set (a NULL in any of its columns): a NULL test per row and a
    transition only for those rows costs less than count(column)'s transition on every row."""
    return sql.SQL("count(*) FILTER (WHERE {})").format(
        sql.SQL(" OR ").join(sql.SQL("{} IS NULL").format(c) for c in _child_columns(ref)))


# Orphan values are collected by the counting scan itself (array_agg, parallel) when the planner expects
# at most this many of them (`collect_up_to`) and the child's statistics are fresh: at most ~20 bytes each
# in server memory while the scan runs, and the second filtered scan for the distinct missing keys
# disappears. Otherwise the scan only counts them and that scan follows. The planner's estimate is coarse
# (values past the parent's range fall in the histogram's last bucket: ~1 % of the rows) but high, not low.
COLLECT_UP_TO = 1_000_000
STALE_STATS_SHARE = 0.2   # rows changed since the child's last ANALYZE, as a share of its rows: stale


def counts_query(refs: list[Reference], sample_percent: float | None = None,
                 ranges: dict[str, KeyRange] | None = None, collect: bool = False) -> sql.Composed:
    """One scan of the child: its rows, the rows without a value for each reference, then for each
    reference in `ranges` (decided by its parent's key range) its orphans — and, with `collect`, its
    distinct missing keys. Only parallel-safe aggregates read the rows (a DISTINCT aggregate over the
    child would make PostgreSQL sort every row); the distinct keys are counted from the collected orphan
    values, after the scan."""
    decided = [r for r in refs if r.key in (ranges or {})]
    counts = [sql.SQL("count(*)")] + [_without_value(r) for r in refs]
    child = _child(refs[0], sample_percent)
    if not collect:
        counts += [sql.SQL("count(*) FILTER (WHERE {})").format(range_orphan(r, ranges[r.key])) for r in decided]
        return sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(counts), child)
    n = [sql.Identifier(f"n{i}") for i in range(len(counts))]
    o = [sql.Identifier(f"o{i}") for i in range(len(decided))]
    inner = [sql.SQL("{} AS {}").format(e, name) for e, name in zip(counts, n)]
    inner += [sql.SQL("array_agg({}) FILTER (WHERE {}) AS {}").format(_child_columns(r)[0], range_orphan(r, ranges[r.key]),
                                                                   name) for r, name in zip(decided, o)]
    outer = list(n)
    for name in o:
        outer += [sql.SQL("coalesce(cardinality({}), 0)").format(name),
                  sql.SQL("(SELECT count(DISTINCT v) FROM unnest({}) v)").format(name)]
    return sql.SQL("SELECT {} FROM (SELECT {} FROM {}) s").format(
        sql.SQL(", ").join(outer), sql.SQL(", ").join(inner), child)


def expected_orphans(conn: psycopg.Connection, refs: list[Reference], ranges: dict[str, KeyRange]) -> float:
    """The planner's estimate of the rows with a value outside their parent's key range (infinite when the
    child changed much since its statistics were gathered: new rows could all be orphans)."""
    child = refs[0].qualified().as_string(conn)   # a partitioned child: the rows changed in its partitions
    changed = conn.execute("SELECT pg_stat_get_mod_since_analyze(%(c)s::regclass) + coalesce(sum("
                           "pg_stat_get_mod_since_analyze(relid)), 0) FROM pg_partition_tree(%(c)s::regclass) "
                           "WHERE relid <> %(c)s::regclass", {"c": child}).fetchone()[0]
    if changed > STALE_STATS_SHARE * max(refs[0].rows, 1):
        return math.inf
    test = sql.SQL(" OR ").join(range_orphan(r, ranges[r.key]) for r in refs if r.key in ranges)
    plan = conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {} WHERE {}").format(
        _child(refs[0], None), test)).fetchone()[0]
    return plan[0]["Plan"]["Plan Rows"]


def missing_keys_query(refs: list[Reference], ranges: dict[str, KeyRange]) -> sql.Composed:
    """The distinct missing keys of references decided by range: only orphan rows reach the DISTINCT."""
    orphans = [range_orphan(r, ranges[r.key]) for r in refs]
    selects = [sql.SQL("count(DISTINCT {}) FILTER (WHERE {})").format(_child_columns(r)[0], o)
               for r, o in zip(refs, orphans)]
    return sql.SQL("SELECT {} FROM {} WHERE {}").format(sql.SQL(", ").join(selects), _child(refs[0], None),
                                                        sql.SQL(" OR ").join(orphans))


def orphan_predicate(ref: Reference) -> sql.Composed:
    """True for a row `c` of the child whose non-null reference has no parent."""
    match = sql.SQL(" AND ").join(sql.SQL("p.{} = {}").format(sql.Identifier(k), m)
                                  for k, m in zip(ref.ref_columns, _child_columns(ref)))
    return sql.SQL("{} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})").format(_not_null(ref), ref.ref_qualified(),
                                                                             match)


def orphans_query(ref: Reference, sample_percent: float | None = None) -> sql.Composed:
    """Orphans and distinct missing keys of one reference: a NOT EXISTS anti-join."""
    mine = _child_columns(ref)
    value = mine[0] if len(mine) == 1 else sql.SQL("ROW({})").format(sql.SQL(", ").join(mine))
    return sql.SQL("SELECT count(*), count(DISTINCT {value}) FROM {child} WHERE {orphan}").format(
        value=value, child=_child(ref, sample_percent), orphan=orphan_predicate(ref))


def uses_merge(ref: Reference) -> bool:
    return ref.indexed and ref.ref_rows >= MERGE_MIN_PARENT_ROWS


def wilson_interval(hits: int, n: int) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    denom = 1 + Z95 ** 2 / n
    centre = (p + Z95 ** 2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _estimate(ref: Reference, checked: int, non_null: int, orphans: int) -> OrphanCount:
    population = max(ref.rows, checked)
    low, high = wilson_interval(orphans, checked)
    scale = population / checked if checked else 0
    return OrphanCount(ref, "sampled", checked, round(non_null * scale), round(orphans * scale), None,
                       max(orphans, math.floor(low * population)), math.ceil(high * population))


def _failure(ref: Reference, exc: psycopg.Error, timeout_ms: int) -> OrphanCount:
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return OrphanCount(ref, "timeout", reason=f"statement timeout: not finished within {timeout_ms} ms")
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        return OrphanCount(ref, "timeout", reason="lock timeout: the table is locked by another session")
    reason = redact(str(exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return OrphanCount(ref, "error", reason=reason)


class _Connections:
    """One guarded connection per worker thread, closed together at the end."""

    def __init__(self, target: Target, options: RunOptions):
        self.target, self.options, self.timeout_ms = target, options, options.statement_timeout_ms
        self.local, self.opened, self.lock = threading.local(), [], threading.Lock()

    def get(self) -> psycopg.Connection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = connect(self.target, statement_timeout_ms=self.timeout_ms,
                                               lock_timeout_ms=self.options.lock_timeout_ms)
            with self.lock:
                self.opened.append(conn)
        return conn

    def close(self):
        for conn in self.opened:
            conn.close()


def _profiles(conn: psycopg.Connection, refs: list[Reference], max_gaps: int) -> dict[str, KeyRange]:
    """Key ranges of the parents that can decide their references' orphans (same snapshot); a parent
    referred to by several columns of the child is profiled once."""
    ranges, parents = {}, {}
    for ref in refs:
        if not profiled(ref, max_gaps):
            continue
        parent = (ref.ref_schema, ref.ref_table, ref.ref_columns[0])
        if parent not in parents:
            try:
                with conn.transaction():   # a savepoint: a parent that cannot be profiled gets an anti-join
                    parents[parent] = key_range(conn, ref, max_gaps)
            except psycopg.Error:
                parents[parent] = None
        if parents[parent] is not None:
            ranges[ref.key] = parents[parent]
    return ranges


def _few_orphans_expected(conn: psycopg.Connection, refs: list[Reference], ranges: dict[str, KeyRange],
                          up_to: int) -> bool:
    if conn.info.server_version < 160000:   # array_agg runs in parallel workers from PostgreSQL 16 on
        return False
    try:
        with conn.transaction():
            return expected_orphans(conn, refs, ranges) <= up_to
    except psycopg.Error:
        return False


def _count_table(conns: _Connections, refs: list[Reference], sample_above_rows: int,
                 sample_rows: int, max_gaps: int = -1, collect_up_to: int = COLLECT_UP_TO) -> list[OrphanCount]:
    rows = refs[0].rows
    sample = 100.0 * sample_rows / rows if sample_above_rows and rows > sample_above_rows else None
    conn = conns.get()
    try:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        ranges = _profiles(conn, refs, max_gaps)
        collect = bool(ranges) and not sample and _few_orphans_expected(conn, refs, ranges, collect_up_to)
        try:
            checked, *counts = conn.execute(counts_query(refs, sample, ranges, collect)).fetchone()
        except psycopg.Error as exc:
            return [_failure(r, exc, conns.timeout_ms) for r in refs]
        non_null, per_range = [checked - n for n in counts[:len(refs)]], counts[len(refs):]
        in_range = [r.key for r in refs if r.key in ranges]
        decided = dict(zip(in_range, per_range[::2] if collect else per_range))
        missing_keys = dict(zip(in_range, per_range[1::2])) if collect else {}
        with_orphans = [r for r in refs if decided.get(r.key)]
        if with_orphans and not sample and not collect:
            try:
                with conn.transaction():
                    missing_keys = dict(zip([r.key for r in with_orphans],
                                       conn.execute(missing_keys_query(with_orphans, ranges)).fetchone()))
            except psycopg.Error as exc:
                return [_failure(r, exc, conns.timeout_ms) for r in refs]
        out = []
        for ref, nn in zip(refs, non_null):
            if ref.key in ranges:          # decided by the counting scan
                orphans = decided[ref.key]
                count = (_estimate(ref, checked, nn, orphans) if sample
                         else OrphanCount(ref, "exact", checked, nn, orphans, missing_keys.get(ref.key, 0)))
                count.counted_by = "key range"
                out.append(count)
                continue
            try:
                with conn.transaction():  # a savepoint: one reference timing out leaves the others
                    conn.execute("SET LOCAL enable_hashjoin = {}".format("off" if uses_merge(ref) else "on"))
                    orphans, missing = conn.execute(orphans_query(ref, sample)).fetchone()
            except psycopg.Error as exc:
                out.append(_failure(ref, exc, conns.timeout_ms))
                continue
            out.append(_estimate(ref, checked, nn, orphans) if sample
                       else OrphanCount(ref, "exact", checked, nn, orphans, missing))
        return out
    finally:
        try:
            conn.rollback()
        except psycopg.Error:  # the connection is gone: its references already say why
            pass


def count_orphans(target: Target, refs: list[Reference], jobs: int = 2, options: RunOptions = RunOptions(),
                  sample_above_rows: int = 0, sample_rows: int = 1_000_000, max_gaps: int = 10_000,
                  collect_up_to: int = COLLECT_UP_TO, progress: bool = False) -> dict[str, OrphanCount]:
    """Orphan counts keyed by reference key; `jobs` child tables are counted at the same time.
    `max_gaps`: profile integer parents with at most this many missing keys (-1: never);
    `collect_up_to`: collect the orphan values of range-decided references in the counting scan when
    the planner expects at most this many (0: never; a second scan counts the missing keys)."""
    countable = sorted((r for r in refs if r.countable), key=lambda r: (r.schema, r.table))
    tables = [list(g) for _, g in groupby(countable, key=lambda r: (r.schema, r.table))]
    tables.sort(key=lambda t: -t[0].rows)  # the biggest first keeps every worker busy
    conns = _Connections(target, options)
    out: dict[str, OrphanCount] = {}
    try:
        with ThreadPoolExecutor(max_workers=max(1, int(jobs))) as pool, \
                tqdm(total=len(tables), desc="counting orphans", unit="table", file=sys.stderr,
                     disable=not progress or not tables, leave=False) as bar:
            futures = [pool.submit(_count_table, conns, t, sample_above_rows, sample_rows, max_gaps, collect_up_to)
                       for t in tables]
            for fut in as_completed(futures):
                for result in fut.result():
                    out[result.reference.key] = result
                bar.update(1)
    finally:
        conns.close()
    return out
