"""`pgvet report`: run the notebook with Papermill into reports/<date>/<target>/ and export HTML."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import nbformat
import papermill
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from .connection import Target, probe
from .export import notebook_to_html, redacted
from .errors import PgvetError
from .redact import redact, remember_secret

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@dataclass
class Report:
    directory: Path
    index_html: Path
    findings_json: Path
    failed: str | None  # the notebook error, when one cell failed


def safe_name(name: str) -> str:
    """A target name usable as a folder name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "target"


def _split_password(conninfo: str) -> tuple[str, str | None]:
    """Papermill writes parameters into the notebook: pass the DSN without its password."""
    parts = conninfo_to_dict(conninfo)
    password = parts.pop("password", None)
    return (make_conninfo("", **parts) if password else conninfo), password


def write_report(target: Target, out_root: str | Path = "reports", only: str = "", params: dict | None = None,
                 timeout_ms: int = 30_000, day: date | None = None,
                 notebook: Path = NOTEBOOKS / "overview.ipynb") -> Report:
    """Execute the overview notebook for `target`; replace that day's report atomically."""
    probe(target)  # fail fast with one clear line before starting a kernel
    day_dir = Path(out_root) / (day or date.today()).isoformat()
    final = day_dir / safe_name(target.name)
    day_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=day_dir))
    work.chmod(0o755)
    dsn, password = _split_password(target.conninfo)
    remember_secret(password)
    env_before = os.environ.get("PGPASSWORD")
    if password:
        os.environ["PGPASSWORD"] = password  # reaches libpq in the kernel, not the notebook
    executed = work / "overview.ipynb"
    failed = None
    try:
        papermill.execute_notebook(
            str(notebook), str(executed), cwd=str(NOTEBOOKS), progress_bar=False,
            log_output=False, kernel_name="python3",
            parameters={"target": target.name, "dsn": dsn, "only": only or "", "params": dict(params or {}),
                        "out_dir": str(work.resolve()), "timeout_ms": int(timeout_ms)})
    except papermill.PapermillExecutionError as exc:
        failed = f"{exc.ename}: {exc.evalue}".splitlines()[0]
    except Exception as exc:  # the kernel did not start or the notebook is unreadable: no report
        shutil.rmtree(work, ignore_errors=True)
        reason = redact(str(exc)).strip().splitlines()[0] if str(exc).strip() else ""
        raise PgvetError(f"could not execute the notebook: {type(exc).__name__} {reason}".strip()) from None
    finally:
        if password and env_before is None:
            os.environ.pop("PGPASSWORD", None)
        elif password:
            os.environ["PGPASSWORD"] = env_before
    nbformat.write(redacted(nbformat.read(str(executed), as_version=4)), str(executed))
    notebook_to_html(executed, work / "index.html", title=f"pgvet — {target.name} — {day_dir.name}")
    _replace_dir(work, final)
    return Report(directory=final, index_html=final / "index.html", findings_json=final / "findings.json",
                  failed=failed)


def _replace_dir(new: Path, final: Path) -> None:
    """Swap `new` into place of `final`; a crash leaves either the old or the new report."""
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    new.rename(final)
    shutil.rmtree(old, ignore_errors=True)
