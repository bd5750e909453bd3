"""
---
id: reference_type_mismatch
title: Reference columns whose type cannot hold the key they refer to
area: references
reads: data
severity: critical
params:
  hints_file: ""
  migrations_dir: ""
sentence: "{table}.{column} is {column_type} but refers to {referenced_table}.{referenced_column} ({referenced_type}): none of its {non_null:# value} can ever be joined"
tier: live
harm: {metric: non_null, unit: rows}
label: "can never join ({non_null:# row})"
section: "Columns whose type does not match their key"
fixes: [AlterTableStmt, IndexStmt, RenameStmt, SelectStmt, UpdateStmt]
---
A column that refers to another table's key (declared or inferred) but has no '=' with it:
integer or varchar against uuid, and so on. No join can resolve it, and PostgreSQL rejects the
foreign key (42804), so none exists. When the referenced table keeps an integer legacy key, or
the strings are shaped like the key, the check counts how many rows could still be resolved.
A column with no value yet is critical only on strong evidence (declared, an exact name, a
comment, a hint or a migration), otherwise a low-confidence warning; a string column that is all
NULL is info.
"""
from psycopg import sql

from pgvet.references import all_references, reference_row
from pgvet.references.fixes import type_mismatch_fix
from pgvet.references.inference import SHAPES, released


def _counts(ctx, ref):
    """(rows with a value, resolvable rows, resolved through what) — one scan of the child table."""
    col = sql.SQL("c.{}").format(sql.Identifier(ref.columns[0]))
    legacy = ref.observed.get("legacy_key")
    if legacy:
        via = legacy
        resolve = sql.SQL("EXISTS (SELECT 1 FROM {p} p WHERE p.{k} = {c})").format(
            p=ref.ref_qualified(), k=sql.Identifier(legacy), c=col)
    elif ref.referenced_type == "uuid" or ref.referenced_type in ("integer", "bigint", "smallint"):
        shape, cast = ("uuid", "uuid") if ref.referenced_type == "uuid" else ("int", "bigint")
        if not ref.column_type.startswith(("text", "character")):
            return _non_null(ctx, ref, col), None, None
        via = f"cast to {cast}"
        resolve = sql.SQL("CASE WHEN {c} ~ {re} THEN EXISTS (SELECT 1 FROM {p} p WHERE p.{k} = {c}::{t}) END").format(
            c=col, re=sql.Literal(SHAPES[shape].replace("{1,19}", "{1,18}")), p=ref.ref_qualified(),
            k=sql.Identifier(ref.ref_columns[0]), t=sql.SQL(cast))
    else:
        return _non_null(ctx, ref, col), None, None
    non_null, resolvable = ctx.pg.execute(
        sql.SQL("SELECT count({c}), count(*) FILTER (WHERE {r}) FROM {t} c").format(
            c=col, r=resolve, t=ref.qualified())).fetchone()
    return non_null, resolvable, via


def _non_null(ctx, ref, col):
    return ctx.pg.execute(sql.SQL("SELECT count({c}) FROM {t} c").format(c=col, t=ref.qualified())).fetchone()[0]


STRONG_EVIDENCE = ("name: ", "comment:", "hint:", "migration:")   # an exact name, a comment, a hint, a migration


def _strong(ref):
    return ref.declared or any(e.startswith(STRONG_EVIDENCE) for e in ref.evidence)


def _empty(ref, row):
    """A column with no value: nothing confirms the reference, so only strong evidence keeps it critical;
    a string column that is all NULL is a note."""
    strong = _strong(ref)
    row["detail"] = (f"{ref.column} is {ref.column_type} but {ref.referenced_table}.{ref.referenced_column} is "
                     f"{ref.referenced_type}; it holds no value yet, so no data confirms the reference")
    if ref.column_type.startswith(("text", "character")):
        row["severity"] = "info"
    elif not strong:
        row.update(severity="warning", confidence="low")
    return row


def findings(ctx):
    rows = []
    for ref in all_references(ctx):
        if ref.comparable or not ref.ref_table:
            continue
        with released(ctx.pg):    # each table's locks go when it is counted
            non_null, resolvable, via = _counts(ctx, ref)
        detail = (f"{ref.column} is {ref.column_type} but {ref.referenced_table}.{ref.referenced_column} is "
                  f"{ref.referenced_type}: none of the {non_null} values can be joined")
        if via:
            detail += f"; {resolvable} can be recovered through {via}"
        row = reference_row(ref, detail, fix=type_mismatch_fix(ref, via), non_null=non_null, resolvable_via=via,
                            resolvable=resolvable, unresolvable=None if via is None else non_null - resolvable)
        if non_null == 0:
            row = _empty(ref, row)
        elif not _strong(ref) and not (via and resolvable):
            row.update(severity="warning", confidence="low")   # a weak name the data cannot confirm
        rows.append(row)
    return rows
