"""The pipeline end to end: CLI -> Papermill -> findings.json + offline HTML, with no secret anywhere."""
import base64
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pandas as pd
import psycopg
import pytest

from pgvet.connection import resolve_target
from pgvet import demo, formats
from pgvet.demo import planted
from pgvet.report import NOTEBOOKS, write_report

PGVET = [sys.executable, "-m", "pgvet.cli"]
PASSWORD = "Sup3r-Secret-Pw-7781"


def pgvet(*args, env=None):
    return subprocess.run(PGVET + list(args), capture_output=True, text=True, env={**os.environ, **(env or {})},
                          timeout=300)


def demo_params():
    return [a for k, v in demo.report_params().items() for a in ("--param", f"{k}={v}")]


@pytest.fixture(scope="module")
def auditor(demo_db, tmp_path_factory):
    """A read-only login with a password that only libpq's pgpass file knows."""
    demo_db.sql(f"CREATE ROLE pgvet_auditor LOGIN PASSWORD '{PASSWORD}';"
                "GRANT pg_read_all_stats, pg_read_all_data TO pgvet_auditor")
    pgpass = tmp_path_factory.mktemp("secrets") / "pgpass"
    pgpass.write_text(f"127.0.0.1:{demo_db.server.port}:*:pgvet_auditor:{PASSWORD}\n")
    pgpass.chmod(0o600)
    yield f"host=127.0.0.1 port={demo_db.server.port} dbname={demo_db.name} user=pgvet_auditor", pgpass
    demo_db.sql("DROP OWNED BY pgvet_auditor; DROP ROLE pgvet_auditor")


@pytest.fixture(scope="module")
def report(auditor, tmp_path_factory):
    dsn, pgpass = auditor
    out = tmp_path_factory.mktemp("reports")
    result = pgvet("report", "--dsn", dsn, "--target", "demo", "--out", str(out), *demo_params(), "--format", "csv",
                   env={"PGPASSFILE": str(pgpass)})
    return result, out


def test_report_writes_one_page_in_a_dated_folder_and_prints_its_findings_as_csv(report):
    result, out = report
    assert result.returncode == 0, result.stderr
    (day,) = [p.name for p in out.iterdir() if p.is_dir()]
    assert (out / "index.html").read_text().count(f"{day}/demo/index.html") == 1   # reports/index.html
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", day)
    index = out / day / "demo" / "index.html"
    assert f"report: {index.resolve()}" in result.stderr
    assert sorted(p.name for p in index.parent.iterdir()) == [
        "bloat.ipynb", "findings.json", "fixes.sql", "history.json", "index.html", "migrations.ipynb",
        "overview.ipynb", "pages.json", "references.ipynb", "scans.ipynb", "schema.ipynb"]
    frame = pd.read_csv(io.StringIO(result.stdout))
    findings = json.loads((index.parent / "findings.json").read_text())["findings"]
    assert len(frame) == len(findings) and sorted(frame["key"]) == sorted(f["key"] for f in findings)
    assert frame["tier"].iloc[0] == "live" and frame["finding"].notna().all()
    # the notebooks as they ran, outputs cleared (they are the page); run in this folder, they render it again
    nb = nbformat.read(str(index.parent / "references.ipynb"), as_version=4)
    assert not [c for c in nb.cells if c.cell_type == "code" and c.outputs]
    assert any('run = "."' in c.source for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))


def test_findings_json_has_the_stable_shape_and_the_planted_findings(report, demo_audit):
    _, out = report
    data = json.loads(next(out.glob("*/demo/findings.json")).read_text())
    assert {"target", "generated_at", "server_version", "pgvet_version", "checks", "findings"} <= set(data)
    assert data["target"] == "demo" and data["server_version"].startswith("18")
    for check in data["checks"]:
        assert {"id", "title", "area", "severity", "status", "reason", "duration_ms", "params"} <= set(check)
        assert check["status"] == "ok"
    for finding in data["findings"]:
        assert set(finding) == {"key", "check", "severity", "schema", "table", "column", "object", "detail", "metrics",
                                    "fix"}
        assert all(not isinstance(v, (dict, list)) for v in finding["metrics"].values())
    # a read-only role with pg_read_all_stats sees what the superuser sees
    listings = set(planted()["listings"])  # top statements change with every run, the defects do not
    assert sorted(f["key"] for f in data["findings"] if f["check"] not in listings) == \
        sorted(f.key for f in demo_audit.findings if f.check not in listings)


def plotted_points(html: str) -> list[int]:
    """For every chart in the page, how many points (bars, markers, boxes) it draws."""
    decoder, counts = json.JSONDecoder(), []
    for match in re.finditer(r'Plotly\.newPlot\(\s*"[^"]+",\s*', html):
        traces, _ = decoder.raw_decode(html, match.end())
        points = 0
        for trace in traces:
            if trace.get("type") == "treemap":
                points += sum(1 for parent in trace["parents"] if parent)
            else:
                points += max(len(trace.get(axis) or []) for axis in ("x", "y", "values"))
        counts.append(points)
    return counts


