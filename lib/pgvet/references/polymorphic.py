"""Orphans of polymorphic references (`<x>_id` + `<x>_type`), counted exactly per type value.

Each type value is mapped to the table it names: a Rails class (`Favourite` -> favourites), a
namespaced class (`Event::Course` -> event_courses, else its STI parent events, else courses),
a plain table name, or `schema.table`. Each mapped type is one anti-join restricted to the rows of
that type, in a savepoint released at once; values that name no table are listed with their rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from psycopg import sql

from .inference import name_forms, released, snake
from .model import Reference

MAX_TYPES = 100
KEYED_TABLES = """
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
WHERE i.indisprimary AND i.indnkeyatts = 1 AND n.nspname NOT IN ('pg_catalog', 'information_schema')
"""
COMPARABLE = {"integer": "int", "bigint": "int", "smallint": "int", "uuid": "uuid", "text": "text",
              "character varying": "text"}


@dataclass
class TypeCount:
    value: str
    table: str | None          # schema.table the value names, None when it names none
    rows: int = 0
    orphans: int | None = None  # None: the key types cannot be compared


@dataclass
class PolymorphicCount:
    reference: Reference
    types: list[TypeCount] = field(default_factory=list)

    @property
    def orphans(self) -> int:
        return sum(t.orphans or 0 for t in self.types)

    @property
    def unknown(self) -> list[TypeCount]:
        return [t for t in self.types if t.table is None]


def _family(type_: str) -> str | None:
    return COMPARABLE.get(type_.split("(")[0])


def table_for(value: str, tables: dict[str, list[tuple[str, str]]]) -> tuple[str, str] | None:
    """The table a type value names, or None."""
    if "." in value and "::" not in value:
        schema, _, name = value.partition(".")
        return next((t for t in tables.get(snake(name), []) if t[0] == schema), None)
    parts = [p for p in value.split("::") if p]
    if not parts:
        return None
    for stem in (snake("".join(parts)), snake(parts[0]), snake(parts[-1])):
        for form in name_forms(stem):
            if tables.get(form):
                return sorted(tables[form], key=lambda t: (t[0] != "public", t))[0]
    return None


@dataclass
class KeyedTables:
    """Tables with a single-column primary key: (key, type) by table, and tables by normalised name."""

    keys: dict[tuple[str, str], tuple[str, str]]
    by_name: dict[str, list[tuple[str, str]]]


def keyed_tables(conn) -> KeyedTables:
    """Read once for every polymorphic reference of a run."""
    keys = {(s, t): (k, typ) for s, t, k, typ in conn.execute(KEYED_TABLES).fetchall()}
    by_name: dict[str, list[tuple[str, str]]] = {}
    for s, t in keys:
        by_name.setdefault(snake(t), []).append((s, t))
    return KeyedTables(keys, by_name)


def count_polymorphic(conn, ref: Reference, keyed: KeyedTables) -> PolymorphicCount:
    """Rows and orphans of `ref` per value of its type column (at most MAX_TYPES values)."""
    keys, tables = keyed.keys, keyed.by_name
    child, col, kind = ref.qualified(), sql.Identifier(ref.columns[0]), sql.Identifier(ref.polymorphic_type_column)
    with released(conn):
        values = conn.execute(sql.SQL("SELECT {k}::text, count(*) FROM {t} WHERE {k} IS NOT NULL AND {c} IS NOT NULL "
                                      "GROUP BY 1 ORDER BY 1 LIMIT {n}").format(
            k=kind, t=child, c=col, n=sql.Literal(MAX_TYPES))).fetchall()
    out = PolymorphicCount(ref)
    for value, rows in values:
        target = table_for(value, tables)
        count = TypeCount(value, f"{target[0]}.{target[1]}" if target else None, rows)
        if target and _family(keys[target][1]) and _family(keys[target][1]) == _family(ref.column_type):
            with released(conn):
                count.orphans = conn.execute(sql.SQL(
                    "SELECT count(*) FROM {t} c WHERE c.{k}::text = %s AND c.{c} IS NOT NULL "
                    "AND NOT EXISTS (SELECT 1 FROM {p} p WHERE p.{pk} = c.{c})").format(
                    t=child, k=kind, c=col, p=sql.Identifier(*target), pk=sql.Identifier(keys[target][0])),
                    (value,)).fetchone()[0]
        out.types.append(count)
    return out
