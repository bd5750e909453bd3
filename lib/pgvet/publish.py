"""Where a report lands, and how it replaces the day's report without ever losing a good one.

    <root>/<day>/<target>/                 the day's complete report (index.html, findings.json …)
    <root>/<day>/<target>--<selection>/    a partial run (--only): beside the full one, never over it
    <root>/<day>/<target>/failed-<time>/   a run that failed: its error page and log; the report stays

A report is built in a staging folder beside its final place and swapped in under a per-target lock,
so a crash leaves the old report or the new one, never a mix; earlier failed-* folders are kept.
"""
from __future__ import annotations

import fcntl
import html
import os
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

from .errors import WriteFailed
from .redact import redact

PARTIAL_SEPARATOR = "--"
FAILED_PREFIX = "failed-"
INCOMPLETE = "incomplete"       # <target>--incomplete: a run that lost its connection, beside a complete one


def safe_name(name: str) -> str:
    """A target name usable as a folder name."""
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", name).strip("._") or "target"


def folder_name(target: str, selection: str = "") -> str:
    """A report's folder name: the target's, or `<target>--<selection>` for a partial run, which is
    compared with earlier runs of the same selection only."""
    name = safe_name(target)
    return name + PARTIAL_SEPARATOR + safe_name(selection.replace(",", "+")) if selection else name


def report_folder(root: Path, day: date, target: str, selection: str = "") -> Path:
    """The final folder of a report: the target's, or beside it for a partial run."""
    return Path(root) / day.isoformat() / folder_name(target, selection)


def check_writable(root: Path) -> None:
    """Fail before connecting when no report can be written under `root`: one line, exit 3."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise WriteFailed(f"cannot write reports into {root}: it is a file, not a folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".pgvet-probe-"):
            pass
    except OSError as exc:
        raise WriteFailed(f"cannot write reports into {root}: {exc.strerror or exc}") from None


def write_failed(where: Path, exc: OSError) -> WriteFailed:
    return WriteFailed(f"the report could not be written into {where}: {exc.strerror or exc}")


def staging(final: Path) -> Path:
    """A private folder on the same file system as `final`, for building the report."""
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    work.chmod(0o755)
    return work


@contextmanager
def locked(final: Path):
    """One publisher per report folder at a time (runs of the same target from cron and by hand)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    lock = final.parent / f".{final.name}.lock"
    with open(lock, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another run"
            print(f"pgvet: waiting for the report of {final.name} being written by pid {holder}", file=sys.stderr)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")   # who holds it, for the run that waits
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


def publish(work: Path, final: Path) -> Path:
    """Swap `work` into place of `final`, keeping the failed-* folders of earlier runs that day."""
    with locked(final):
        if final.exists():
            for failed in final.glob(f"{FAILED_PREFIX}*"):
                failed.rename(work / failed.name)
        old = final.with_name(f".{final.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            final.rename(old)
        work.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    return final


def publish_failure(final: Path, message: str, log: str = "", work: Path | None = None) -> Path:
    """Keep a failed run in `<final>/failed-<time>/` (its pages, if any, an error page and the log),
    leaving the report in `final` as it was. Returns the error page."""
    with locked(final):
        final.mkdir(parents=True, exist_ok=True)
        folder = final / f"{FAILED_PREFIX}{datetime.now().strftime('%H%M%S-%f')}"
        if work is not None and work.exists():
            work.rename(folder)
        else:
            folder.mkdir()
        folder.chmod(0o755)
    page = folder / "index.html"
    (folder / "log.txt").write_text(redact(log or message) + "\n")
    page.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>pgvet — run failed</title></head><body>"
        f"<h1>pgvet: the run of {html.escape(final.name)} on {html.escape(final.parent.name)} failed</h1>"
        f"<p style='color:#c62828'>{html.escape(redact(message))}</p>"
        + ("<p>The day's earlier report, if any, is <a href='../index.html'>unchanged</a>.</p>"
           "<p>Pages the run did write: " + ", ".join(
               f"<a href='{html.escape(p.name)}'>{html.escape(p.name)}</a>" for p in sorted(folder.glob("*.html"))
               if p.name != "index.html") + "</p>" if work is not None else "")
        + "<p><a href='log.txt'>log</a></p></body></html>\n")
    return page


def write_index(root: str | Path) -> Path:
    """<root>/index.html: every target with its dated reports, partial runs and failed runs, newest first."""
    root = Path(root)
    rows: dict[str, dict[str, list[str]]] = {}
    for folder in sorted(p for p in root.glob("*/*") if p.is_dir() and not p.name.startswith(".")):
        day, name = folder.parent.name, folder.name
        target, _, selection = name.partition(PARTIAL_SEPARATOR)
        links = rows.setdefault(target, {}).setdefault(day, [])
        if (folder / "index.html").exists():
            label = "report" if not selection else "incomplete run" if selection == INCOMPLETE else f"only {selection}"
            links.append(f'<a href="{html.escape(day)}/{html.escape(name)}/index.html">{html.escape(label)}</a>')
        for failed in sorted(folder.glob(f"{FAILED_PREFIX}*/index.html")):
            links.append(f'<a class="failed" href="{html.escape(day)}/{html.escape(name)}/{failed.parent.name}/'
                         f'index.html">failed run {html.escape(failed.parent.name[len(FAILED_PREFIX):][:6])}</a>')
    items = []
    for target, days in sorted(rows.items()):
        cells = " · ".join(f"{html.escape(d)}: " + ", ".join(days[d]) for d in sorted(days, reverse=True) if days[d])
        items.append(f"<li><b>{html.escape(target)}</b> — {cells}</li>")
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>pgvet reports</title>"
            "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto}li{margin:.4rem 0}"
            ".failed{color:#c62828}</style></head>"
            f"<body><h1>pgvet reports</h1><ul>{''.join(items) or '<li>No reports yet.</li>'}</ul></body></html>\n")
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".index.{os.getpid()}.{id(page)}.html"
    tmp.write_text(page)
    tmp.replace(root / "index.html")   # concurrent targets each write a whole page
    return root / "index.html"
