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
leaves the others. A CHECK is evaluated only when it calls nothing but plain functions (no subquery,
no function outside SAFE_FUNCTIONS), since the expression comes from a file, not from pgvet.
"""
from __future__ import annotations

from dataclasses import dataclass

import psycopg
from pglast import ast
from pglast.enums import AlterTableType, ConstrType
from pglast.stream import RawStream
from psycopg import sql

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

    def text(self) -> str:
        if self.rows is not None:
            return "today: " + self.sentence.format(n=f"{self.rows:,}")
        if self.sentence.startswith("not counted"):
            return self.sentence
        return "not counted: the count did not finish within the statement timeout"


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


def _count(conn: psycopg.Connection, query: sql.Composable) -> int | None:
    try:
        with conn.transaction():
            return conn.execute(query).fetchone()[0]
    except psycopg.Error:
        return None


def _orphans(conn, stmt: Statement, table: str, model: Model, live) -> Impact | None:
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
    n = _count(conn, sql.SQL("SELECT count(*) FROM {} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})").format(
        _table(table), set_, _table(ref), match))
    return Impact(n, f"{{n}} of today's rows of {table} have no parent in {ref}"
                     + (": adding it validated fails" if not con.skip_validation else ""))


def _check(conn, stmt: Statement, table: str) -> Impact | None:
    con = _constraint(stmt, ConstrType.CONSTR_CHECK)
    if con is None or con.raw_expr is None:
        return None
    if not _safe(con.raw_expr):
        return Impact(None, "not counted: the CHECK calls a function or subquery pgvet does not run")
    expr = RawStream()(con.raw_expr)
    n = _count(conn, sql.SQL("SELECT count(*) FROM {} WHERE NOT ({})").format(_table(table), sql.SQL(expr)))
    return Impact(n, f"{{n}} of today's rows of {table} violate it: the statement fails")


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


def _nulls(conn, table: str, column: str) -> Impact:
    n = _count(conn, sql.SQL("SELECT count(*) FROM {} WHERE {} IS NULL").format(_table(table), sql.Identifier(column)))
    return Impact(n, f"{{n}} of today's rows of {table} have {column} NULL: the statement fails")


def _rows(conn, table: str, sentence: str) -> Impact:
    return Impact(_count(conn, sql.SQL("SELECT count(*) FROM {}").format(_table(table))), sentence)


def _values(conn, table: str, column: str) -> Impact:
    n = _count(conn, sql.SQL("SELECT count({}) FROM {}").format(sql.Identifier(column), _table(table)))
    return Impact(n, f"{{n}} non-null values of {table}.{column} would be lost")


def _cast(conn, stmt: Statement, table: str, column: str, version: int) -> Impact | None:
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
        n = _count(conn, sql.SQL("SELECT count(*) FROM {t} WHERE {c} IS NOT NULL "
                                 "AND NOT pg_input_is_valid({c}::text, {ty})").format(
            t=_table(table), c=sql.Identifier(column), ty=sql.Literal(target)))
        return Impact(n, f"{{n}} of today's values of {table}.{column} are not valid {type_name(cmd.def_.typeName)}: "
                         "the statement fails")
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
           version: int) -> Impact | None:
    """The rows today's database has that the statement would reject or lose; None when not countable."""
    if table not in live.tables or already_applied(rule, table, column, stmt, live):
        return None
    if rule == "adding-foreign-key-constraint":
        return _orphans(conn, stmt, table, model, live)
    if rule in ("disallowed-unique-constraint", "require-concurrent-index-creation"):
        return _duplicates(conn, stmt, table)
    if rule == "constraint-missing-not-valid":
        return _check(conn, stmt, table)
    if rule == "adding-not-nullable-field" and column:
        return _nulls(conn, table, column)
    if rule == "adding-required-field":
        return _rows(conn, table, f"{{n}} rows in {table} today: the statement fails on any row")
    if rule == "changing-column-type" and column:
        return _cast(conn, stmt, table, column, version)
    if rule in ("ban-drop-column", "drop-referenced-column") and column:
        return _values(conn, table, column)
    if rule in ("ban-drop-table", "ban-truncate-cascade"):
        return _rows(conn, table, f"{{n}} rows of {table} would be lost")
    return None
