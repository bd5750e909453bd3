"""Render report sections: each notebook is executed by Papermill and exported to an HTML section in a
process of its own (its own working directory and environment), from a saved run — no database connection.
`export.assemble` then puts the sections into the report's one page.

    python -m pgvet.pages SPEC.json      SPEC: notebook, executed, section, name, parameters
Exit 0: section written; 1: a cell failed (the section shows the error); 2: the notebook could not run.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PAGE_TIMEOUT_S = 900
# A page renders a saved run: it needs no credentials, so none reach its process.
SECRET_ENV = ("PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGSERVICEFILE", "PGVET_DSN", "DATABASE_URL", "PGHOST",
              "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGOPTIONS", "PGSSLKEY")


@dataclass
class Page:
    notebook: str
    executed: str
    section: str            # where the exported section goes
    name: str               # the section's anchor and its name in the navigation bar
    parameters: dict


@dataclass
class Rendered:
    page: Page
    error: str | None       # a failed cell or a notebook that could not run; None when written


def page_environment() -> dict:
    return {k: v for k, v in os.environ.items() if k not in SECRET_ENV}


def render(pages: list[Page], folder: Path, jobs: int) -> list[Rendered]:
    """Every page, `jobs` at a time, each `python -m pgvet.pages` with `folder` as its working directory."""
    def one(page: Page) -> Rendered:
        spec = folder / f".{Path(page.executed).stem}.page.json"
        spec.write_text(json.dumps(asdict(page)))
        try:
            done = subprocess.run([sys.executable, "-m", "pgvet.pages", str(spec)], cwd=folder, capture_output=True,
                                  text=True, env=page_environment(), timeout=PAGE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return Rendered(page, f"{Path(page.notebook).stem}: not rendered within {PAGE_TIMEOUT_S} s")
        finally:
            spec.unlink(missing_ok=True)
        if done.returncode == 0:
            return Rendered(page, None)
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        return Rendered(page, lines[-1] if lines else f"{Path(page.notebook).stem}: exit {done.returncode}")
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:   # the threads only wait for their process
        return list(pool.map(one, pages))


def _kernel_manager():
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets import CaselessStrEnum, default

    class LocalKernelManager(AsyncKernelManager):
        """Kernels talk over Unix sockets: nothing listens on TCP, and the kernel does not warn that TCP
        traffic is unencrypted."""

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

    return LocalKernelManager


def main(spec_path: str) -> int:
    import nbformat
    import papermill

    from .export import notebook_to_section, redacted
    from .redact import redact

    page = Page(**json.loads(Path(spec_path).read_text()))
    status = 0
    try:
        # no cwd=: Papermill would os.chdir; this process was started in the report folder, the kernel inherits it
        papermill.execute_notebook(page.notebook, page.executed, progress_bar=False,
                                   log_output=False, kernel_name="python3", parameters=page.parameters,
                                   kernel_manager_class=_kernel_manager())
    except papermill.PapermillExecutionError as exc:
        print(f"{Path(page.notebook).stem}: {exc.ename}: {redact(str(exc.evalue))}".splitlines()[0], file=sys.stderr)
        status = 1
    except Exception as exc:  # the kernel did not start or the notebook is unreadable
        reason = redact(str(exc)).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"could not execute the notebook {Path(page.notebook).name}: {type(exc).__name__} {reason}".strip(),
              file=sys.stderr)
        return 2
    nbformat.write(redacted(nbformat.read(page.executed, as_version=4)), page.executed)
    notebook_to_section(page.executed, page.section)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
