"""Index suggestions from statements' filter columns, pg_stats selectivity and, with hypopg, EXPLAIN.

In the spirit of PgHero and Dexter: parse each candidate statement with PostgreSQL's own parser
(pglast); collect `column = | IN | < | > | IS NULL | LIKE value` conditions on plain columns of
one table; order equality columns by selectivity (rows per value from pg_stats), add columns
until about 50 rows remain or two columns are chosen, then a range column. LIKE on a parameter
gets a trigram GIN index (a btree cannot serve `%x%`). A suggestion an existing index already
leads with is dropped. With hypopg installed, a btree suggestion is confirmed by the generic
plan's cost before and after a hypothetical index, and kept only when the cost falls by
`min_cost_reduction_pct`.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import psycopg
from pglast import ast, parse_sql
from pglast.enums import A_Expr_Kind, BoolExprType, NullTestType
from pglast.parser import ParseError
from psycopg import sql

from .wording import plural

OPS = {"=": "eq", "<": "range", ">": "range", "<=": "range", ">=": "range"}
TARGET_ROWS = 50          # PgHero: stop adding columns once a lookup returns about this many rows
MAX_COLUMNS = 2
MIN_TABLE_ROWS = 500


@dataclass
class Condition:
    table: tuple[str | None, str]     # (schema or None, relation) as written in the statement
    column: str
    kind: str                         # eq | range | null | like


@dataclass
class Suggestion:
    schema: str
    table: str
    columns: list[str]
    method: str                       # btree | gin_trgm
    statements: list[dict] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    rows_per_lookup: float | None = None
    cost_before: float | None = None
    cost_after: float | None = None
    confirmed: str = "not tested"

    @property
    def key(self) -> tuple[str, str, tuple[str, ...], str]:
        return self.schema, self.table, tuple(self.columns), self.method

    def definition(self) -> sql.Composed:
        table = sql.SQL(".").join([sql.Identifier(self.schema), sql.Identifier(self.table)])
        if self.method == "gin_trgm":
            return sql.SQL("CREATE INDEX CONCURRENTLY ON {} USING gin ({} gin_trgm_ops)").format(
                table, sql.Identifier(self.columns[0]))
        return sql.SQL("CREATE INDEX CONCURRENTLY ON {} ({})").format(
            table, sql.SQL(", ").join(sql.Identifier(c) for c in self.columns))


def _relations(node, aliases: dict) -> None:
    if isinstance(node, ast.RangeVar):
        ref = (node.schemaname, node.relname)
        aliases[node.alias.aliasname if node.alias else node.relname] = ref
    elif isinstance(node, ast.JoinExpr):
        _relations(node.larg, aliases)
        _relations(node.rarg, aliases)


def _column(node) -> tuple[str | None, str] | None:
    """(qualifier, column) of a plain column reference, else None (expressions cannot use a plain index)."""
    if isinstance(node, ast.ColumnRef) and all(isinstance(f, ast.String) for f in node.fields):
        names = [f.sval for f in node.fields]
        return (names[-2] if len(names) > 1 else None), names[-1]
    return None


def _value(node) -> bool:
    while isinstance(node, ast.TypeCast):
        node = node.arg
    return isinstance(node, (ast.ParamRef, ast.A_Const)) or (
        isinstance(node, tuple) and all(_value(n) for n in node))


def _conditions(node, out: list) -> None:
    """AND-ed conditions of a WHERE clause as (qualifier, column, kind)."""
    if isinstance(node, ast.BoolExpr) and node.boolop == BoolExprType.AND_EXPR:
        for arg in node.args:
            _conditions(arg, out)
    elif isinstance(node, ast.NullTest) and _column(node.arg) and node.nulltesttype == NullTestType.IS_NULL:
        out.append((*_column(node.arg), "null"))
    elif isinstance(node, ast.A_Expr):
        op = node.name[-1].sval if node.name else ""
        kind = {A_Expr_Kind.AEXPR_IN: "eq", A_Expr_Kind.AEXPR_LIKE: "like",
                A_Expr_Kind.AEXPR_ILIKE: "like"}.get(node.kind, OPS.get(op) if node.kind == A_Expr_Kind.AEXPR_OP else None)
        if kind is None:
            return
        for col_side, val_side in ((node.lexpr, node.rexpr), (node.rexpr, node.lexpr)):
            if _column(col_side) and _value(val_side):
                out.append((*_column(col_side), kind))
                return


def statement_conditions(query: str) -> list[Condition]:
    """Filter conditions of one SELECT/UPDATE/DELETE, mapped to the relation they filter."""
    try:
        (raw,) = parse_sql(query)
    except (ParseError, ValueError):
        return []
    stmt = raw.stmt
    aliases: dict = {}
    if isinstance(stmt, ast.SelectStmt):
        for item in stmt.fromClause or ():
            _relations(item, aliases)
    elif isinstance(stmt, (ast.UpdateStmt, ast.DeleteStmt)):
        _relations(stmt.relation, aliases)
    else:
        return []
    found: list = []
    _conditions(getattr(stmt, "whereClause", None), found)
    conditions = []
    for qualifier, column, kind in found:
        if qualifier in aliases:
            conditions.append(Condition(aliases[qualifier], column, kind))
        elif qualifier is None and len(set(aliases.values())) == 1:
            conditions.append(Condition(next(iter(aliases.values())), column, kind))
    return conditions


COLUMN_STATS = """
SELECT c.oid, n.nspname, c.relname, greatest(c.reltuples, 0) AS reltuples, a.attname,
       s.n_distinct, s.null_frac
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = %s AND NOT a.attisdropped
LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname
WHERE c.oid = to_regclass(%s)
"""

LEADING_COLUMNS = """
SELECT a.attname, am.amname, pg_get_indexdef(i.indexrelid) AS def
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
WHERE i.indrelid = %s AND i.indisvalid AND i.indpred IS NULL
"""


def _rows_per_value(stats: dict) -> float:
    rows = stats["reltuples"] * (1 - (stats["null_frac"] or 0))
    nd = stats["n_distinct"]
    if not nd:
        return rows  # no statistics: assume the worst
    distinct = -nd * stats["reltuples"] if nd < 0 else nd
    return rows / max(distinct, 1)


def _stats(conn, table: tuple[str | None, str], column: str) -> dict | None:
    name = sql.SQL(".").join([sql.Identifier(p) for p in table if p]).as_string(conn)
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(COLUMN_STATS, (column, name)).fetchone()


def plan_cost(conn, query: str, params: int) -> float:
    """Total cost of the statement's generic plan (no values needed, works on PostgreSQL 13+)."""
    conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
    conn.execute(sql.SQL("PREPARE pgvet_probe AS {}").format(sql.SQL(query)))
    try:
        args = sql.SQL("({})").format(sql.SQL(", ").join([sql.NULL] * params)) if params else sql.SQL("")
        plan = conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) EXECUTE pgvet_probe{}").format(args)).fetchone()[0]
    finally:
        conn.execute("DEALLOCATE pgvet_probe")
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return float(plan[0]["Plan"]["Total Cost"])


