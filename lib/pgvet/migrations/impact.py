"""What a risky migration statement would do to the rows the live database has today, counted exactly.

| rule | counted | the statement … |
|---|---|---|
| adding-foreign-key-constraint | rows whose reference has no parent | fails (or, NOT VALID, leaves them unchecked) |
| constraint-missing-not-valid | rows the CHECK rejects | fails |
| disallowed-unique-constraint, require-concurrent-index-creation (a unique index) | rows sharing a key with another row | fails |
| adding-not-nullable-field | rows with NULL | fails |
| adding-required-field | rows of the table | fails on any row |
| changing-column-type | values the new type cannot hold (`pg_input_is_valid`, PostgreSQL 16+) | fails |
| ban-drop-column, drop-referenced-column | non-null values | loses them |
| ban-drop-table, ban-truncate-cascade | rows | loses them |

Each count is one read-only SELECT under the audit's statement timeout, in a savepoint so a timeout
leaves the others; a table above the sampling threshold is read through a BERNOULLI sample and the
number is an estimate with its 95 % interval (duplicate keys are always counted exactly). A CHECK is evaluated only when it calls nothing but plain functions (no subquery,
no function outside SAFE_FUNCTIONS), since the expression comes from a file, not from pgvet.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import psycopg
from pglast import ast
from pglast.enums import AlterTableType, ConstrType
from pglast.stream import RawStream
from psycopg import sql

from ..references.orphans import SAMPLE_SEED, wilson_interval
from .files import Statement
from .model import Model, comparable, qualified, type_name

SAFE_FUNCTIONS = {"length", "char_length", "character_length", "octet_length", "lower", "upper", "btrim", "ltrim",
                  "rtrim", "abs", "coalesce", "nullif", "greatest", "least", "round", "trunc", "floor", "ceil",
                  "now", "date_trunc", "date_part", "extract", "array_length", "cardinality", "jsonb_typeof",
                  "json_typeof", "left", "right", "substr", "substring", "position", "strpos", "regexp_like",
                  "starts_with", "mod", "sign"}


@dataclass
class Impact:
    rows: int | None            # None: not counted
    sentence: str               # what the number means, with {n} for it
    low: int | None = None      # with a sample: the 95 % interval, and how many rows it read
    high: int | None = None
    sampled: int | None = None

    def text(self) -> str:
        if self.rows is None:
            return self.sentence if self.sentence.startswith("not counted") else \
                "not counted: the count did not finish within the statement timeout"
        if self.sampled is None:
            return "today: " + self.sentence.format(n=f"{self.rows:,}")
        return (f"today: {self.sentence.format(n=f'about {self.rows:,}')} (95 % interval {self.low:,}–{self.high:,}, "
                f"from a sample of {self.sampled:,} rows)")


@dataclass(frozen=True)
class Sampling:
    """Tables above `above_rows` rows (0: never) are read through a BERNOULLI sample of about `rows`."""

    above_rows: int = 10_000_000
    rows: int = 1_000_000


def _table(name: str) -> sql.Identifier:
    schema, _, table = name.partition(".")
    return sql.Identifier(schema, table)


def _cmds(stmt: Statement, subtype: AlterTableType) -> list:
    node = stmt.node
    return [c for c in (getattr(node, "cmds", None) or ()) if c.subtype == subtype]


def _constraint(stmt: Statement, kind: ConstrType) -> ast.Constraint | None:
    for cmd in _cmds(stmt, AlterTableType.AT_AddConstraint):
        if isinstance(cmd.def_, ast.Constraint) and cmd.def_.contype == kind:
            return cmd.def_
    return None


def _safe(node) -> bool:
    """No subquery and no function call outside SAFE_FUNCTIONS anywhere in the expression."""
    if isinstance(node, ast.SubLink):
        return False
    if isinstance(node, ast.FuncCall) and node.funcname[-1].sval.lower() not in SAFE_FUNCTIONS:
        return False
    if isinstance(node, ast.Node):
        return all(_safe(getattr(node, a)) for a in node)
    if isinstance(node, tuple):
        return all(_safe(i) for i in node)
    return True


def _where(conn, table: str, predicate: sql.Composable, sentence: str, live, sampling: Sampling) -> Impact:
    """The rows of `table` (as `c`) for which `predicate` holds: exact, or estimated from a sample with
    its 95 % Wilson interval when the table is above the sampling threshold."""
    total = live.tables[table][0]
    sample = sampling.above_rows and total > sampling.above_rows
    source = sql.SQL("{} c").format(_table(table))
    if sample:
        source = sql.SQL("{} TABLESAMPLE BERNOULLI ({}) REPEATABLE ({})").format(
            source, sql.Literal(round(100.0 * sampling.rows / total, 6)), sql.Literal(SAMPLE_SEED))
    try:
        with conn.transaction():
            checked, hits = conn.execute(sql.SQL("SELECT count(*), count(*) FILTER (WHERE {}) FROM {}").format(
                predicate, source)).fetchone()
    except psycopg.Error:
        return Impact(None, sentence)
    if not sample:
        return Impact(hits, sentence)
    low, high = wilson_interval(hits, checked)
    return Impact(round(hits * total / checked) if checked else 0, sentence, max(hits, math.floor(low * total)),
                  math.ceil(high * total), checked)


def _orphans(conn, stmt: Statement, table: str, model: Model, live, sampling: Sampling) -> Impact | None:
    con = _constraint(stmt, ConstrType.CONSTR_FOREIGN)
    if con is None:
        return None
    ref = qualified(con.pktable)
    cols = tuple(a.sval for a in con.fk_attrs or ())
    ref_cols = tuple(a.sval for a in con.pk_attrs or ()) or model.key_of(ref) or ("id",)
    mine = [live.columns.get(table, {}).get(c) for c in cols]
    theirs = [live.columns.get(ref, {}).get(c) for c in ref_cols]
    if not all(mine + theirs) or not all(comparable(a, b) for a, b in zip(mine, theirs)):
        return None
    match = sql.SQL(" AND ").join(sql.SQL("p.{} = c.{}").format(sql.Identifier(r), sql.Identifier(c))
                                  for c, r in zip(cols, ref_cols))
    set_ = sql.SQL(" AND ").join(sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(c)) for c in cols)
    return _where(conn, table, sql.SQL("{} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})").format(
        set_, _table(ref), match), f"{{n}} of today's rows of {table} have no parent in {ref}"
        + (": adding it validated fails" if not con.skip_validation else ""), live, sampling)


def _check(conn, stmt: Statement, table: str, live, sampling: Sampling) -> Impact | None:
    con = _constraint(stmt, ConstrType.CONSTR_CHECK)
    if con is None or con.raw_expr is None:
        return None
    if not _safe(con.raw_expr):
        return Impact(None, "not counted: the CHECK calls a function or subquery pgvet does not run")
    expr = RawStream()(con.raw_expr)
    return _where(conn, table, sql.SQL("NOT ({})").format(sql.SQL(expr)),
                  f"{{n}} of today's rows of {table} violate it: the statement fails", live, sampling)


def _unique_columns(stmt: Statement) -> tuple[str, ...]:
    node = stmt.node
    if isinstance(node, ast.IndexStmt):
        names = tuple(p.name for p in node.indexParams or ())
        return names if node.unique and all(names) and not node.whereClause else ()
    for kind in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY):
        con = _constraint(stmt, kind)
        if con is not None:
            return tuple(k.sval for k in con.keys or ())
    return ()


def _duplicates(conn, stmt: Statement, table: str) -> Impact | None:
    cols = _unique_columns(stmt)
    if not cols:
        return None
    ids = sql.SQL(", ").join(sql.Identifier(c) for c in cols)
    set_ = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(sql.Identifier(c)) for c in cols)
    try:
        with conn.transaction():
            groups, rows = conn.execute(sql.SQL(
                "SELECT count(*), coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {} WHERE {} GROUP BY {} "
                "HAVING count(*) > 1) d").format(_table(table), set_, ids)).fetchone()
    except psycopg.Error:
        return Impact(None, "")
    return Impact(int(rows), f"{{n}} of today's rows of {table} share their ({', '.join(cols)}) with another row "
                             f"({groups:,} values): the statement fails")


def _column(column: str) -> sql.Composable:
    return sql.SQL("c.{}").format(sql.Identifier(column))


def _cast(conn, stmt: Statement, table: str, column: str, version: int, live, sampling: Sampling) -> Impact | None:
    for cmd in _cmds(stmt, AlterTableType.AT_AlterColumnType):
        if cmd.name != column:
            continue
        using = cmd.def_.raw_default
        plain = using is None or (isinstance(using, ast.TypeCast) and isinstance(using.arg, ast.ColumnRef)
                                  and using.arg.fields[-1].sval == column)
        if not plain:
            return None
        if version < 160000:
            return Impact(None, "not counted: pg_input_is_valid needs PostgreSQL 16")
        target = RawStream()(cmd.def_.typeName)
        return _where(conn, table, sql.SQL("{c} IS NOT NULL AND NOT pg_input_is_valid({c}::text, {ty})").format(
            c=_column(column), ty=sql.Literal(target)),
            f"{{n}} of today's values of {table}.{column} are not valid {type_name(cmd.def_.typeName)}: "
            "the statement fails", live, sampling)
    return None


def already_applied(rule: str, table: str | None, column: str | None, stmt: Statement, live) -> bool:
    """The statement's effect is already in the live schema: nothing left to count."""
    columns = live.columns.get(table or "", {})
    if rule in ("ban-drop-table",):
        return table not in live.tables
    if rule in ("ban-drop-column", "drop-referenced-column"):
        return table in live.tables and column not in columns
    if rule == "adding-required-field":
        return column in columns
    if rule == "changing-column-type":
        return any(type_name(c.def_.typeName) == columns.get(column) for c in _cmds(stmt, AlterTableType.AT_AlterColumnType)
                   if c.name == column)
    return False


