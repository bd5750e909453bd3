"""A report run you can trust: one audit per report, pages rendered from the saved run, input checked
before connecting, a good report never lost, every gap shown, a lost connection not a lost run."""
import hashlib
import json
import os
import re
import pwd
import shutil
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import psycopg
import pytest

from conftest import new_database
from pgvet import audit
from pgvet.connection import resolve_target
from pgvet.options import RunOptions
from pgvet.report import write_report
from pgvet.server import EmbeddedServer

ROOT = Path(__file__).resolve().parents[1]
PGVET = [sys.executable, "-m", "pgvet.cli"]
PAGES = ["overview", "bloat", "migrations", "references", "scans", "schema"]


def sections(folder) -> list[str]:
    """The sections of a report's one page (and no other page beside it)."""
    assert sorted(p.name for p in folder.glob("*.html")) == ["index.html"]
    return re.findall(r'<section id="([^"]+)" class="pgvet-section"', (folder / "index.html").read_text())
CLOSED_PORT_DSN = "host=127.0.0.1 port=1 dbname=nowhere connect_timeout=2"

# A small shop with the audit's defects: orphans under a NOT VALID key and under an undeclared reference.
SHOP = """CREATE TABLE users (id int PRIMARY KEY, name text);
          INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 50) g;
          CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric);
          INSERT INTO orders SELECT g, CASE WHEN g <= 3 THEN 900 + g ELSE g % 50 + 1 END, g FROM generate_series(1, 200) g;
          ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users NOT VALID;
          CREATE TABLE reviews (id int PRIMARY KEY, user_id int, body text);
          INSERT INTO reviews SELECT g, CASE WHEN g <= 2 THEN 700 + g ELSE g % 50 + 1 END, 'ok' FROM generate_series(1, 100) g;
          ANALYZE;"""


def pgvet(*args, cwd=None, env=None, user=None, timeout=600):
    return subprocess.run(PGVET + list(args), capture_output=True, text=True, cwd=cwd, timeout=timeout, user=user,
                          env={**os.environ, **(env or {})})


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_db(server, name: str, setup: str = SHOP) -> str:
    database = new_database(server, name)
    database.sql(setup)
    return database.dsn


@pytest.fixture(scope="module")
def shop(server):
    return make_db(server, "shop")


@pytest.fixture(scope="module")
def good_report(shop, tmp_path_factory):
    """A complete report of the shop, from a folder outside the repository."""
    out = tmp_path_factory.mktemp("good")
    done = pgvet("report", "--dsn", shop, "--out", "reports", "--day", "2026-11-30", cwd=out)
    assert done.returncode == 0, done.stderr
    return out / "reports", out / "reports" / "2026-11-30" / "shop"


# -- one audit, pages rendered from it ------------------------------------------------------------
def _notebooks_listing():
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").rglob("*"))


def test_relative_out_from_another_folder_succeeds_every_time_and_writes_nothing_in_notebooks(shop, tmp_path):
    before = _notebooks_listing()
    for attempt in range(5):
        done = pgvet("report", "--dsn", shop, "--out", "reports", cwd=tmp_path)
        assert done.returncode == 0, f"attempt {attempt}: {done.stderr}"
        folder = Path(done.stdout.strip()).parent
        assert folder == tmp_path / "reports" / date.today().isoformat() / "shop"
        assert sections(folder) == PAGES
        assert not [p for p in folder.parent.iterdir() if p.is_dir() and p.name.startswith(".")], "no staging left"
    assert _notebooks_listing() == before


