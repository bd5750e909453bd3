"""What a reference is, and what the catalog says about tables, keys and declared foreign keys.

Everything here is read with a handful of catalog queries, never one query per table.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

USER_TABLES = """
    c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
    AND n.nspname NOT LIKE 'pg\\_temp%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                    AND d.deptype = 'e')
"""

COLUMNS_SQL = f"""
SELECT c.oid AS relid, n.nspname AS schema, c.relname AS "table", greatest(c.reltuples, 0)::bigint AS rows,
       a.attname AS "column", format_type(a.atttypid, a.atttypmod) AS type,
       CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END AS base_type,
       bt.typname AS base_type_name, bt.typcategory AS category, col_description(c.oid, a.attnum) AS comment
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END
WHERE {USER_TABLES}
ORDER BY n.nspname, c.relname, a.attnum
"""

# Single-column unique keys (primary keys first): what an inferred reference can point at.
KEYS_SQL = """
SELECT i.indrelid AS relid, a.attname AS "column", i.indisprimary AS is_primary
FROM pg_index i
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
WHERE i.indisunique AND i.indnkeyatts = 1 AND i.indkey[0] <> 0 AND i.indpred IS NULL AND i.indisvalid
ORDER BY i.indrelid, i.indisprimary DESC, a.attname
"""

DECLARED_SQL = f"""
SELECT con.conname AS constraint, n.nspname AS schema, c.relname AS "table", greatest(c.reltuples, 0)::bigint AS rows,
       pn.nspname AS ref_schema, pc.relname AS ref_table, greatest(pc.reltuples, 0)::bigint AS ref_rows,
       con.convalidated AS validated,
       EXISTS (SELECT 1 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
               WHERE i.indrelid = con.conrelid AND am.amname = 'btree' AND i.indisvalid AND i.indpred IS NULL
                 AND i.indkey[0] = con.conkey[1]) AS indexed,
       (SELECT array_agg(a.attname ORDER BY k.i) FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n) AS columns,
       (SELECT array_agg(a.attname ORDER BY k.i) FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
        JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n) AS ref_columns,
       (SELECT string_agg(format_type(a.atttypid, a.atttypmod), ', ' ORDER BY k.i) FROM unnest(con.conkey)
        WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n) AS column_type,
       (SELECT string_agg(format_type(a.atttypid, a.atttypmod), ', ' ORDER BY k.i) FROM unnest(con.confkey)
        WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n) AS referenced_type,
       -- RI triggers that do not fire in normal operation ('D' disabled, 'R' replica only)
       coalesce((SELECT array_agg(tg.tgname::text ORDER BY tg.tgname) FROM pg_trigger tg
                 WHERE tg.tgconstraint = con.oid AND tg.tgenabled IN ('D', 'R')), '{{}}') AS disabled_triggers,
       coalesce((SELECT array_agg(DISTINCT tr.relname::text) FROM pg_trigger tg JOIN pg_class tr ON tr.oid = tg.tgrelid
                 WHERE tg.tgconstraint = con.oid AND tg.tgenabled IN ('D', 'R')), '{{}}') AS disabled_on
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class pc ON pc.oid = con.confrelid
JOIN pg_namespace pn ON pn.oid = pc.relnamespace
WHERE con.contype = 'f' AND con.conparentid = 0 AND {USER_TABLES}
ORDER BY n.nspname, c.relname, con.conname
"""

# Columns that lead a valid, non-partial btree: an ordered index-only scan can read them.
INDEXED_SQL = """
SELECT i.indrelid AS relid, a.attname AS "column"
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
WHERE am.amname = 'btree' AND i.indisvalid AND i.indpred IS NULL
"""

# '=' operators between base types, plus binary-coercible casts (varchar -> text).
OPERATORS_SQL = """
SELECT oprleft::bigint, oprright::bigint FROM pg_operator WHERE oprname = '=' AND oprleft <> 0 AND oprright <> 0
UNION ALL
SELECT castsource::bigint, -(casttarget::bigint) FROM pg_cast WHERE castmethod = 'b'
"""


@dataclass(frozen=True)
class Reference:
    """A column (or columns) whose values should be keys of another table, declared or inferred."""

    schema: str
    table: str
    columns: tuple[str, ...]
    ref_schema: str | None
    ref_table: str | None
    ref_columns: tuple[str, ...]
    column_type: str
    referenced_type: str | None
    comparable: bool = True            # '=' exists between the types: a join can resolve the values
    declared: bool = False
    constraint: str | None = None
    validated: bool = True
    disabled_triggers: tuple[str, ...] = ()
    disabled_on: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    confidence: str = "high"
    rows: int = 0                      # the child table's row estimate
    ref_rows: int = 0                  # the parent table's row estimate
    indexed: bool = False              # the (first) child column leads a btree index
    polymorphic_type_column: str | None = None
    observed: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def column(self) -> str:
        return ", ".join(self.columns)

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.table}.{self.column}"

    @property
    def referenced_table(self) -> str | None:
        return f"{self.ref_schema}.{self.ref_table}" if self.ref_table else None

    @property
    def referenced_column(self) -> str | None:
        return ", ".join(self.ref_columns) or None

    @property
    def untrusted(self) -> bool:
        """Existing rows are not guaranteed to satisfy it: undeclared, NOT VALID or RI triggers off."""
        return not self.declared or not self.validated or bool(self.disabled_triggers)

    @property
    def countable(self) -> bool:
        """Orphans can be counted with a join."""
        return self.comparable and self.ref_table is not None and self.polymorphic_type_column is None

    def qualified(self) -> sql.Composed:
        return sql.SQL(".").join([sql.Identifier(self.schema), sql.Identifier(self.table)])

    def ref_qualified(self) -> sql.Composed:
        return sql.SQL(".").join([sql.Identifier(self.ref_schema), sql.Identifier(self.ref_table)])


@dataclass
class Column:
    relid: int
    schema: str
    table: str
    rows: int
    column: str
    type: str
    base_type: int
    base_type_name: str
    category: str
    comment: str | None


@dataclass
class Snapshot:
    """The parts of the catalog reference inference needs, read once."""

    columns: list[Column]
    keys: dict[int, list[tuple[str, bool]]]          # relid -> [(column, is_primary)]
    indexed: set[tuple[int, str]]                    # (relid, column) leading a btree
    declared: list[Reference]
    operators: set[tuple[int, int]]
    binary_casts: dict[int, set[int]]

    def comparable(self, left: int, right: int) -> bool:
        """True when `left = right` resolves to an operator, directly or through a binary-coercible cast."""
        if left == right:
            return True
        lefts = {left} | self.binary_casts.get(left, set())
        rights = {right} | self.binary_casts.get(right, set())
        return any((lt, rt) in self.operators for lt in lefts for rt in rights)


def read_snapshot(conn: psycopg.Connection) -> Snapshot:
    """Columns, single-column keys, declared FKs and type comparability in four queries."""
    with conn.cursor(row_factory=dict_row) as cur:
        columns = [Column(**r) for r in cur.execute(COLUMNS_SQL).fetchall()]
        keys: dict[int, list[tuple[str, bool]]] = {}
        for r in cur.execute(KEYS_SQL).fetchall():
            keys.setdefault(r["relid"], []).append((r["column"], r["is_primary"]))
        declared = [Reference(schema=r["schema"], table=r["table"], columns=tuple(r["columns"]),
                              ref_schema=r["ref_schema"], ref_table=r["ref_table"], ref_columns=tuple(r["ref_columns"]),
                              column_type=r["column_type"], referenced_type=r["referenced_type"], declared=True,
                              constraint=r["constraint"], validated=r["validated"],
                              disabled_triggers=tuple(r["disabled_triggers"]), disabled_on=tuple(r["disabled_on"]),
                              evidence=(f"declared constraint {r['constraint']}",), rows=r["rows"],
                              ref_rows=r["ref_rows"], indexed=r["indexed"])
                    for r in cur.execute(DECLARED_SQL).fetchall()]
        indexed = {(r["relid"], r["column"]) for r in cur.execute(INDEXED_SQL).fetchall()}
        operators, casts = set(), {}
        for left, right in conn.execute(OPERATORS_SQL).fetchall():
            if right < 0:
                casts.setdefault(left, set()).add(-right)
            else:
                operators.add((left, right))
    return Snapshot(columns=columns, keys=keys, indexed=indexed, declared=declared, operators=operators, binary_casts=casts)
