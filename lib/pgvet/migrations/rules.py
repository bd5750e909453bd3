"""Every migration rule, declared once: its id, the severities it can have, the lock the statement
takes, squawk's equivalent and what it means. lint.py raises issues only with these ids (an Issue
checks itself against this table), and queries/migrations/migration_lint.md holds the table
`rules_table()` renders (a test compares them)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    severities: tuple[str, ...]
    doc: str
    lock: str | None = None
    squawk: str | None = None     # squawk's rule of the same meaning, if it has one
    scope: str = "statement"      # or "file": about the file itself, raised by migration_lint


_ALL = [
    Rule("destructive-type-conversion", ("critical", "warning"),
         "`USING gen_random_uuid()` / `uuid_generate_v4()` / `random()` / a constant: every row gets a value unrelated "
         "to the old one; critical on a key or reference column", "ACCESS EXCLUSIVE (rewrites the table)"),
    Rule("type-change-without-mapping", ("critical",),
         "integer → uuid and the like with no `USING`: no cast exists, the statement fails", "ACCESS EXCLUSIVE"),
    Rule("fk-type-mismatch", ("critical", "warning"),
         "`integer … REFERENCES t(id)` where `id` is uuid (PostgreSQL rejects it, 42804); int4 → int8 as warning"),
    Rule("unknown-relation", ("critical",), "a table or column that neither an earlier migration nor the database has"),
    Rule("concurrently-in-transaction", ("critical",),
         "`CONCURRENTLY` inside `BEGIN` or in a Drizzle migration (run in a transaction): the statement fails",
         squawk="ban-concurrent-index-creation-in-transaction"),
    Rule("drop-referenced-column", ("critical",), "drops a column other tables refer to", "ACCESS EXCLUSIVE"),
    Rule("changing-column-type", ("warning",), "a type change that rewrites the table and its indexes",
         "ACCESS EXCLUSIVE (rewrites the table)", "changing-column-type"),
    Rule("require-concurrent-index-creation", ("warning",), "CREATE INDEX without CONCURRENTLY on an existing table",
         "SHARE (blocks writes while the index builds)", "require-concurrent-index-creation"),
    Rule("require-concurrent-index-deletion", ("warning",), "DROP INDEX without CONCURRENTLY", "ACCESS EXCLUSIVE",
         "require-concurrent-index-deletion"),
    Rule("adding-foreign-key-constraint", ("warning",), "a foreign key without `NOT VALID` on an existing table",
         "SHARE ROW EXCLUSIVE on both tables while every row is checked", "adding-foreign-key-constraint"),
    Rule("disallowed-unique-constraint", ("warning",),
         "UNIQUE / PRIMARY KEY without `USING INDEX` on an existing table", "ACCESS EXCLUSIVE while the index builds",
         "disallowed-unique-constraint"),
    Rule("constraint-missing-not-valid", ("warning",), "a CHECK without `NOT VALID` on an existing table",
         "ACCESS EXCLUSIVE while every row is checked", "constraint-missing-not-valid"),
    Rule("adding-required-field", ("warning",), "a NOT NULL column without a default on an existing table",
         "ACCESS EXCLUSIVE", "adding-required-field"),
    Rule("adding-not-nullable-field", ("warning",), "SET NOT NULL on an existing table",
         "ACCESS EXCLUSIVE while every row is checked", "adding-not-nullable-field"),
    Rule("ban-drop-table", ("warning",), "drops a table and its data", "ACCESS EXCLUSIVE", "ban-drop-table"),
    Rule("ban-drop-column", ("warning",), "drops a column and its data", "ACCESS EXCLUSIVE", "ban-drop-column"),
    Rule("ban-truncate-cascade", ("warning",), "TRUNCATE … CASCADE also empties every table that references it",
         "ACCESS EXCLUSIVE", "ban-truncate-cascade"),
    Rule("ban-drop-database", ("critical",), "drops the database", squawk="ban-drop-database"),
    Rule("renaming-column", ("warning",), "renames a column of an existing table: running code breaks",
         "ACCESS EXCLUSIVE (brief)", "renaming-column"),
    Rule("renaming-table", ("warning",), "renames an existing table: running code breaks", "ACCESS EXCLUSIVE (brief)",
         "renaming-table"),
    Rule("not-in-manifest", ("warning",), "a file the Drizzle journal or sqitch plan does not list (linted all the same)",
         scope="file"),
    Rule("missing-file", ("warning",), "a journal or plan entry whose file is not there", scope="file"),
    Rule("manifest-unreadable", ("warning",), "a journal that cannot be read: every file is read by name", scope="file"),
    Rule("does-not-decode", ("warning",), "a file that is not UTF-8 (read with replacement characters)", scope="file"),
    Rule("does-not-parse", ("warning",), "a statement PostgreSQL's parser rejects, with its line", scope="file"),
    Rule("too-large", ("warning",), "a file above `max_file_mb`: not read", scope="file"),
    Rule("unreadable", ("warning",), "a file that cannot be read", scope="file"),
]
RULES: dict[str, Rule] = {r.id: r for r in _ALL}
LOCKS = {r.id: r.lock for r in _ALL if r.lock}


def rules_table() -> str:
    """The rules table of migration_lint.md."""
    rows = ["| pgvet rule | severity | lock | squawk |", "|---|---|---|---|"]
    rows += [f"| `{r.id}` — {r.doc} | {' / '.join(r.severities)} | {r.lock or '—'} | {r.squawk or '—'} |"
             for r in _ALL]
    return "\n".join(rows)