def test_three_targets_with_a_relative_out_each_get_every_page(server, tmp_path):
    env = {f"T{i}_DSN": make_db(server, f"fleet{i}") for i in range(3)}
    (tmp_path / "targets.yml").write_text("jobs: 3\ntargets:\n" + "".join(
        f"  - {{name: t{i}, dsn_env: T{i}_DSN}}\n" for i in range(3)))
    before = _notebooks_listing()
    done = pgvet("report", "--targets", "targets.yml", "--out", "reports", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    day = tmp_path / "reports" / date.today().isoformat()
    for i in range(3):
        assert sections((day / f"t{i}")) == PAGES
        assert json.loads((day / f"t{i}" / "findings.json").read_text())["target"] == f"t{i}"
    assert _notebooks_listing() == before


def test_an_area_notebook_renders_a_saved_run_with_the_database_stopped(tmp_path):
    server = EmbeddedServer(tmp_path / "srv")
    info = server.start()
    try:
        dsn = make_db(info, "gone")
        run = audit.run(resolve_target(dsn=dsn, name="gone"), only="references")
        run.save(tmp_path / "run")
    finally:
        server.stop()
    out = tmp_path / "references.ipynb"
    done = subprocess.run([sys.executable, "-m", "papermill", str(ROOT / "notebooks" / "references.ipynb"), str(out),
                           "-p", "run", str(tmp_path / "run")], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    server.remove()
    assert done.returncode == 0, done.stderr[-2000:]
    text = json.dumps([c.get("outputs") for c in json.loads(out.read_text())["cells"]])
    assert "public.reviews.user_id" in text and "700" not in text or "public.orders.user_id" in text
    assert "First 3 orphaned rows of <code>public.orders.user_id</code>" in text


# -- input checked before any connection -----------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["--param", "jobs=abc"], "parameter orphaned_rows.jobs expects a whole number, got 'abc'"),
    (["--param", "nosuchkey=5"], "--param: 'nosuchkey' is not a parameter of any check"),
    (["--param", "orphaned_rows.jbos=2"], "--param: 'jbos' is not a parameter of orphaned_rows (did you mean jobs?)"),
    (["--param", "bogus_check.x=1"], "--param: unknown check 'bogus_check' in 'bogus_check.x'"),
    (["--timeout-ms", "-5"], "statement-timeout-ms must be a positive whole number, got -5"),
    (["--lock-timeout-ms", "0"], "lock-timeout-ms must be a positive whole number, got 0"),
    (["--only", "refrences"], "unknown check or area: refrences (did you mean references?)"),
    (["--day", "2026-02-30"], "--day expects YYYY-MM-DD, got '2026-02-30'"),
    (["--param", "hints_file=missing.yml"], "cannot read hints file missing.yml"),
])
def test_bad_input_is_one_line_and_exit_2_before_connecting(args, message, tmp_path):
    done = pgvet("report", "--dsn", CLOSED_PORT_DSN, "--out", str(tmp_path), *args, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("config, message", [
    ("params:\n  seq_scan_hotspots.min_seq_scan: 5\n", "is not a parameter of seq_scan_hotspots (did you mean "
                                                       "min_seq_scans?)"),
    ("suppress:\n  - {key: 'x:*', reason: r, until: 2027-13-45}\n", "not a valid date"),
    ("targets:\n  shop:\n    param: {}\n", "unknown key 'param' in targets.shop (did you mean params?)"),
    ("options:\n  statement_timeout_ms: -1\n", "statement-timeout-ms must be a positive whole number"),
])
def test_a_bad_pgvet_yml_is_one_line_and_exit_2_before_connecting(config, message, tmp_path):
    (tmp_path / "pgvet.yml").write_text(config)
    done = pgvet("report", "--dsn", CLOSED_PORT_DSN, "--target", "shop", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


def test_a_bad_targets_file_is_exit_2_before_connecting(tmp_path):
    (tmp_path / "t.yml").write_text("jobs: 0\ntargets:\n  - {name: a, dsn_env: A}\n")
    done = pgvet("report", "--targets", "t.yml", cwd=tmp_path, env={"A": CLOSED_PORT_DSN})
    assert done.returncode == 2 and "jobs must be a positive whole number" in done.stderr


# -- a good report is never lost -------------------------------------------------------------------
def test_a_bad_hints_file_and_a_server_gone_mid_run_leave_the_good_report_byte_identical(good_report, shop, tmp_path):
    reports, folder = good_report
    before = {p.name: digest(p) for p in folder.iterdir() if p.is_file()}
    (tmp_path / "hints.yml").write_text("references: [not, a, mapping]\n")
    done = pgvet("report", "--dsn", shop, "--out", str(reports), "--day", "2026-11-30",
                 "--param", f"hints_file={tmp_path / 'hints.yml'}")
    assert done.returncode == 2 and "hints file" in done.stderr
    # the server goes away after the probe, while the audit starts: exit 3, one line, the report intact
    server = EmbeddedServer(tmp_path / "srv")
    info = server.start()
    target = resolve_target(dsn=make_db(info, "shop"), name="shop")
    with pytest.raises(Exception) as failure:
        write_report(target, reports, day=date(2026, 11, 30), say=lambda message: server.stop())
    server.remove()
    assert getattr(failure.value, "exit_code", None) == 3 and "cannot" in str(failure.value)
    assert {p.name: digest(p) for p in folder.iterdir() if p.is_file()} == before
    (failed,) = folder.glob("failed-*/index.html")
    assert "cannot" in failed.read_text()
    assert "failed run" in (reports / "index.html").read_text()


def test_only_references_is_written_beside_the_full_report_and_leaves_it_and_its_history(good_report, shop):
    reports, folder = good_report
    before = {p.name: digest(p) for p in folder.iterdir() if p.is_file()}
    done = pgvet("report", "--dsn", shop, "--out", str(reports), "--day", "2026-11-30", "--only", "references")
    assert done.returncode == 0, done.stderr
    partial = folder.with_name("shop--references")
    assert Path(done.stdout.strip()) == partial / "index.html"
    assert sections(partial) == ["overview", "references"]
    assert {p.name: digest(p) for p in folder.iterdir() if p.is_file()} == before
    page = (partial / "index.html").read_text()
    assert 'href="#scans"' not in page and "First report of this target with only references" in page


# -- honest statuses -------------------------------------------------------------------------------
BIG = """CREATE TABLE users (id int PRIMARY KEY);
         INSERT INTO users SELECT generate_series(1, 1000);
         CREATE TABLE events (id int, user_id int, actor_id int);
         INSERT INTO events SELECT g, CASE WHEN g <= 5 THEN 5000 + g ELSE g % 1000 + 1 END, g % 1000 + 1
                            FROM generate_series(1, 3000000) g;
         ALTER TABLE events ADD FOREIGN KEY (user_id) REFERENCES users NOT VALID;
         ALTER TABLE events ADD FOREIGN KEY (actor_id) REFERENCES users NOT VALID;
         ANALYZE;"""


def test_orphans_that_timed_out_are_not_ok_named_in_the_verdict_and_never_new_or_resolved(server, tmp_path):
    target = resolve_target(dsn=make_db(server, "big", BIG), name="big")
    first = write_report(target, tmp_path, day=date(2026, 1, 1), options=RunOptions(statement_timeout_ms=100))
    orphans = next(c for c in first.audit.checks if c.id == "orphaned_rows")
    assert orphans.status == "partial" and orphans.findings == []
    assert sorted(orphans.unchecked) == [
        f"orphans of public.events.{c} -> public.users (statement timeout: not finished within 100 ms)"
        for c in ("actor_id", "user_id")]
    page = first.index_html.read_text()
    assert "orphans of public.events.actor_id -&gt; public.users" in page and "did not check everything" in page
    assert "No critical problems found\n" not in page
    second = write_report(target, tmp_path, day=date(2026, 1, 2))
    found = {f.key: f.metrics["orphans"] for f in second.audit.findings if f.check == "orphaned_rows"}
    assert found == {"orphaned_rows:public.events.user_id": 5}
    page = second.index_html.read_text()
    assert "Not compared, because the check did not check everything in one of the two reports" in page
    new = page.split("<b>New</b>")[1].split("<b>Resolved</b>")[0]
    assert "orphaned_rows" not in new and "public.events.user_id ·" not in new


MONITOR = SHOP + """CREATE ROLE mon LOGIN; GRANT pg_monitor TO mon;
                    CREATE ROLE half LOGIN; GRANT pg_monitor TO half; GRANT SELECT ON users, orders TO half;"""


@pytest.fixture(scope="module")
def monitored(server):
    dsn = make_db(server, "monitored", MONITOR.replace("CREATE ROLE", "DROP ROLE IF EXISTS mon; DROP ROLE IF EXISTS "
                                                      "half; CREATE ROLE", 1))
    yield dsn
    make_db(server, "monitored", "SELECT 1")
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("DROP DATABASE monitored WITH (FORCE)")
        conn.execute("DROP ROLE mon")
        conn.execute("DROP ROLE half")


def test_a_monitoring_role_gets_every_page_and_data_checks_that_name_what_they_could_not_read(server, monitored,
                                                                                            tmp_path):
    done = pgvet("report", "--dsn", server.dsn(dbname="monitored", user="mon"), "--out", str(tmp_path),
                 "--target", "mon")
    assert done.returncode in (0, 1), done.stderr
    folder = Path(done.stdout.strip()).parent
    assert sections(folder) == PAGES
    checks = {c["id"]: c for c in json.loads((folder / "findings.json").read_text())["checks"]}
    assert checks["orphaned_rows"]["status"] == "skipped"
    assert checks["orphaned_rows"]["reason"] == "needs SELECT on public.orders, public.reviews, public.users"
    assert checks["table_bloat"]["status"] == "skipped" and checks["fk_type_mismatch"]["status"] == "ok"
    assert "orphaned_rows: skipped: needs SELECT on public.orders" in done.stderr


def test_a_role_that_reads_some_tables_still_counts_the_references_among_them(server, monitored):
    target = resolve_target(dsn=server.dsn(dbname="monitored", user="half"), name="half")
    run = audit.run(target, only="references")
    orphans = next(c for c in run.checks if c.id == "orphaned_rows")
    assert (orphans.status, orphans.unchecked) == ("partial", ["public.reviews (needs SELECT)"])
    assert {f.key: f.metrics["orphans"] for f in orphans.findings} == {"orphaned_rows:public.orders.user_id": 3}


def test_a_table_locked_by_another_session_times_out_its_checks_and_every_page_is_written(shop, tmp_path):
    holder = psycopg.connect(shop)
    holder.execute("LOCK TABLE reviews IN ACCESS EXCLUSIVE MODE")
    try:
        done = pgvet("report", "--dsn", shop, "--out", str(tmp_path), "--lock-timeout-ms", "200")
    finally:
        holder.rollback()
        holder.close()
    assert done.returncode in (0, 1), done.stderr
    folder = Path(done.stdout.strip()).parent
    assert sections(folder) == PAGES
    checks = json.loads((folder / "findings.json").read_text())["checks"]
    locked = {c["id"]: c["status"] for c in checks if "lock timeout" in (c["reason"] or "")}
    assert locked and set(locked.values()) <= {"timeout", "partial"}
    assert "lock timeout" in (folder / "index.html").read_text()


# -- a lost connection is not a lost run -----------------------------------------------------------
def test_a_terminated_session_is_reconnected_once_and_the_run_says_it_was_incomplete(shop, tmp_path):
    holder = psycopg.connect(shop)
    holder.execute("LOCK TABLE reviews IN ACCESS EXCLUSIVE MODE")

    def terminate_pgvet_when_it_waits():
        with psycopg.connect(shop, autocommit=True) as killer:
            for _ in range(200):
                if killer.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
                                  "'pgvet' AND wait_event_type = 'Lock'").fetchall():
                    break
                time.sleep(0.05)
        holder.rollback()   # the lock goes: the rest of the run proceeds on the new connection

    killer = threading.Thread(target=terminate_pgvet_when_it_waits)
    killer.start()
    try:
        run = audit.run(resolve_target(dsn=shop, name="shop"), only="scans,bloat",
                        options=RunOptions(lock_timeout_ms=20_000))
    finally:
        killer.join()
        holder.rollback()
        holder.close()
    assert run.incomplete
    steps = {c.id: (c.status, c.reason) for c in run.checks} | {n: (p.status, p.reason) for n, p in run.pages.items()}
    lost = [k for k, (status, reason) in steps.items() if status == "error" and reason.startswith("connection lost")]
    assert len(lost) == 1, steps
    assert {status for k, (status, _) in steps.items() if k not in lost} == {"ok", "skipped"}   # no pg_stat_statements


# -- pgvet as an unprivileged user ------------------------------------------------------------------
def _runs_as_nobody(command: list[str], env: dict) -> bool:
    try:
        return subprocess.run(command + ["-c", "import pgvet.cli"], user="nobody", capture_output=True,
                              env=env, timeout=60).returncode == 0
    except OSError:   # not even executable by nobody
        return False


def _as_nobody(folder: Path) -> tuple[list[str], dict]:
    """How `nobody` runs this checkout's pgvet. The venv's interpreter may live under root's home (pyenv):
    then a copy of that same interpreter, with the venv's packages and this checkout's lib on its path."""
    import sysconfig

    env = {"PATH": os.environ["PATH"], "PYTHONPATH": f"{sysconfig.get_paths()['purelib']}:{ROOT / 'lib'}",
           "JUPYTER_PATH": f"{sys.prefix}/share/jupyter"}   # the venv's kernel spec, run by this python
    if _runs_as_nobody([sys.executable], env):
        return [sys.executable, "-m", "pgvet.cli"], env
    base, version = Path(sys.base_prefix), f"python{sys.version_info.major}.{sys.version_info.minor}"
    copy = folder / "python"
    (copy / "bin").mkdir(parents=True)
    shutil.copy2(Path(sys.executable).resolve(), copy / "bin" / version)
    shutil.copytree(base / "lib" / version, copy / "lib" / version, symlinks=True,
                    ignore=shutil.ignore_patterns("site-packages", "test", "idlelib", "tkinter", "turtledemo"))
    for lib in (base / "lib").glob("libpython*.so*"):
        shutil.copy2(lib, copy / "lib" / lib.name)
    env["LD_LIBRARY_PATH"] = str(copy / "lib")
    command = [str(copy / "bin" / version)]
    if not _runs_as_nobody(command, env):
        pytest.skip("nobody cannot run this checkout's pgvet (is the checkout readable by other users?)")
    return command + ["-m", "pgvet.cli"], env


@pytest.mark.skipif(os.geteuid() != 0, reason="runs as root to switch to an unprivileged user (CI runs as root)")
def test_the_pipeline_runs_as_an_unprivileged_user(server, shop):
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="pgvet-nobody-"))   # pytest's own tmp folders are root's alone
    scratch.chmod(0o755)
    home = scratch / "home"
    home.mkdir()
    shutil.chown(home, "nobody")
    try:
        command, env = _as_nobody(scratch)
        dsn = shop.replace(f"host={server.socket_dir}", "host=127.0.0.1")
        done = subprocess.run(command + ["report", "--dsn", dsn, "--out", "reports"], cwd=home, user="nobody",
                              capture_output=True, text=True, timeout=600, env={**env, "HOME": str(home)})
        assert done.returncode == 0, done.stderr
        folder = Path(done.stdout.strip()).parent
        assert folder.is_relative_to(home) and sections(folder) == PAGES
        assert folder.stat().st_uid == pwd.getpwnam("nobody").pw_uid
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def test_each_targets_password_reaches_only_its_own_connections(server, tmp_path):
    """Two targets with different passwords audited at the same time: no process-wide PGPASSWORD to mix up."""
    env = {}
    for i, password in enumerate(("Pw-One-5521", "Pw-Two-7734")):
        make_db(server, f"secret{i}", f"DROP ROLE IF EXISTS owner{i}; CREATE ROLE owner{i} LOGIN PASSWORD "
                                      f"'{password}'; GRANT pg_read_all_data, pg_read_all_stats TO owner{i};" + SHOP)
        env[f"S{i}_DSN"] = f"host=127.0.0.1 port={server.port} dbname=secret{i} user=owner{i} password={password}"
    (tmp_path / "targets.yml").write_text("jobs: 2\ntargets:\n  - {name: one, dsn_env: S0_DSN}\n"
                                          "  - {name: two, dsn_env: S1_DSN}\n")
    done = pgvet("report", "--targets", "targets.yml", "--out", "r", "--only", "untrusted_foreign_keys",
                 cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    for name in ("one", "two"):
        (found,) = tmp_path.glob(f"r/*/{name}--untrusted_foreign_keys/findings.json")
        assert [f["key"] for f in json.loads(found.read_text())["findings"]] == [
            "untrusted_foreign_keys:public.orders.user_id"]
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".ipynb", ".json", ".sql", ".txt"):
            text = path.read_text(errors="replace")
            assert "Pw-One" not in text and "Pw-Two" not in text, path