def impact(conn, stmt: Statement, rule: str, table: str | None, column: str | None, model: Model, live,
           version: int, sampling: Sampling = Sampling()) -> Impact | None:
    """The rows today's database has that the statement would reject or lose; None when not countable."""
    if table not in live.tables or already_applied(rule, table, column, stmt, live):
        return None
    if rule == "adding-foreign-key-constraint":
        return _orphans(conn, stmt, table, model, live, sampling)
    if rule in ("disallowed-unique-constraint", "require-concurrent-index-creation"):
        return _duplicates(conn, stmt, table)
    if rule == "constraint-missing-not-valid":
        return _check(conn, stmt, table, live, sampling)
    if rule == "changing-column-type" and column:
        return _cast(conn, stmt, table, column, version, live, sampling)
    if rule == "adding-not-nullable-field" and column:
        predicate, sentence = sql.SQL("{} IS NULL").format(_column(column)), \
            f"{{n}} of today's rows of {table} have {column} NULL: the statement fails"
    elif rule == "adding-required-field":
        predicate, sentence = sql.SQL("true"), f"{{n}} rows in {table} today: the statement fails on any row"
    elif rule in ("ban-drop-column", "drop-referenced-column") and column:
        predicate, sentence = sql.SQL("{} IS NOT NULL").format(_column(column)), \
            f"{{n}} non-null values of {table}.{column} would be lost"
    elif rule in ("ban-drop-table", "ban-truncate-cascade"):
        users = sorted({f"{t}.{c}" for (t_, _), holders in live.referenced_by.items() if t_ == table
                        for t, c in holders if t != table})
        predicate, sentence = sql.SQL("true"), f"{{n}} rows of {table} would be lost" + (
            f", and {', '.join(users)} would refer to nothing" if users else "")
    else:
        return None
    return _where(conn, table, predicate, sentence, live, sampling)
