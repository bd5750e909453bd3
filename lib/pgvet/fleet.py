"""Several targets in one run: `pgvet report --targets targets.yml`.

    jobs: 2                       # targets audited at the same time
    targets:
      - name: prod
        service: prod             # a libpq service (pg_service.conf + pgpass)
      - name: staging
        dsn_env: STAGING_DSN      # an environment variable that holds the DSN

Never an inline password: a target is a service name or an environment-variable reference. A
target that fails gets an error page in its report folder; the others still get their reports.
"""
from __future__ import annotations

import html
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from .connection import Target, resolve_target
from .errors import PgvetError, UsageError
from .history import write_index
from .redact import redact
from .report import Report, replace_dir, safe_name, write_report

TARGET_KEYS = {"name", "service", "dsn_env"}


@dataclass
class Outcome:
    name: str
    report: Report | None
    error: str | None


def load_targets(path: str | Path) -> tuple[list[Target], int]:
    """The targets of a targets file, and how many to run at once."""
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None
    targets = []
    for item in data.get("targets") or []:
        if not isinstance(item, dict) or set(item) - TARGET_KEYS or not item.get("name") \
                or bool(item.get("service")) == bool(item.get("dsn_env")):
            raise UsageError(f"{path}: each target needs a name and exactly one of service or dsn_env "
                             f"(never an inline DSN or password), got {item!r}")
        if item.get("dsn_env"):
            if item["dsn_env"] not in os.environ:
                raise UsageError(f"{path}: target {item['name']}: environment variable {item['dsn_env']} is not set")
            targets.append(resolve_target(dsn=os.environ[item["dsn_env"]], name=item["name"]))
        else:
            targets.append(resolve_target(service=item["service"], name=item["name"]))
    if not targets:
        raise UsageError(f"{path}: no targets")
    return targets, max(1, int(data.get("jobs", 2)))


def error_page(out_root: str | Path, target: Target, day: date, message: str) -> Path:
    """reports/<day>/<target>/index.html saying why there is no report, replacing that day's folder."""
    day_dir = Path(out_root) / day.isoformat()
    day_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{safe_name(target.name)}.", dir=day_dir))
    work.chmod(0o755)
    (work / "index.html").write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>pgvet — no report</title></head><body>"
        f"<h1>pgvet: no report for {html.escape(target.name)} on {day.isoformat()}</h1>"
        f"<p style='color:#c62828'>{html.escape(redact(message))}</p></body></html>\n")
    final = day_dir / safe_name(target.name)
    replace_dir(work, final)
    return final / "index.html"


def run_fleet(targets: list[Target], jobs: int, out_root: str | Path, day: date | None = None, **report_args) \
        -> list[Outcome]:
    """Every target's report, `jobs` at a time; a failure is recorded on its own error page."""
    day = day or date.today()

    def one(target: Target) -> Outcome:
        try:
            return Outcome(target.name, write_report(target, out_root, day=day, **report_args), None)
        except PgvetError as exc:
            error_page(out_root, target, day, str(exc))
            return Outcome(target.name, None, redact(str(exc)))

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = list(pool.map(one, targets))
    write_index(out_root)
    return outcomes