def test_the_page_is_offline_with_plotly_once_and_no_chart_of_fewer_than_two_points(report):
    _, out = report
    html = next(out.glob("*/demo/index.html")).read_text()
    (packed,) = re.findall(r'<script type="application/gzip;base64" id="pgvet-plotly">([^<]+)</script>', html)
    assert re.search(r"plotly\.js v\d", gzip.decompress(base64.b64decode(packed)).decode()[:2000])
    assert not re.search(r"<script[^>]+src=", html), "the report must load nothing from the network"
    assert not re.search(r"<link[^>]+href=\"http", html)
    points = plotted_points(html)
    assert len(points) == html.count('class="plotly-graph-div"') and min(points) >= 2
    assert len(points) + html.count(': not drawn, ') == 16 and len(points) >= 8   # every chart cell: drawn or why not
    assert "Trend: not drawn, this is the first report of this target" in html
    assert "pgvet-verdict" in html and 'id="check-fk_type_mismatch"' in html
    assert "injected-parameters" not in html and "out_dir" not in html


def test_what_matters_most_opens_with_live_data_in_plain_sentences(report, demo_audit):
    _, out = report
    html = next(out.glob("*/demo/index.html")).read_text()
    top = re.search(r'<ol class="pgvet-top">(.*?)</ol>', html, re.S).group(1)
    items = [re.sub(r"<details>.*?</details>|<[^>]+>", "", li, flags=re.S) for li in re.findall(r"<li>(.*?)</li>", top, re.S)]
    assert len(items) == 10 and "broken now in live data" in items[0]
    jargon = {f.check for f in demo_audit.findings} | {f.metrics["rule"] for f in demo_audit.findings
                                                        if f.metrics.get("rule")}
    assert not [(item, word) for item in items for word in jargon if word in item]
    assert not [item for item in items if "(s)" in item or re.search(r"\b1 [a-z]+s\b", item)]


