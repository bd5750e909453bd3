"""A database whose names and comments are hostile: newlines, carriage returns, quotes, %, braces,
backslashes, unicode, emoji, reserved words, 63-byte names, HTML and SQL. Every check runs on it, the
page shows every name as written, the text formats keep a finding to a line, and fixes.sql applied to
a copy changes nothing but what pgvet wrote."""
import html
import io
import re

import pandas as pd
import psycopg
import pytest
from pglast import parse_sql
from psycopg import sql

from conftest import new_database
from pgvet import formats
from pgvet.connection import resolve_target
from pgvet.fixsafety import allowed_statements, safe_fix
from pgvet.report import write_report
from test_fixsafety import _psql

MARKUP = '<a href="javascript:alert(1)">clk</a><b>B</b>'
NAMES = ["x\nDROP TABLE victim; --", "cr\rDROP TABLE victim; --", "it's \"quoted\"", "100%_{braces}\\back\\",
         "ünïcødé_表", "emoji_🐘", "select", "t" * 63, MARKUP, '=HYPERLINK("http://x.invalid","y")']


@pytest.fixture(scope="module")
def hostile(server):
    db = new_database(server, "hostile_names")
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE victim (id int PRIMARY KEY)")
        for i, name in enumerate(NAMES):
            table = sql.Identifier(name)
            # no primary key, no index, a deprecated column, a reference nothing declares, a duplicate index
            conn.execute(sql.SQL("CREATE TABLE {} (id int, victim_id int, {} int, note text)").format(
                table, sql.Identifier(f"old {name}")))
            conn.execute(sql.SQL("INSERT INTO {} SELECT g, g % 3, NULL, 'n' FROM generate_series(1, 500) g").format(table))
            conn.execute(sql.SQL("COMMENT ON COLUMN {}.{} IS {}").format(
                table, sql.Identifier(f"old {name}"), sql.Literal(f"deprecated {name} \\! touch /tmp/x; DROP TABLE victim;")))
            conn.execute(sql.SQL("CREATE INDEX {} ON {} (note)").format(sql.Identifier(f"i{i} {name}"[:63]), table))
            conn.execute(sql.SQL("CREATE INDEX {} ON {} (note)").format(sql.Identifier(f"j{i} {name}"[:63]), table))
        conn.execute("INSERT INTO victim SELECT generate_series(1, 2)")   # victim_id 0 matches nothing: orphans
        for i, name in enumerate(NAMES[:3]):   # hostile constraint names on foreign keys nothing enforces yet
            conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY (victim_id) REFERENCES victim "
                                 "NOT VALID").format(sql.Identifier(name), sql.Identifier(f"fk{i} {name}"[:63])))
        conn.execute("ANALYZE")
    return db


@pytest.fixture(scope="module")
def report(hostile, tmp_path_factory):
    report = write_report(resolve_target(dsn=hostile.dsn, name="hostile"), out_root=tmp_path_factory.mktemp("r"),
                          params={"unused_columns.min_rows": 100})
    assert report.failed is None
    return report


def test_every_check_runs_on_hostile_names(report):
    assert [(c.id, c.status, c.reason) for c in report.audit.checks if c.status not in ("ok", "skipped")] == []
    found = {f.check for f in report.audit.findings}
    assert {"tables_without_primary_key", "duplicate_indexes", "unused_columns", "orphaned_rows"} <= found
    for name in NAMES:
        assert any(f.table == name for f in report.audit.findings if f.check == "tables_without_primary_key"), name


def test_the_page_shows_every_name_as_written(report):
    page = report.index_html.read_text()
    assert MARKUP not in page and html.escape(MARKUP, quote=False) in page
    assert "<b>B</b>" not in page and "javascript:alert" not in page.replace(html.escape("javascript:alert"), "")
    assert "emoji_🐘" in page and "ünïcødé_表" in page and html.escape("it's \"quoted\"", quote=False) in page


def test_text_and_markdown_keep_a_finding_to_a_line(report):
    text = formats.text(report.audit).splitlines()
    assert len(text) == 2 + len(report.audit.findings) + len(report.audit.gaps)
    markdown = formats.markdown(report.audit)
    assert MARKUP not in markdown and "\r" not in markdown
    cells = pd.read_csv(io.StringIO(formats.csv(report.audit)), dtype=str, keep_default_na=False).values.ravel()
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@"))]      # no cell a spreadsheet runs
    assert any(c.startswith("'=HYPERLINK") for c in cells)


def test_every_fix_holds_only_the_statement_kinds_its_check_writes(report):
    with_fix = [f for f in report.audit.findings if f.fix]
    assert {"untrusted_foreign_keys", "orphaned_rows", "tables_without_primary_key"} <= {f.check for f in with_fix}
    for f in with_fix:
        assert {type(s.stmt).__name__ for s in parse_sql(safe_fix(f))} <= allowed_statements(f.check), f.key


def test_fixes_sql_applied_to_a_copy_changes_nothing_but_what_pgvet_wrote(hostile, report, tmp_path):
    copy = "hostile_names_copy"
    with psycopg.connect(hostile.server.dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(copy), sql.Identifier(hostile.name)))
    try:
        done = _psql(hostile.server.dsn(dbname=copy), report.directory / "fixes.sql")
        assert "syntax error" not in done.stderr, done.stderr
        with psycopg.connect(hostile.server.dsn(dbname=copy)) as conn:
            tables = {r[0] for r in conn.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND "
                                                 "relnamespace = 'public'::regnamespace")}
        assert tables == set(NAMES) | {"victim"}
        assert not re.search(r"^\\!", report.directory.joinpath("fixes.sql").read_text(), re.M)
    finally:
        with psycopg.connect(hostile.server.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(copy)))
