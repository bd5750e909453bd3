"""Time the demo build and one full audit of it on the embedded server (python bench/demo_build.py)."""
import tempfile
import time

from pgvet import demo
from pgvet.connection import resolve_target
from pgvet.runner import run_audit
from pgvet.server import EmbeddedServer

with tempfile.TemporaryDirectory() as tmp:
    server = EmbeddedServer(tmp)
    t0 = time.perf_counter()
    info = server.start()
    t1 = time.perf_counter()
    name = demo.build(info.dsn())
    t2 = time.perf_counter()
    run = run_audit(resolve_target(dsn=info.dsn(dbname=name)), params=demo.report_params())
    t3 = time.perf_counter()
    server.remove()
    print(f"server initdb+start  {t1 - t0:6.2f} s")
    print(f"demo build           {t2 - t1:6.2f} s")
    print(f"audit ({len(run.checks)} checks)     {t3 - t2:6.2f} s  "
          f"({', '.join(f'{c.id} {c.duration_ms} ms' for c in run.checks)})")