def _param_count(query: str) -> int:
    numbers = [int(n) for n in re.findall(r"\$(\d+)", query)]
    return max(numbers, default=0)


def confirm_with_hypopg(conn, suggestion: Suggestion, min_reduction_pct: float) -> bool:
    """Cost before and after a hypothetical index, on the worst statement; True to keep it."""
    query = suggestion.statements[0]["query"]
    params = _param_count(query)
    before = plan_cost(conn, query, params)
    conn.execute("SELECT hypopg_create_index(%s)", (
        suggestion.definition().as_string(conn).replace(" CONCURRENTLY", ""),))
    try:
        after = plan_cost(conn, query, params)
    finally:
        conn.execute("SELECT hypopg_reset()")
    suggestion.cost_before, suggestion.cost_after = round(before, 2), round(after, 2)
    reduction = 100 * (1 - after / before) if before else 0
    suggestion.confirmed = "yes" if reduction >= min_reduction_pct else "no"
    suggestion.evidence.append(f"hypopg: generic plan cost {before:.0f} -> {after:.0f} ({reduction:.0f} % less)")
    return suggestion.confirmed == "yes"


def suggest(conn, statements: list[dict]) -> list[Suggestion]:
    """Suggestions from statements (`query`, `calls`, `mean_ms`, `why`), at most one per table and method."""
    out: dict[tuple, Suggestion] = {}
    for st in statements:
        by_table: dict = {}
        for cond in statement_conditions(st["query"]):
            by_table.setdefault(cond.table, []).append(cond)
        for table, conds in by_table.items():
            for s in _for_table(conn, table, conds):
                existing = out.setdefault(s.key, s)
                existing.statements.append(st)
    suggestions = list(out.values())
    for s in suggestions:
        s.statements.sort(key=lambda st: -(st["calls"] * st["mean_ms"]))
        worst = s.statements[0]
        s.evidence.insert(0, f"{plural(len(s.statements), 'statement')}, worst: {worst['calls']:,} calls x "
                             f"{worst['mean_ms']} ms ({worst['why']})")
    return suggestions


def _for_table(conn, table, conds: list[Condition]) -> list[Suggestion]:
    stats = {c.column: _stats(conn, table, c.column) for c in conds}
    if not any(stats.values()):
        return []
    first = next(s for s in stats.values() if s)
    if first["reltuples"] < MIN_TABLE_ROWS:
        return []
    leading = conn.execute(LEADING_COLUMNS, (first["oid"],)).fetchall()
    schema, name = first["nspname"], first["relname"]
    out = []
    for c in conds:
        if c.kind == "like" and stats[c.column] and not any(
                col == c.column and am == "gin" and "gin_trgm_ops" in d for col, am, d in leading):
            out.append(Suggestion(schema, name, [c.column], "gin_trgm", evidence=[
                f"{c.column} LIKE/ILIKE a parameter: when patterns start with %, only a trigram index helps"]))
    eq = sorted({c.column for c in conds if c.kind in ("eq", "null") and stats[c.column]},
                key=lambda col: _rows_per_value(stats[col]))
    chosen, rows = [], first["reltuples"]
    for col in eq:
        if len(chosen) == MAX_COLUMNS or rows <= TARGET_ROWS:
            break
        chosen.append(col)
        rows = min(rows, _rows_per_value(stats[col]))
    ranges = [c.column for c in conds if c.kind == "range" and stats[c.column] and c.column not in chosen]
    if ranges and len(chosen) < MAX_COLUMNS and rows > TARGET_ROWS:
        chosen.append(ranges[0])
    if chosen and not any(col == chosen[0] and am == "btree" for col, am, _ in leading):
        detail = ", ".join(f"{col} ~{_rows_per_value(stats[col]):,.0f} rows per value" for col in chosen
                           if col in eq)
        out.append(Suggestion(schema, name, chosen, "btree", rows_per_lookup=round(rows, 1),
                              evidence=[f"filters on {', '.join(chosen)}; pg_stats: {detail or 'range condition'}"]))
    return out
