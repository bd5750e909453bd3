"""Render report sections: notebooks executed by Papermill and exported to HTML sections from a saved run
(no database connection), in `jobs` processes of their own (the report folder as working directory, an
environment without credentials). Each process starts one kernel and executes its share of the
notebooks on it in turn: the kernel's start and imports are paid once per process, not once per page.
`export.assemble` then puts the sections into the report's one page.

    python -m pgvet.pages SPEC.json      SPEC: a list of {notebook, executed, section, name, parameters}
Writes SPEC.result.json: {name: error or null}. Exit 0: every section written; 1: a cell failed in
some (their sections show the error); 2: a notebook could not run.
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
    """Every page; `jobs` processes, each `python -m pgvet.pages` with `folder` as its working directory.
    Interrupted (Ctrl-C, SIGTERM), the page processes are stopped before this returns."""
    running: list[subprocess.Popen] = []

    def share(pages: list[Page], n: int) -> list[Rendered]:
        spec = folder / f".pages-{n}.json"
        result = spec.with_suffix(".result.json")
        spec.write_text(json.dumps([asdict(p) for p in pages]))
        timeout = PAGE_TIMEOUT_S * len(pages)
        process = subprocess.Popen([sys.executable, "-m", "pgvet.pages", str(spec)], cwd=folder, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=page_environment())
        running.append(process)
        try:
            _, stderr = process.communicate(timeout=timeout)
            lines = [line for line in stderr.strip().splitlines() if line.strip()]
            why = lines[-1] if lines else f"exit {process.returncode}"
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            why = f"not rendered within {timeout} s"
        finally:
            spec.unlink(missing_ok=True)
        errors = json.loads(result.read_text()) if result.exists() else {}
        result.unlink(missing_ok=True)
        return [Rendered(p, errors[p.name] if p.name in errors else f"{Path(p.notebook).stem}: {why}") for p in pages]
    shares = [s for s in (pages[i::max(1, jobs)] for i in range(max(1, jobs))) if s]
    pool = ThreadPoolExecutor(max_workers=len(shares))   # the threads only wait for their process
    try:
        done = [r for rendered in pool.map(share, shares, range(len(shares))) for r in rendered]
    except BaseException:
        for process in running:
            process.terminate()
        raise
    finally:
        pool.shutdown(wait=True)
    return sorted(done, key=lambda r: pages.index(r.page))


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


def without_outputs(nb):
    """The notebook as it ran, its outputs cleared: they are the report page. Run in the report folder,
    it renders the same outputs again from the saved run (its parameters say `run = "."`)."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def main(spec_path: str) -> int:
    import nbformat
    import papermill
    from jupyter_core.utils import run_sync

    from .export import notebook_to_section, redacted
    from .redact import redact

    pages = [Page(**p) for p in json.loads(Path(spec_path).read_text())]
    kernel = _kernel_manager()(kernel_name="python3")   # started by the first notebook, kept for the others
    errors, status = {}, 0
    try:
        for page in pages:
            try:
                # no cwd=: Papermill would os.chdir; this process runs in the report folder, the kernel inherits it
                papermill.execute_notebook(page.notebook, page.executed, progress_bar=False, log_output=False,
                                           kernel_name="python3", parameters=page.parameters, km=kernel)
                errors[page.name] = None
            except papermill.PapermillExecutionError as exc:
                errors[page.name] = f"{Path(page.notebook).stem}: {exc.ename}: {redact(str(exc.evalue))}".splitlines()[0]
                status = max(status, 1)
            except Exception as exc:  # the kernel did not start or the notebook is unreadable
                reason = redact(str(exc)).strip().splitlines()[0] if str(exc).strip() else ""
                errors[page.name] = f"could not execute the notebook {Path(page.notebook).name}: " \
                                    f"{type(exc).__name__} {reason}".strip()
                status = 2
                continue
            nbformat.write(redacted(nbformat.read(page.executed, as_version=4)), page.executed)
            notebook_to_section(page.executed, page.section)
            nbformat.write(without_outputs(nbformat.read(page.executed, as_version=4)), page.executed)
    finally:
        Path(spec_path).with_suffix(".result.json").write_text(json.dumps(errors))
        if kernel.has_kernel:
            run_sync(kernel.shutdown_kernel)(now=True)
    for error in errors.values():
        if error:
            print(error, file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
