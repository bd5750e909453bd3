"""
---
id: orphaned_rows
title: Rows that point at a parent that does not exist
area: references
reads: data
severity: critical
params:
  orphans_scope: all
  jobs: 2
  sample_above_rows: 10000000
  sample_rows: 1000000
  max_gaps: 10000
  collect_orphans_up_to: 1000000
  hints_file: ""
  migrations_dir: ""
sentence: "{table}.{column} holds {orphans:# value} with no matching {referenced_table} row: joins drop those rows and totals stop adding up"
tier: live
harm: {metric: orphans, unit: rows}
label: "{orphans:# orphaned row}"
section: "Rows that point nowhere"
fixes: [SelectStmt]
---
Counted for every declared foreign key (valid ones too: rows loaded with triggers disabled or
under session_replication_role = replica bypass them) and every inferred reference whose types
can be compared, and every polymorphic pair (`<x>_id` + `<x>_type`) per type value: each value is
mapped to the table it names (a Rails class, a namespaced class or its STI parent, a table name,
`schema.table`) and its rows counted against that table; values that name no table are listed.
`orphans_scope: untrusted` limits the count to NOT VALID, trigger-disabled and
undeclared references.
"""
from pgvet.errors import UsageError
from pgvet.references import all_references, orphan_counts, reference_row
from pgvet.references.fixes import orphans_fix
from pgvet.references.inference import released
from pgvet.references.polymorphic import count_polymorphic, keyed_tables

SCOPES = ("all", "untrusted")


def findings(ctx):
    scope = ctx.params["orphans_scope"]
    if scope not in SCOPES:
        raise UsageError(f"orphaned_rows.orphans_scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    refs = [r for r in all_references(ctx) if r.countable and (scope == "all" or r.untrusted)]
    rows = []
    for key, c in sorted(orphan_counts(ctx, refs).items()):
        if not c.orphans:
            continue
        ref = c.reference
        how = "estimated from a sample of" if c.method == "sampled" else "among"
        parents = f" (pointing at {c.missing_parents:,} missing parents)" if c.missing_parents else ""
        rows.append(reference_row(
            ref, f"{c.orphans:,} rows{parents} have no {ref.referenced_table} row, {how} {c.checked_rows:,} rows",
            fix=orphans_fix(ref), declared="yes" if ref.declared else "no", orphans=c.orphans, non_null=c.non_null,
            checked_rows=c.checked_rows, missing_parents=c.missing_parents, method=c.method,
            counted_by=c.counted_by,
            **({"estimate_low": c.estimate_low, "estimate_high": c.estimate_high} if c.method == "sampled" else {})))
    polymorphic = [r for r in all_references(ctx) if r.polymorphic_type_column and (scope == "all" or r.untrusted)]
    keyed = keyed_tables(ctx.pg) if polymorphic else None
    return rows + [row for r in polymorphic if (row := _polymorphic_row(ctx, r, keyed))]


def _polymorphic_row(ctx, ref, keyed):
    """One finding per polymorphic reference with orphans or unknown types: the counts per type value."""
    with released(ctx.pg):
        counted = count_polymorphic(ctx.pg, ref, keyed)
    if not counted.orphans and not counted.unknown:
        return None
    per_type = "; ".join(f"{t.value} -> {t.table}: {t.orphans:,} of {t.rows:,} orphaned" if t.orphans is not None
                         else f"{t.value} -> {t.table}: {t.rows:,} rows, key types not comparable"
                         for t in counted.types if t.table)
    unknown = ", ".join(f"{t.value} ({t.rows:,} rows)" for t in counted.unknown)
    detail = (f"{counted.orphans:,} rows point at no row of the table their {ref.polymorphic_type_column} names"
              + (f" ({per_type})" if per_type else "") + (f"; types that name no table: {unknown}" if unknown else ""))
    row = reference_row(ref, detail, declared="no", orphans=counted.orphans,
                        non_null=sum(t.rows for t in counted.types), method="exact", counted_by="per type",
                        per_type=per_type or None, unknown_types=unknown or None)
    if not counted.orphans:
        row["severity"] = "warning"
    return row