def test_the_reporting_role_cannot_write_whatever_its_session_says(auditor, report, demo_db):
    dsn, pgpass = auditor
    with psycopg.connect(f"{dsn} passfile={pgpass}", autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("BEGIN READ WRITE; DELETE FROM orders")
    assert report[0].returncode == 0      # and the full report ran as that role


def test_no_password_in_any_output_or_console_text(report):
    result, out = report
    assert PASSWORD not in result.stdout + result.stderr
    for path in out.rglob("*"):
        if path.is_file():
            assert PASSWORD not in path.read_text(errors="replace"), path


def test_a_password_given_in_the_dsn_reaches_libpq_but_no_output(auditor, tmp_path):
    dsn, _ = auditor
    result = pgvet("report", "--dsn", f"{dsn} password={PASSWORD}", "--target", "inline", "--out", str(tmp_path),
                   "--only", "fk_type_mismatch")
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert PASSWORD not in path.read_text(errors="replace"), path
    nb = nbformat.read(str(next(tmp_path.glob("*/inline--fk_type_mismatch/overview.ipynb"))), as_version=4)
    assert "password=" not in json.dumps(nb.metadata.get("papermill", {})).lower()


def test_a_failed_notebook_still_writes_html_showing_the_error(demo_db, tmp_path):
    nb = nbformat.read(str(NOTEBOOKS / "overview.ipynb"), as_version=4)
    nb.cells = nb.cells[:4] + [nbformat.v4.new_code_cell('pv.findings_of(audit, 1)')]
    broken = tmp_path / "broken.ipynb"
    nbformat.write(nb, str(broken))
    target = resolve_target(dsn=demo_db.dsn, name="broken")
    good = write_report(target, out_root=tmp_path / "out", only="fk_type_mismatch")
    before = good.findings_json.read_bytes()
    rep = write_report(target, out_root=tmp_path / "out", only="fk_type_mismatch", notebook=broken)
    assert rep.failed and "AttributeError" in rep.failed
    assert rep.directory.parent == good.directory and rep.directory.name.startswith("failed-")
    assert "AttributeError" in (rep.directory / "index.html").read_text()   # the page with the traceback
    assert rep.index_html == rep.directory / "index.html" and good.findings_json.read_bytes() == before


def test_rerunning_on_the_same_day_replaces_the_report(demo_db, tmp_path):
    target = resolve_target(dsn=demo_db.dsn, name="again")
    first = write_report(target, out_root=tmp_path, only="table_bloat,fk_type_mismatch")
    (first.directory / "stale.txt").write_text("from the first run")
    second = write_report(target, out_root=tmp_path, only="fk_type_mismatch,table_bloat")
    assert second.directory == first.directory and not (second.directory / "stale.txt").exists()
    assert second.directory.name == "again--fk_type_mismatch+table_bloat"
    other = write_report(target, out_root=tmp_path, only="table_bloat")
    assert other.directory.name == "again--table_bloat" and second.findings_json.exists()
    # no temp or old folders left: only the two reports and their locks
    assert sorted(p.name for p in tmp_path.glob("*/*")) == [".again--fk_type_mismatch+table_bloat.lock",
                                                            ".again--table_bloat.lock",
                                                            "again--fk_type_mismatch+table_bloat",
                                                            "again--table_bloat"]


# -- command line -------------------------------------------------------------------------------
def _one_line_error(result, code, text):
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pgvet: error: ") and text in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_bad_dsn_is_one_line_and_exit_2():
    _one_line_error(pgvet("report", "--dsn", "host=db port"), 2, "invalid DSN")


def test_unknown_check_is_one_line_and_exit_2():
    _one_line_error(pgvet("report", "--dsn", "dbname=x", "--only", "no_such_check"), 2, "unknown check or area")


def test_unreachable_host_is_one_line_and_exit_3(tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = pgvet("report", "--dsn", f"host=127.0.0.1 port={port} dbname=x user=x", "--out", str(tmp_path))
    _one_line_error(result, 3, "cannot reach the server")
    assert not list(tmp_path.rglob("findings.json"))                 # no report, only the failed run's page
    (failed,) = tmp_path.glob("*/x/failed-*/index.html")
    assert "cannot reach the server" in failed.read_text() and (failed.parent / "log.txt").exists()


@pytest.mark.parametrize("command", [[], ["report"], ["check"], ["checks"], ["server"], ["demo"]])
def test_every_command_explains_its_usage(command):
    result = pgvet(*command, "--help")
    assert result.returncode == 0 and "usage: pgvet" in result.stdout


def test_checks_lists_every_check_with_its_parameters_aligned():
    result = pgvet("checks")
    assert result.returncode == 0
    assert "seq_scan_hotspots" in result.stdout and "min_seq_scans=1000" in result.stdout
    rows = [line for line in result.stdout.splitlines() if re.match(r"[a-z_]+ ", line)]
    assert len({line.index(" " + line.split()[1] + " ") for line in rows}) == 1   # the area column lines up


def test_one_check_prints_its_findings_without_a_notebook_or_kernel(demo_db):
    code = ("import sys; from pgvet.cli import main; code = main(['check', 'unindexed_foreign_keys', '--dsn', "
            f"{demo_db.dsn!r}]); assert not {{'papermill', 'jupyter_client', 'nbconvert'}} & set(sys.modules); "
            "sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    verdict, header, *rows = result.stdout.strip().splitlines()
    assert header.split() == ["severity", "check", "object", "finding"]
    assert [r.split()[2] for r in rows] == ["public.order_items.order_id", "public.thread_subscriptions.thread_id"]
    table = pgvet("check", "unindexed_foreign_keys", "--dsn", demo_db.dsn, "--table", "order_items", "--format", "csv")
    assert list(pd.read_csv(io.StringIO(table.stdout))["object"]) == ["public.order_items.order_id"]


def test_markdown_has_the_verdict_and_what_matters_most(demo_audit):
    text = formats.markdown(demo_audit)
    first, _, *rest = text.splitlines()
    assert first.startswith("**pgvet — ") and "critical problems on" in first
    assert rest[:2] == ["**What matters most**", ""] and rest[2].startswith("1. **critical** — ")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _chromium(url: str, tmp_path, *extra) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--window-size=1200,900",
                           *extra, url], capture_output=True, text=True, timeout=120)


def _page_requests(netlog) -> list[str]:
    """http(s) requests the page itself started (Chromium's own background requests have no origin)."""
    log = json.loads(netlog.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [e["params"]["url"] for e in log["events"] if e["type"] == start
            and e["params"].get("url", "").startswith("http") and e["params"].get("initiator") != "not an origin"]


@pytest.mark.skipif(not CHROMIUM, reason="no Chromium on this machine (apt-get install chromium)")
def test_the_report_draws_its_charts_offline_in_a_real_browser(report, tmp_path):
    _, out = report
    index = next(out.glob("*/demo/index.html"))
    netlog = tmp_path / "net.json"
    dom = _chromium(index.as_uri(), tmp_path, f"--log-net-log={netlog}", "--dump-dom").stdout
    assert 'class="main-svg"' not in index.read_text() and dom.count('class="main-svg"') >= 6   # plotly drew 3 charts
    assert _page_requests(netlog) == []
    shot, blank = tmp_path / "report.png", tmp_path / "blank.png"
    _chromium(index.as_uri(), tmp_path, f"--screenshot={shot}")
    _chromium("about:blank", tmp_path, f"--screenshot={blank}")
    assert shot.read_bytes() != blank.read_bytes() and shot.stat().st_size > 5 * blank.stat().st_size
    # the detector itself sees a page that does load something from the network
    control = tmp_path / "control.html"
    control.write_text('<script src="https://cdn.example.invalid/x.js"></script>')
    _chromium(control.as_uri(), tmp_path, f"--log-net-log={netlog}", "--dump-dom")
    assert _page_requests(netlog) == ["https://cdn.example.invalid/x.js"]
