"""Reports over time and for schedulers: changes between dated reports, trends, suppressions, exit codes."""
import json
from datetime import date

from pgvet.report import write_report
from test_report import pgvet

SETUP = """CREATE TABLE users (id int PRIMARY KEY);
           INSERT INTO users SELECT generate_series(1, 10);
           CREATE TABLE posts (id int, user_id int);
           INSERT INTO posts VALUES (1, 1), (2, 77), (3, 78);
           ALTER TABLE posts ADD FOREIGN KEY (user_id) REFERENCES users NOT VALID;
           CREATE TABLE badges (id int PRIMARY KEY); INSERT INTO badges VALUES (1);
           CREATE TABLE awards (badge_id int); INSERT INTO awards VALUES (1), (9);
           ALTER TABLE awards ADD FOREIGN KEY (badge_id) REFERENCES badges NOT VALID; ANALYZE;"""


def test_two_dated_reports_show_new_resolved_and_worse_findings_and_a_two_point_trend(db, tmp_path):
    db.sql(SETUP)
    first = write_report(db.target, tmp_path, only="orphaned_rows,untrusted_foreign_keys", day=date(2026, 1, 1))
    assert first.failed is None
    db.sql("""DELETE FROM awards WHERE badge_id = 9;                         -- resolved
              ALTER TABLE posts DISABLE TRIGGER ALL;
              INSERT INTO posts VALUES (4, 79);                              -- worse: 3 orphans instead of 2
              CREATE TABLE likes (user_id int); INSERT INTO likes VALUES (5), (99);
              ALTER TABLE likes ADD FOREIGN KEY (user_id) REFERENCES users NOT VALID;   -- new (two findings)
              ANALYZE;""")
    second = write_report(db.target, tmp_path, only="orphaned_rows,untrusted_foreign_keys", day=date(2026, 1, 2))
    assert second.failed is None
    page = second.index_html.read_text()
    assert "Since the report of 2026-01-01: 2 new, 1 resolved, 1 worse." in page
    assert "public.likes.user_id" in page and "public.awards.badge_id" in page
    folder = f"{db.name}--orphaned_rows+untrusted_foreign_keys"   # a partial run has a lineage of its own
    records = [json.loads((tmp_path / d / folder / "history.json").read_text()) for d in ("2026-01-01", "2026-01-02")]
    assert [(r["day"], r["critical"], r["harm"]["orphaned_rows"]) for r in records] == [("2026-01-01", 2, 3),
                                                                                         ("2026-01-02", 2, 4)]
    assert page.count('"2026-01-01"') >= 1 and "Trend over 2 reports" in page
    index = (tmp_path / "index.html").read_text()
    assert f"2026-01-02/{folder}/index.html" in index and f"2026-01-01/{folder}/index.html" in index


def test_a_suppressed_finding_leaves_the_counts_and_an_expired_one_comes_back(db, tmp_path):
    db.sql(SETUP)
    config = tmp_path / "pgvet.yml"
    config.write_text(f"""targets:
  {db.name}:
    suppress:
      - key: orphaned_rows:public.posts.*
        reason: legacy rows kept for the audit trail
        until: 2026-06-30
""")
    report = write_report(db.target, tmp_path / "r", only="orphaned_rows", day=date(2026, 3, 1), config=config)
    data = json.loads(report.findings_json.read_text())
    assert [f["key"] for f in data["findings"]] == ["orphaned_rows:public.awards.badge_id"]
    assert [(s["finding"]["key"], s["reason"]) for s in data["suppressed"]] == [
        ("orphaned_rows:public.posts.user_id", "legacy rows kept for the audit trail")]
    page = report.index_html.read_text()
    assert "legacy rows kept for the audit trail" in page and "1 critical" in page
    later = write_report(db.target, tmp_path / "r", only="orphaned_rows", day=date(2026, 7, 1), config=config)
    data = json.loads(later.findings_json.read_text())
    assert sorted(f["key"] for f in data["findings"]) == ["orphaned_rows:public.awards.badge_id",
                                                          "orphaned_rows:public.posts.user_id"]
    assert data["suppressed"] == [] and data["expired_suppressions"][0]["until"] == "2026-06-30"
    assert "its findings count again" in later.index_html.read_text()