def test_a_fleet_with_a_password_per_target_in_its_own_passfile_never_mixes_them_up(server, tmp_path, monkeypatch):
    """Each service names its own passfile: five parallel rounds, each target authenticates with its own
    password, and no password is ever in the environment of the process that runs the fleet."""
    from concurrent.futures import ThreadPoolExecutor

    from pgvet import audit
    from pgvet.fleet import load_targets

    services = []
    for i, password in enumerate(("Pw-Alpha-1193", "Pw-Beta-8830")):
        make_db(server, f"passfile{i}", f"DROP ROLE IF EXISTS keeper{i}; CREATE ROLE keeper{i} LOGIN PASSWORD "
                                        f"'{password}'; GRANT pg_read_all_data, pg_read_all_stats TO keeper{i};" + SHOP)
        passfile = tmp_path / f"pgpass{i}"
        passfile.write_text(f"127.0.0.1:{server.port}:passfile{i}:keeper{i}:{password}\n")
        passfile.chmod(0o600)
        services.append(f"[svc{i}]\nhost=127.0.0.1\nport={server.port}\ndbname=passfile{i}\nuser=keeper{i}\n"
                        f"passfile={passfile}\n")
    (tmp_path / "services.conf").write_text("\n".join(services))
    monkeypatch.setenv("PGSERVICEFILE", str(tmp_path / "services.conf"))
    (tmp_path / "targets.yml").write_text("jobs: 2\ntargets:\n  - {name: one, service: svc0}\n"
                                          "  - {name: two, service: svc1}\n")
    targets, jobs = load_targets(tmp_path / "targets.yml")
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for _ in range(5):
            runs = list(pool.map(lambda t: audit.run(t, only="untrusted_foreign_keys"), targets))
            assert [[f.key for f in r.findings] for r in runs] == [["untrusted_foreign_keys:public.orders.user_id"]] * 2
            assert [c.status for r in runs for c in r.checks] == ["ok", "ok"]
    environment = Path("/proc/self/environ").read_bytes().decode(errors="replace") + repr(dict(os.environ))
    assert "Pw-Alpha" not in environment and "Pw-Beta" not in environment
