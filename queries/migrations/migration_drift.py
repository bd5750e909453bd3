"""
---
id: migration_drift
title: Differences between what the migrations meant and what the database has
area: migrations
severity: warning
reads: data
params:
  migrations_dir: ""
  hints_file: ""
  max_file_mb: 20.0
sentence: "{table}: {kind} ({detail})"
tier: risk
label: "{kind}"
section: "Drift: what the migrations meant vs what the database has"
---
Replays the parsed migrations into the intended schema (tables, column types, primary and
foreign keys, indexes) and compares it with the live catalog: foreign keys the migrations
declare but the database lacks (with the reason when it is knowable, such as incompatible
types), columns whose live type differs, tables and indexes in one but not the other.
"""
from pgvet.migrations import LIVE_INDEXES, analyse
from pgvet.migrations.model import comparable
from pgvet.references import all_references


def _split(table):
    schema, _, name = table.partition(".")
    return schema, name


def findings(ctx):
    result = analyse(ctx)
    model, live = result["model"], result["live"]
    rows = []
    declared = {(f"{r.schema}.{r.table}", r.columns) for r in all_references(ctx) if r.declared}
    for fk in model.fks:
        if (fk.table, fk.columns) in declared:
            continue
        # why the live database lacks it: its live column types first, the intended ones where it has none
        mine = [live.columns.get(fk.table, {}).get(c) or model.tables.get(fk.table, {}).get(c) for c in fk.columns]
        theirs = [live.columns.get(fk.ref_table, {}).get(c) or model.tables.get(fk.ref_table, {}).get(c)
                  for c in fk.ref_columns]
        if fk.table not in live.tables or fk.ref_table not in live.tables:
            reason = "a table it joins does not exist in the database"
        elif all(mine + theirs) and not all(comparable(a, b) for a, b in zip(mine, theirs)):
            reason = (f"PostgreSQL rejects it: {', '.join(mine)} cannot reference {', '.join(theirs)} (42804); "
                      "the migration's REFERENCES never took effect")
        else:
            reason = "absent from the database: dropped by hand, or its migration failed"
        schema, name = _split(fk.table)
        rows.append({"schema": schema, "table": name, "column": ", ".join(fk.columns), "object": "foreign key",
                     "detail": f"{fk.where} declares {', '.join(fk.columns)} -> {fk.ref_table}"
                               f"({', '.join(fk.ref_columns)}); {reason}",
                     "kind": "missing foreign key", "declared_in": fk.where, "referenced_table": fk.ref_table,
                     "reason": reason})
    for table, columns in sorted(model.tables.items()):
        schema, name = _split(table)
        if table not in live.tables:
            rows.append({"schema": schema, "table": name, "object": "table", "kind": "missing table",
                         "detail": "created by the migrations, absent from the database"})
            continue
        for column, intended in sorted(columns.items()):
            actual = live.columns[table].get(column)
            if actual is None:
                rows.append({"schema": schema, "table": name, "column": column, "kind": "missing column",
                             "detail": f"the migrations give {table} a column {column} ({intended}); the database has none",
                             "intended_type": intended})
            elif intended != "unknown" and actual != intended and intended.split("(")[0] in _KNOWN \
                    and "[]" not in intended:
                rows.append({"schema": schema, "table": name, "column": column, "kind": "column type",
                             "detail": f"the migrations make {column} {intended}; the database has {actual}",
                             "intended_type": intended, "live_type": actual})
    untracked = sorted(set(live.tables) - set(model.tables))
    if untracked:  # one finding, not one per table: migrations folders often start after the first tables
        rows.append({"table": "tables not in migrations", "kind": "tables not in migrations", "severity": "info",
                     "detail": f"{len(untracked)} tables exist in the database but no migration creates them: "
                               + ", ".join(untracked), "tables": len(untracked)})
    live_indexes = {(r[0], r[1]): tuple(r[2] or ()) for r in ctx.pg.execute(LIVE_INDEXES).fetchall()}
    live_columns = {(t, cols) for (t, _), cols in live_indexes.items()}
    for index in model.indexes:
        if index.table not in live.tables:
            continue
        present = (index.table, index.name) in live_indexes if index.name else (index.table, index.columns) in live_columns
        if not present:
            schema, name = _split(index.table)
            label = index.name or f"({', '.join(index.columns)})"
            rows.append({"schema": schema, "table": name, "object": label, "kind": "missing index",
                         "detail": f"{index.where} creates index {label}; the database does not have it",
                         "declared_in": index.where})
    return rows


_KNOWN = {"smallint", "integer", "bigint", "boolean", "double precision", "real", "timestamp with time zone",
          "timestamp without time zone", "character varying", "character", "numeric", "text", "uuid", "date",
          "jsonb", "json", "bytea"}
