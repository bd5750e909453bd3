"""Faults end as one line with the right exit code, and leave nothing half-written behind: an --out
that cannot be written, a full disk, SIGTERM while the pages render, two runs of one report at once."""
import os
import signal
import subprocess
import sys
import time
from datetime import date

import pytest

PGVET = [sys.executable, "-m", "pgvet.cli"]
NOWHERE = "host=127.0.0.1 port=1 dbname=x user=x"   # never reached: these fail before connecting


def pgvet(*args, **kw):
    return subprocess.run(PGVET + list(args), capture_output=True, text=True, timeout=300, **kw)


def one_line(result, code, text):
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pgvet: error: ") and text in lines[0], result.stderr


def test_an_out_that_is_a_file_is_exit_3_before_connecting(tmp_path):
    out = tmp_path / "reports"
    out.write_text("not a folder")
    one_line(pgvet("report", "--dsn", NOWHERE, "--out", str(out)), 3, "it is a file, not a folder")


def test_an_out_nobody_can_write_is_exit_3_before_connecting():
    # /sys refuses new folders even to root (CI runs as root, so a chmod would not do)
    one_line(pgvet("report", "--dsn", NOWHERE, "--out", "/sys/pgvet-reports"), 3,
             "cannot write reports into /sys/pgvet-reports")


def hidden(day_folder):
    """What a run left in the day's folder besides reports: staging folders and lock files."""
    return sorted(p.name for p in day_folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def full_disk(tmp_path):
    disk = tmp_path / "full"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root with CAP_SYS_ADMIN)")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def test_a_full_disk_is_exit_3_and_leaves_no_staging_folder(demo_db, full_disk):
    result = pgvet("report", "--dsn", demo_db.dsn, "--out", str(full_disk), "--only", "fk_type_mismatch")
    one_line(result, 3, "No space left on device")
    assert "Traceback" not in result.stderr
    day = full_disk / date.today().isoformat()
    assert [p for p in hidden(day) if not p.endswith(".lock")] == []


def test_sigterm_while_the_pages_render_stops_them_and_removes_the_staging_folder(demo_db, tmp_path):
    run = subprocess.Popen(PGVET + ["report", "--dsn", demo_db.dsn, "--out", str(tmp_path), "--only",
                                    "fk_type_mismatch"], stderr=subprocess.PIPE, text=True)
    day = tmp_path / date.today().isoformat()
    deadline = time.time() + 120
    while not list(day.glob(".*/.pages-*.json")) and time.time() < deadline and run.poll() is None:
        time.sleep(0.05)
    assert run.poll() is None, "the run ended before its pages were rendered"
    run.send_signal(signal.SIGTERM)
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 143 and stderr.strip().endswith("pgvet: terminated"), stderr
    assert [p for p in hidden(day) if not p.endswith(".lock")] == [] and not [p for p in day.iterdir() if p.is_dir()]
    children = subprocess.run(["pgrep", "-f", f"pgvet.pages {day}"], capture_output=True, text=True).stdout
    assert children == ""


def test_two_runs_of_one_target_and_day_at_once_give_one_report_and_no_leftovers(demo_db, tmp_path):
    runs = [subprocess.Popen(PGVET + ["report", "--dsn", demo_db.dsn, "--target", "same", "--out", str(tmp_path),
                                      "--only", "fk_type_mismatch"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outcomes = [(r.wait(timeout=300), r.stderr.read()) for r in runs]
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    day = tmp_path / date.today().isoformat()
    assert [p.name for p in day.iterdir() if not p.name.startswith(".")] == ["same--fk_type_mismatch"]
    assert hidden(day) == [".same--fk_type_mismatch.lock"]
    assert (day / "same--fk_type_mismatch" / "index.html").exists()
    assert os.path.getsize(day / ".same--fk_type_mismatch.lock") == 0    # released: no holder written in it
