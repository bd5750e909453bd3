"""The same database on another major version gives the same findings: PostgreSQL 16 (the pgserver
wheel) and 15 (Debian's, with hypopg) against the embedded 18. Statistics views, pg_stats and
pg_stat_progress_create_index differ between them; the findings must not."""
import pytest

from conftest import new_database
from pgvet.runner import run_audit

SCHEMA = """
CREATE TABLE users (id int PRIMARY KEY, name text, legacy_code text);
INSERT INTO users SELECT g, 'u' || g, NULL FROM generate_series(1, 300) g;
CREATE TABLE orders (id int PRIMARY KEY, user_id int, status text, total numeric);
INSERT INTO orders SELECT g, CASE WHEN g <= 4 THEN 900 + g ELSE g % 300 + 1 END, (ARRAY['open','paid','void'])[g % 3 + 1],
                          g FROM generate_series(1, 3000) g;
ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users NOT VALID;
CREATE TABLE reviews (id int PRIMARY KEY, order_id bigint REFERENCES orders, user_id int, body text);
INSERT INTO reviews SELECT g, g % 3000 + 1, CASE WHEN g <= 2 THEN 700 + g ELSE g % 300 + 1 END, 'ok'
                    FROM generate_series(1, 1000) g;
CREATE INDEX reviews_body ON reviews (body);
CREATE INDEX reviews_body_copy ON reviews (body);
CREATE TABLE audit_log (at timestamptz, what text);
INSERT INTO audit_log SELECT now(), 'x' FROM generate_series(1, 100);
ANALYZE;
"""
VARIES = {"top_queries", "index_suggestions"}   # the statements the server has seen differ with its history


def findings(server, name):
    db = new_database(server, name)
    db.sql(SCHEMA)
    run = run_audit(db.target)
    return run, {f.key for f in run.findings if f.check not in VARIES}


@pytest.mark.parametrize("other", ["pg16_server", "pg15_server"])
def test_another_major_version_finds_what_18_finds(server, other, request):
    them = request.getfixturevalue(other)
    run, theirs = findings(them, "versions")
    _, ours = findings(server, f"versions_{other}")
    assert [(c.id, c.status, c.reason) for c in run.checks if c.status not in ("ok", "skipped")] == []
    skipped = {c.id for c in run.checks if c.status == "skipped"}
    assert skipped <= {"top_queries", "index_suggestions", "migration_drift", "migration_history",
                       "migration_lint"}, skipped
    assert theirs == {k for k in ours if k.split(":")[0] not in skipped}
    assert {k.split(":")[0] for k in theirs} >= {"orphaned_rows", "untrusted_foreign_keys", "fk_type_mismatch",
                                                "duplicate_indexes", "tables_without_primary_key"}
