"""`pgvet report`: run the notebooks with Papermill into reports/<date>/<target>/ and export HTML.

reports/<date>/<target>/: index.html (overview), <area>.html per area notebook, findings.json,
fixes.sql, and the executed notebooks with secrets removed.
"""
from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import nbformat
import papermill
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir
from traitlets import CaselessStrEnum, default
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from .catalog import load_checks, select_checks
from .connection import Target, probe
from .export import notebook_to_html, redacted
from .errors import PgvetError
from .fixes import write_fixes
from .history import write_history, write_index
from .redact import redact, remember_secret
from .results import AuditRun

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@dataclass
class Report:
    directory: Path
    index_html: Path
    findings_json: Path
    failed: str | None  # the first notebook error, when a cell failed
    pages: list[Path] = field(default_factory=list)


def safe_name(name: str) -> str:
    """A target name usable as a folder name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "target"


def _split_password(conninfo: str) -> tuple[str, str | None]:
    """Papermill writes parameters into the notebook: pass the DSN without its password."""
    parts = conninfo_to_dict(conninfo)
    password = parts.pop("password", None)
    return (make_conninfo("", **parts) if password else conninfo), password


class LocalKernelManager(AsyncKernelManager):
    """Kernels talk over Unix sockets in Jupyter's runtime folder: nothing listens on TCP, and the
    kernel does not warn on every run that TCP traffic is unencrypted."""

    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc")

    @default("ip")
    def _unique_ipc_path(self) -> str:
        # the stock default is one shared 'kernel-ipc' prefix: concurrent kernels would cross-talk;
        # Jupyter's runtime folder may not exist yet for a user who never ran Jupyter
        folder = jupyter_runtime_dir()
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
        except OSError:
            folder = tempfile.gettempdir()
        return os.path.join(folder, f"pgvet-{uuid.uuid4().hex[:12]}-ipc")


def area_notebooks(only: str = "") -> list[Path]:
    """Area notebooks (`notebooks/<area>.ipynb`) whose area is selected by `only` (all when empty)."""
    checks = select_checks(load_checks(), only or None)
    areas = {c.area for c in checks}
    return [nb for nb in sorted(NOTEBOOKS.glob("*.ipynb")) if nb.stem in areas]


def _execute(notebook: Path, executed: Path, parameters: dict) -> str | None:
    """Run one notebook with Papermill; returns the failing cell's error, or None."""
    try:
        papermill.execute_notebook(str(notebook), str(executed), cwd=str(NOTEBOOKS), progress_bar=False,
                                   log_output=False, kernel_name="python3", parameters=parameters,
                                   kernel_manager_class=LocalKernelManager)
    except papermill.PapermillExecutionError as exc:
        return f"{notebook.stem}: {exc.ename}: {exc.evalue}".splitlines()[0]
    except Exception as exc:  # the kernel did not start or the notebook is unreadable: no report
        reason = redact(str(exc)).strip().splitlines()[0] if str(exc).strip() else ""
        raise PgvetError(f"could not execute the notebook {notebook.name}: {type(exc).__name__} {reason}".strip()) \
            from None
    nbformat.write(redacted(nbformat.read(str(executed), as_version=4)), str(executed))
    return None


def write_report(target: Target, out_root: str | Path = "reports", only: str = "", params: dict | None = None,
                 timeout_ms: int = 30_000, day: date | None = None,
                 notebook: Path = NOTEBOOKS / "overview.ipynb", config: str | Path = "", jobs: int = 1) -> Report:
    """Execute the overview notebook (which runs the checks and writes findings.json), then each
    selected area notebook on those findings; write fixes.sql; replace that day's report atomically."""
    probe(target)  # fail fast with one clear line before starting a kernel
    day = day or date.today()
    day_dir = Path(out_root) / day.isoformat()
    final = day_dir / safe_name(target.name)
    day_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=day_dir))
    work.chmod(0o755)
    dsn, password = _split_password(target.conninfo)
    remember_secret(password)
    env_before = os.environ.get("PGPASSWORD")
    if password:
        os.environ["PGPASSWORD"] = password  # reaches libpq in the kernel, not the notebook
    common = {"target": target.name, "dsn": dsn, "params": dict(params or {}), "timeout_ms": int(timeout_ms)}
    title = f"pgvet — {target.name} — {day_dir.name}"
    try:
        failures = [_execute(notebook, work / "overview.ipynb",
                             {**common, "only": only or "", "out_dir": str(work.resolve()),
                              "config": str(Path(config).resolve()) if config else "", "day": day.isoformat(),
                              "reports_root": str(Path(out_root).resolve())})]
        notebook_to_html(work / "overview.ipynb", work / "index.html", title=title)
        pages = [work / "index.html"]
        findings = work / "findings.json"
        if findings.exists():
            audit = AuditRun.read_json(findings)
            write_fixes(audit, work / "fixes.sql")
            write_history(audit, work, day.isoformat())

            def area_page(area_nb: Path) -> str | None:
                executed = work / area_nb.name
                failure = _execute(area_nb, executed, {**common, "only": area_nb.stem,
                                                       "findings": str(findings.resolve())})
                notebook_to_html(executed, work / f"{area_nb.stem}.html", title=f"{title} — {area_nb.stem}")
                return failure

            areas = area_notebooks(only)
            with ThreadPoolExecutor(max_workers=max(1, int(jobs))) as pool:  # each page has its own kernel
                failures += list(pool.map(area_page, areas))
            pages += [work / f"{nb.stem}.html" for nb in areas]
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        if password and env_before is None:
            os.environ.pop("PGPASSWORD", None)
        elif password:
            os.environ["PGPASSWORD"] = env_before
    replace_dir(work, final)
    write_index(out_root)
    failed = next((f for f in failures if f), None)
    return Report(directory=final, index_html=final / "index.html", findings_json=final / "findings.json",
                  failed=failed, pages=[final / p.name for p in pages])


def replace_dir(new: Path, final: Path) -> None:
    """Swap `new` into place of `final`; a crash leaves either the old or the new report."""
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    new.rename(final)
    shutil.rmtree(old, ignore_errors=True)
