"""The report of a 1,000-table schema, used in a real browser: its findings tables sort, filter and page,
a finding's anchor scrolls to it, and the page asks nothing of the network."""
import sys
from pathlib import Path

import pytest

from browser import CHROMIUM, Browser
from conftest import new_database
from pgvet.connection import resolve_target
from pgvet.report import write_report

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from catalog import build  # noqa: E402  (bench/catalog.py: the wide schema the benchmarks use)

TABLES = 1000
pytestmark = pytest.mark.skipif(not CHROMIUM, reason="no Chromium on this machine (make test-extras installs it as root)")


@pytest.fixture(scope="module")
def wide_report(server, tmp_path_factory):
    db = new_database(server, "wide_schema")
    assert build(db.dsn, TABLES)["tables"] == TABLES
    report = write_report(resolve_target(dsn=db.dsn, name="wide"), out_root=tmp_path_factory.mktemp("reports"))
    assert report.failed is None
    return report


@pytest.fixture(scope="module")
def page(wide_report, tmp_path_factory):
    browser = Browser(tmp_path_factory.mktemp("chromium"))
    browser.open(wide_report.index_html.as_uri())
    yield browser
    browser.close()


UNINDEXED = "document.querySelector('#check-unindexed_foreign_keys ~ .pgvet-table')"


def visible_ids(page, table=UNINDEXED):
    return page.js(f"Array.from({table}.querySelectorAll('tbody tr')).filter(r => !r.hidden).map(r => r.id)")


def test_the_page_is_one_offline_file(wide_report, page):
    assert page.network() == []
    assert sorted(p.name for p in wide_report.directory.glob("*.html")) == ["index.html"]


def test_every_unindexed_foreign_key_is_a_row_and_one_page_is_shown(wide_report, page):
    keys = {f.key for f in wide_report.audit.findings if f.check == "unindexed_foreign_keys"}
    assert len(keys) == TABLES // 2           # b_id of every second table has a foreign key and no index
    assert set(page.js(f"Array.from({UNINDEXED}.querySelectorAll('tbody tr')).map(r => r.id)")) == keys
    assert len(visible_ids(page)) == 25
    assert page.js(f"{UNINDEXED}.querySelector('.pgvet-count').textContent") == "500 rows"


def table_numbers(ids):
    return [int(k.split(".t")[1].split(".")[0]) for k in ids]


def test_a_column_sorts_both_ways_names_in_natural_order(page):
    header = f"Array.from({UNINDEXED}.querySelectorAll('thead th')).find(th => th.textContent === 'object')"
    page.js(f"{header}.click()")
    assert table_numbers(visible_ids(page)) == list(range(0, 50, 2))          # t0, t2, … t48: not t0, t10, t100
    page.js(f"{header}.click()")
    assert table_numbers(visible_ids(page)) == list(range(998, 948, -2))


def test_a_numeric_column_sorts_largest_first(page):
    summary = "document.querySelector('#overview .pgvet-table')"
    page.js(f"Array.from({summary}.querySelectorAll('thead th')).find(th => th.textContent === 'findings').click()")
    counts = page.js(f"Array.from({summary}.querySelectorAll('tbody tr')).filter(r => !r.hidden)"
                     ".map(r => +r.cells[3].getAttribute('data-value'))")
    assert counts[0] == 500 and counts == sorted(counts, reverse=True)


def test_a_typed_word_filters_the_rows(page):
    page.js(f"(s => {{ s.value = 't417.b_id'; s.dispatchEvent(new Event('input')); }})"
            f"({UNINDEXED}.querySelector('.pgvet-search'))")
    assert visible_ids(page) == []     # t417 is odd: its b_id has no foreign key
    page.js(f"(s => {{ s.value = 't418.b_id'; s.dispatchEvent(new Event('input')); }})"
            f"({UNINDEXED}.querySelector('.pgvet-search'))")
    assert visible_ids(page) == ["unindexed_foreign_keys:public.t418.b_id"]
    assert page.js(f"{UNINDEXED}.querySelector('.pgvet-count').textContent") == "1 of 500 rows"
    page.js(f"(s => {{ s.value = ''; s.dispatchEvent(new Event('input')); }})({UNINDEXED}.querySelector('.pgvet-search'))")
    assert len(visible_ids(page)) == 25


def test_an_anchor_shows_its_page_of_the_table_and_scrolls_to_the_row(wide_report, page):
    key = "unindexed_foreign_keys:public.t746.b_id"
    page.open("about:blank")
    page.open(wide_report.index_html.as_uri() + "#" + key)
    assert key in visible_ids(page) and len(visible_ids(page)) == 25
    top = page.js(f"document.getElementById('{key}').getBoundingClientRect().top")
    assert 0 < top < page.js("window.innerHeight") and page.js("window.scrollY") > 1000


def test_a_findings_fix_block_opens_under_its_row_with_the_checks_doc_and_code(page):
    key = "unindexed_foreign_keys:public.t418.b_id"
    page.js(f"document.getElementById('{key}').querySelector('details').open = true")
    page.js("new Promise(done => setTimeout(done, 100))")   # the toggle event is its own task
    text = page.js(f"(r => r.classList.contains('pgvet-expand') ? r.textContent : '')"
                   f"(document.getElementById('{key}').nextElementSibling)")
    assert "CREATE INDEX CONCURRENTLY" in text and "t418" in text
    assert "Why it matters" in text and "False positives" in text and "What pgvet ran (Python" in text
    page.js(f"document.getElementById('{key}').querySelector('details').open = false")
    page.js("new Promise(done => setTimeout(done, 100))")
    assert page.js(f"document.getElementById('{key}').nextElementSibling.classList.contains('pgvet-expand')") is False


def test_the_network_detector_sees_a_page_that_loads_from_the_network(page, tmp_path):
    control = tmp_path / "control.html"
    control.write_text('<script src="https://cdn.example.invalid/x.js"></script>')
    page.open(control.as_uri())
    assert page.network() == ["https://cdn.example.invalid/x.js"]
