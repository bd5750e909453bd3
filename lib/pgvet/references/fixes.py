"""Remediation SQL for reference findings, composed with psycopg.sql (identifiers always quoted).

Every statement is a suggestion for a human: pgvet never runs it. Lock impact is in the comments.
"""
from __future__ import annotations

from psycopg import sql

from .model import Reference
from .orphans import orphan_predicate

NAME_MAX = 63


def render(parts: list) -> str:
    return "\n".join(p if isinstance(p, str) else p.as_string(None) for p in parts)


def _cols(names) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def constraint_name(ref: Reference) -> str:
    return f"{ref.table}_{'_'.join(ref.columns)}_fkey"[:NAME_MAX]


def list_orphans(ref: Reference) -> sql.Composed:
    """The query that shows the orphaned rows of a reference (first 100)."""
    return sql.SQL("SELECT c.* FROM {} c WHERE {} LIMIT 100;").format(ref.qualified(), orphan_predicate(ref))


def add_foreign_key(ref: Reference) -> list:
    """ADD … NOT VALID (brief lock, no scan) then VALIDATE (scans, allows reads and writes)."""
    name = sql.Identifier(constraint_name(ref))
    return [
        "-- NOT VALID takes a brief SHARE ROW EXCLUSIVE lock and checks only new rows;",
        "-- VALIDATE then scans under SHARE UPDATE EXCLUSIVE (reads and writes continue).",
        sql.SQL("ALTER TABLE {t} ADD CONSTRAINT {n} FOREIGN KEY ({c}) REFERENCES {p} ({k}) NOT VALID;").format(
            t=ref.qualified(), n=name, c=_cols(ref.columns), p=ref.ref_qualified(), k=_cols(ref.ref_columns)),
        sql.SQL("ALTER TABLE {t} VALIDATE CONSTRAINT {n};").format(t=ref.qualified(), n=name)]


def create_index(ref: Reference) -> list:
    return ["-- CONCURRENTLY: no write lock; cannot run inside a transaction block.",
            sql.SQL("CREATE INDEX CONCURRENTLY ON {t} ({c});").format(t=ref.qualified(), c=_cols(ref.columns))]


def orphans_fix(ref: Reference) -> str:
    return render([f"-- {ref.key} -> {ref.referenced_table}: decide per row: restore the parent, set NULL, "
                    "or delete. The orphans:", list_orphans(ref)])


def undeclared_fix(ref: Reference, has_orphans: bool) -> str:
    parts = [f"-- {ref.key} -> {ref.referenced_table}({ref.referenced_column}): declare the reference."]
    if has_orphans:
        parts += ["-- First clean up the orphans, or VALIDATE will fail:", list_orphans(ref)]
    parts += add_foreign_key(ref)
    if not ref.indexed:
        parts += create_index(ref)
    return render(parts)


def type_mismatch_fix(ref: Reference, resolvable_via: str | None) -> str:
    """A data-preserving conversion: new column, backfill through the legacy key or a cast, verify, swap."""
    col = ref.columns[0]
    new = f"{col.removesuffix('_id')}_{ref.ref_columns[0]}_new"[:NAME_MAX]
    head = [f"-- {ref.key} ({ref.column_type}) cannot hold {ref.referenced_table}.{ref.referenced_column} "
            f"({ref.referenced_type}).",
            "-- Never ALTER COLUMN ... TYPE ... USING gen_random_uuid(): every row would get a new random value",
            "-- and every relationship would be lost."]
    if not resolvable_via:
        return render(head + ["-- No legacy key or key-shaped values: the existing values cannot be mapped.",
                               "-- Decide with the application owners how to recover them before changing the type."])
    t, p = ref.qualified(), ref.ref_qualified()
    key, old, newc = sql.Identifier(ref.ref_columns[0]), sql.Identifier(col), sql.Identifier(new)
    if resolvable_via.startswith("cast to "):
        cast = sql.SQL(resolvable_via.removeprefix("cast to "))
        match = sql.SQL("p.{k} = c.{o}::{cast}").format(k=key, o=old, cast=cast)
        how = f"-- 2. Backfill by casting the {ref.column_type} values (in batches on a large table):"
    else:
        match = sql.SQL("p.{legacy} = c.{o}").format(legacy=sql.Identifier(resolvable_via), o=old)
        how = f"-- 2. Backfill through {ref.referenced_table}.{resolvable_via} (in batches on a large table):"
    return render(head + [
        f"-- 1. Add a {ref.referenced_type} column (no rewrite, brief lock):",
        sql.SQL("ALTER TABLE {t} ADD COLUMN {n} {typ};").format(t=t, n=newc, typ=sql.SQL(ref.referenced_type)),
        how,
        sql.SQL("UPDATE {t} c SET {n} = p.{k} FROM {p} p WHERE {match} AND c.{n} IS NULL;").format(
            t=t, n=newc, k=key, p=p, match=match),
        "-- 3. Verify: rows that kept a value but found no parent (decide what they mean before going on):",
        sql.SQL("SELECT count(*) FROM {t} WHERE {o} IS NOT NULL AND {n} IS NULL;").format(t=t, o=old, n=newc),
        "-- 4. Once the application writes the new column: swap the names (brief ACCESS EXCLUSIVE lock),",
        sql.SQL("ALTER TABLE {t} RENAME COLUMN {o} TO {legacy};").format(
            t=t, o=old, legacy=sql.Identifier(f"{col}_legacy"[:NAME_MAX])),
        sql.SQL("ALTER TABLE {t} RENAME COLUMN {n} TO {o};").format(t=t, n=newc, o=old),
        "-- 5. then enforce and index it:"] + add_foreign_key(ref) + create_index(ref) + [
        "-- 6. When nothing reads the old values any more:",
        sql.SQL("-- ALTER TABLE {t} DROP COLUMN {legacy};").format(
            t=t, legacy=sql.Identifier(f"{col}_legacy"[:NAME_MAX]))])
