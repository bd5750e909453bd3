"""The lab is the report: `make lab`'s notebooks run with the demo report's parameters and count the same,
and the ad-hoc calls a DBA reaches for answer from the live database, read-only."""
import re

import nbformat
import papermill
import psycopg
import pytest

from pgvet import demo, ranking
from pgvet import notebook as pv
from pgvet.demo import planted
from pgvet.lab import LAB_NOTEBOOKS, prepare
from pgvet.pages import NOTEBOOKS


def test_make_lab_notebooks_count_what_the_demo_report_counts(demo_db, demo_audit, tmp_path):
    lab = tmp_path / "lab"
    prepare(lab, demo.lab_parameters(demo_db.dsn, tmp_path / "reports"), NOTEBOOKS)
    assert sorted(p.stem for p in lab.glob("*.ipynb")) == sorted(LAB_NOTEBOOKS)
    for name in LAB_NOTEBOOKS:   # no parameters given: the lab's copies have the demo report's
        papermill.execute_notebook(str(lab / f"{name}.ipynb"), str(tmp_path / f"{name}.ipynb"), cwd=str(tmp_path),
                                   progress_bar=False, kernel_name="python3")
    listings = set(planted()["listings"])   # statement listings change with every run; the defects do not
    expected = {c.id: len(c.findings) for c in demo_audit.checks if c.id not in listings}
    for name in LAB_NOTEBOOKS:               # each notebook's summary per check counts what the report counts
        html = "".join(o.get("data", {}).get("text/html", "") for c in
                       nbformat.read(tmp_path / f"{name}.ipynb", as_version=4).cells for o in c.get("outputs", []))
        counted = {k: int(v) for k, v in re.findall(
            r'<a href="#check-([a-z_]+)">[^<]*</a></td>(?:<td[^>]*>[^<]*</td>)*?<td data-value="(\d+)">', html)
            if k not in listings}
        assert counted == {k: v for k, v in expected.items() if name in ("overview", ranking.check_of(k).area)}


def test_a_lab_copy_the_user_changed_is_kept(demo_db, tmp_path):
    parameters = demo.lab_parameters(demo_db.dsn, tmp_path)
    prepare(tmp_path, parameters, NOTEBOOKS)
    (tmp_path / "scans.ipynb").write_text((tmp_path / "scans.ipynb").read_text().replace("sequential", "my notes"))
    assert "scans" not in [p.stem for p in prepare(tmp_path, parameters, NOTEBOOKS)]
    assert "my notes" in (tmp_path / "scans.ipynb").read_text()


def test_query_returns_a_frame_and_cannot_write(demo_db):
    frame = pv.query("SELECT %(a)s::int + %(b)s::int AS n", {"a": 2, "b": 3}, dsn=demo_db.dsn)
    assert frame.to_dict("records") == [{"n": 5}]
    assert len(pv.query("SELECT * FROM orders", limit=7, dsn=demo_db.dsn)) == 7
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        pv.query("DELETE FROM orders", dsn=demo_db.dsn)


def test_one_tables_picture_has_its_references_both_ways_findings_and_indexes(demo_db, demo_audit):
    picture = pv.table(demo_audit, "public.order_items", dsn=demo_db.dsn)
    assert set(picture.references["reference"]) >= {"public.order_items.order_id", "public.order_items.product_id"}
    assert picture.referenced_by.empty
    assert "orphaned_rows" in set(picture.findings["check"]) and "unindexed_foreign_keys" in set(picture.findings["check"])
    assert int(picture.size["live_rows"].iloc[0]) > 0 and "order_items_pkey" in set(picture.indexes["index"])
    assert "Referred to by" in picture._repr_html_()


def test_orphans_of_one_reference_come_with_every_column_up_to_the_limit(demo_db, demo_audit):
    rows = pv.orphans(demo_audit, "public.order_items.product_id", limit=5, dsn=demo_db.dsn)
    assert len(rows) == 5 and {"order_id", "product_id"} <= set(rows.columns)
    every = pv.orphans(demo_audit, "public.order_items.product_id", limit=1000, dsn=demo_db.dsn)
    orphans = next(f for f in demo_audit.findings if f.key == "orphaned_rows:public.order_items.product_id")
    assert len(every) == orphans.metrics["orphans"] == 12
    with pytest.raises(ValueError, match="not a reference this audit knows"):
        pv.orphans(demo_audit, "public.orders.nothing", dsn=demo_db.dsn)
