"""
---
id: undeclared_foreign_keys
title: References that no foreign key enforces
area: references
reads: data
severity: warning
params:
  jobs: 2
  sample_above_rows: 10000000
  sample_rows: 1000000
  max_gaps: 10000
  collect_orphans_up_to: 1000000
  hints_file: ""
  migrations_dir: ""
sentence: "{schema}.{table}.{column} refers to {referenced_table} but nothing enforces it ({orphans:# orphaned row})"
tier: live
harm: {metric: orphans, unit: rows}
label: "undeclared reference"
section: "References nothing enforces"
fixes: [AlterTableStmt, IndexStmt, SelectStmt]
---
Inferred from names, comments, a hints file and the data (see lib/pgvet/references/inference.py);
each finding says which evidence it rests on and how confident it is. Polymorphic references
(`content_id` beside `content_type`) are reported as such, as info.
"""
from pgvet.references import all_references, orphan_counts, reference_row
from pgvet.references.fixes import undeclared_fix


def findings(ctx):
    refs = [r for r in all_references(ctx) if not r.declared and r.comparable]
    counts = orphan_counts(ctx, refs)
    rows = []
    for ref in refs:
        if ref.polymorphic_type_column:
            types = ", ".join(ref.observed.get("types") or []) or "no rows yet"
            rows.append(reference_row(
                ref, f"polymorphic: the target table is named by {ref.polymorphic_type_column} ({types}); "
                     "no foreign key can enforce it", severity="info", type_column=ref.polymorphic_type_column,
                types=types))
            continue
        c = counts.get(ref.key)
        orphans = c.orphans if c else None
        rows.append(reference_row(
            ref, f"refers to {ref.referenced_table}({ref.referenced_column}) but no constraint exists"
                 + (f"; {orphans} rows already point nowhere" if orphans else ""),
            fix=undeclared_fix(ref, bool(orphans)), non_null=c.non_null if c else None, orphans=orphans,
            method=c.method if c else None))
    return sorted(rows, key=lambda r: (r["schema"], r["table"], r["column"]))
