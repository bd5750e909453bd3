"""`pgvet report`: one audit, saved, rendered into pages, published without losing a good report.

    validate input  →  probe the target  →  audit.run (every check once, page data captured)
    →  AuditRun.save(staging)  →  fixes.sql, history.json  →  sections (notebooks executed from the
    saved run in page processes, one kernel each, no connection)  →  one page  →  publish (swap under a
    lock; failures kept aside; a folder that cannot be written is one line, nothing left behind)

reports/<date>/<target>/: index.html (the whole report in one self-contained page: the overview, then a
section per area), findings.json, pages.json, fixes.sql, history.json and the notebooks as they ran,
secrets removed and outputs cleared (the page has them).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

from . import audit as audit_run
from .catalog import load_checks, select_checks, selection_name
from .connection import Target, probe
from .errors import PgvetError
from .fixes import write_fixes
from .history import write_history
from .options import RunOptions
from .export import Section, assemble
from .pages import NOTEBOOKS, Page, Rendered, render
from .publish import (INCOMPLETE, PARTIAL_SEPARATOR, check_writable, publish, publish_failure, report_folder,
                      staging, write_failed, write_index)
from .results import RUN_FILE, AuditRun
from .runner import quiet


@dataclass
class Report:
    directory: Path
    index_html: Path
    findings_json: Path
    failed: str | None                 # why the run failed (its pages are in a failed-* folder), else None
    audit: AuditRun | None = None
    pages: list[Path] = field(default_factory=list)


def area_notebooks(only: str = "") -> list[Path]:
    """Area notebooks (`notebooks/<area>.ipynb`) whose area is selected by `only` (all when empty)."""
    areas = {c.area for c in select_checks(load_checks(), only or None)}
    return [nb for nb in sorted(NOTEBOOKS.glob("*.ipynb")) if nb.stem in areas]


def write_report(target: Target, out_root: str | Path = "reports", only: str = "", params: dict | None = None,
                 options: RunOptions = RunOptions(), day: date | None = None, config: str | Path = "",
                 notebook: Path = NOTEBOOKS / "overview.ipynb", say: Callable[[str], None] = quiet) -> Report:
    """Audit `target` once and publish its dated report. A run that fails (target unreachable, connection
    gone for good, a page that does not render) is kept in `<target>/failed-<time>/` and the day's
    report stays as it was; a partial run (`only`) is written beside the full report."""
    root, day = Path(out_root).resolve(), day or date.today()
    config = str(Path(config).resolve()) if config else ""
    audit_run.validate(only, params, config, [target.name])
    check_writable(root)
    final = report_folder(root, day, target.name, selection_name(only))
    try:
        probe(target)  # one clear line before any work
        say(f"{target.name}: auditing")
        audit = audit_run.run(target, only=only, params=params, options=options, config=config, day=day, say=say)
    except PgvetError as exc:
        if exc.exit_code == 3:   # a usage error (a bad parameter value) writes nothing
            try:
                publish_failure(final, str(exc))
                write_index(root)
            except OSError:      # cannot even write the error page: the one line on stderr says it all
                pass
        raise
    if audit.incomplete and (final / RUN_FILE).exists():
        final = final.with_name(final.name + PARTIAL_SEPARATOR + INCOMPLETE)  # never over a complete report
    try:
        work = staging(final)
    except OSError as exc:
        raise write_failed(final.parent, exc) from None
    try:
        audit.save(work)
        write_fixes(audit, work / "fixes.sql")
        write_history(audit, work, day.isoformat())
        common = {"run": ".", "target": target.name}
        pages = [Page(str(notebook), str(work / "overview.ipynb"), str(work / ".overview.section.html"), "overview",
                      {**common, "day": day.isoformat(), "reports_root": str(root)})]
        pages += [Page(str(nb), str(work / nb.name), str(work / f".{nb.stem}.section.html"), nb.stem,
                       {**common, "only": nb.stem}) for nb in area_notebooks(only)]
        say(f"{target.name}: rendering {len(pages)} pages")
        rendered = render(pages, work, options.page_jobs)
        page = assemble_page(rendered, work / "index.html", f"pgvet — {target.name} — {day.isoformat()}",
                             Path(root.name) / final.relative_to(root))
    except OSError as exc:   # a full disk, a folder made read-only under us: one line, nothing left behind
        shutil.rmtree(work, ignore_errors=True)
        raise write_failed(final, exc) from None
    except BaseException:    # Ctrl-C, SIGTERM, a defect: the staging folder goes too
        shutil.rmtree(work, ignore_errors=True)
        raise
    failed = next((r.error for r in rendered if r.error), None)
    if failed:
        log = "\n".join(f"{Path(r.page.notebook).name}: {r.error or 'ok'}" for r in rendered)
        try:
            page.rename(work / "report.html")    # the sections it could render; index.html: the error page
            error_page = publish_failure(final, failed, log, work)
            write_index(root)
        except OSError as exc:
            shutil.rmtree(work, ignore_errors=True)
            raise write_failed(final, exc) from None
        return Report(error_page.parent, error_page, error_page.parent / RUN_FILE, failed, audit, [error_page])
    try:
        publish(work, final)
        write_index(root)
    except OSError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise write_failed(final, exc) from None
    return Report(final, final / "index.html", final / RUN_FILE, None, audit, [final / "index.html"])


def assemble_page(rendered: list[Rendered], path: Path, title: str, folder: Path) -> Path:
    """The report's one page from the sections that were written (their files are removed)."""
    sections = []
    for r in rendered:
        section = Path(r.page.section)
        if section.exists():
            sections.append(Section(r.page.name, r.page.name, section.read_text()))
            section.unlink()
    return assemble(sections, path, title, str(folder))
