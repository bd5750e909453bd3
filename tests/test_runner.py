"""The runner turns failures into statuses with reasons, and the run goes on."""

import psycopg
import pytest

from pgvet.catalog import load_checks
from pgvet.options import RunOptions
from pgvet.runner import run_audit


def _check(tmp_path, check_id, body, requires=""):
    folder = tmp_path / "probe"
    folder.mkdir(exist_ok=True)
    header = f"-- ---\n-- id: {check_id}\n-- title: {check_id}\n-- area: probe\n-- severity: info\n"
    header += "-- tier: latent\n-- sentence: probe\n-- label: probe\n-- section: probe\n"
    if requires:
        header += f"-- requires: {requires}\n"
    (folder / f"{check_id}.sql").write_text(header + "-- ---\n" + body)
    (folder / f"{check_id}.md").write_text("# doc\n")


@pytest.fixture
def probe_checks(tmp_path):
    _check(tmp_path, "a_sleeps", "SELECT pg_sleep(5)")
    _check(tmp_path, "b_fails", "SELECT * FROM no_such_table")
    _check(tmp_path, "c_needs_ext", "SELECT 1", "{extensions: [hypopg]}")
    _check(tmp_path, "d_locked", "SELECT 'public' AS schema, 'locked' AS \"table\", count(*) AS n FROM locked")
    _check(tmp_path, "e_fine", "SELECT 'public' AS schema, 't' AS \"table\", 'one' AS detail, 1 AS n")
    return load_checks(tmp_path)


def test_timeout_error_missing_extension_and_lock_become_statuses(db, probe_checks):
    db.sql("CREATE TABLE locked (id int)")
    holder = psycopg.connect(db.dsn)
    holder.execute("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE")
    try:
        run = run_audit(db.target, checks=probe_checks, options=RunOptions(statement_timeout_ms=1500))  # lock: 1000 ms
    finally:
        holder.rollback()
        holder.close()
    status = {c.id: (c.status, c.reason) for c in run.checks}
    assert status["a_sleeps"][0] == "timeout" and "statement timeout" in status["a_sleeps"][1]
    assert status["b_fails"][0] == "error" and "no_such_table" in status["b_fails"][1]
    assert status["c_needs_ext"] == ("skipped", "extension hypopg is not installed in this database "
                                                "(CREATE EXTENSION hypopg)")
    assert status["d_locked"][0] == "timeout" and "lock timeout" in status["d_locked"][1]
    assert status["e_fine"] == ("ok", None)
    assert [f.key for f in run.findings] == ["e_fine:public.t"]
    assert run.findings[0].metrics == {"n": 1}


def test_missing_privilege_skips_the_check(db, tmp_path):
    _check(tmp_path, "reads_secret", "SELECT count(*) AS n FROM secret")
    db.sql("CREATE TABLE secret (v text); CREATE ROLE nopriv LOGIN")
    try:
        from pgvet.connection import resolve_target
        target = resolve_target(dsn=db.server.dsn(dbname=db.name, user="nopriv"))
        run = run_audit(target, checks=load_checks(tmp_path))
        (check,) = run.checks
        assert check.status == "skipped" and check.reason.startswith("missing privilege: permission denied")
    finally:
        db.sql("DROP OWNED BY nopriv; DROP ROLE nopriv")