def test_fail_on_and_json_output_for_schedulers(db, tmp_path):
    db.sql(SETUP)
    result = pgvet("report", "--dsn", db.dsn, "--out", str(tmp_path), "--only", "orphaned_rows",
                   "--fail-on", "critical", "--format", "json")
    assert result.returncode == 1, result.stderr
    assert [f["key"] for f in json.loads(result.stdout)["findings"]] == [
        "orphaned_rows:public.awards.badge_id", "orphaned_rows:public.posts.user_id"]
    db.sql("DELETE FROM posts WHERE user_id > 10; DELETE FROM awards WHERE badge_id > 1; ANALYZE")
    result = pgvet("report", "--dsn", db.dsn, "--out", str(tmp_path), "--only", "orphaned_rows",
                   "--fail-on", "critical")
    assert result.returncode == 0, result.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text("suppress:\n  - key: x\n")
    result = pgvet("report", "--dsn", db.dsn, "--config", str(bad))
    assert result.returncode == 2 and result.stderr.strip() == f"pgvet: error: {bad}: the suppression of x needs a reason"


def test_a_fleet_reports_every_target_and_an_unreachable_one_gets_an_error_page(db, tmp_path):
    db.sql(SETUP)
    targets = tmp_path / "targets.yml"
    targets.write_text("jobs: 2\ntargets:\n  - name: good\n    dsn_env: GOOD_DSN\n  - name: gone\n    dsn_env: GONE_DSN\n")
    result = pgvet("report", "--targets", str(targets), "--out", str(tmp_path / "r"), "--only", "untrusted_foreign_keys",
                   env={"GOOD_DSN": db.dsn, "GONE_DSN": "host=127.0.0.1 port=1 dbname=nowhere connect_timeout=2"})
    assert result.returncode == 3
    assert [line for line in result.stderr.splitlines() if "error" in line] == [
        "pgvet: error: gone: cannot reach the server: connection failed: connection to server at \"127.0.0.1\", "
        "port 1 failed: Connection refused"]
    (day,) = [p.name for p in (tmp_path / "r").iterdir() if p.is_dir()]
    good = json.loads((tmp_path / "r" / day / "good--untrusted_foreign_keys" / "findings.json").read_text())
    assert [f["key"] for f in good["findings"]] == ["untrusted_foreign_keys:public.awards.badge_id",
                                                    "untrusted_foreign_keys:public.posts.user_id"]
    (failed,) = (tmp_path / "r" / day / "gone--untrusted_foreign_keys").glob("failed-*/index.html")
    assert "cannot reach the server" in failed.read_text()
    index = (tmp_path / "r" / "index.html").read_text()
    assert f"{day}/good--untrusted_foreign_keys/index.html" in index and f"{failed.parent.name}/index.html" in index


def test_a_targets_file_never_takes_an_inline_dsn(tmp_path):
    targets = tmp_path / "targets.yml"
    targets.write_text("targets:\n  - name: x\n    dsn: host=db password=hunter2\n")
    result = pgvet("report", "--targets", str(targets))
    assert result.returncode == 2 and "never an inline DSN or password" in result.stderr
    assert "hunter2" not in result.stderr


def test_an_area_notebook_runs_under_plain_papermill(db, tmp_path):
    """The same notebook an orchestrator would run: parameters on the command line, no password."""
    import subprocess
    import sys
    from pathlib import Path

    import nbformat

    db.sql(SETUP)
    notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    out = tmp_path / "references.ipynb"
    result = subprocess.run([sys.executable, "-m", "papermill", str(notebooks / "references.ipynb"), str(out),
                             "-p", "target", "nightly", "-p", "dsn", db.dsn, "--cwd", str(notebooks)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    text = json.dumps(nbformat.read(str(out), as_version=4).cells)
    assert "nightly" in text and "public.posts.user_id" in text


def test_plain_sentences_fill_the_checks_template_with_words_for_numbers_and_fall_back_to_the_detail():
    from pgvet.results import Finding
    from pgvet.wording import plain_sentence

    def finding(**metrics):
        return Finding.from_row("orphaned_rows", "critical", {"schema": "public", "table": "user_badges",
                                                              "column": "badge_id", "detail": "37 rows …", **metrics})
    template = "{table}.{column} holds {orphans:# value} with no match in {referenced_table}; {wasted_bytes}; {since}"
    f = finding(orphans=3700, referenced_table="public.badges", wasted_bytes=31817728, since="2026-11-02T10:11:00")
    assert plain_sentence(f, template) == \
        "user_badges.badge_id holds 3,700 values with no match in public.badges; 30.3 MB; 2 November 2026, 10:11"
    assert plain_sentence(finding(orphans=1, referenced_table="x", wasted_bytes=1, since="2026-01-01"),
                          template).startswith("user_badges.badge_id holds 1 value with no match in x; 1 byte; 1 January")
    assert plain_sentence(f, "{no_such_metric} rows") == "37 rows …"
    assert plain_sentence(finding(orphans=None), "{orphans:# row}") == "37 rows …"   # a NULL metric: the detail
