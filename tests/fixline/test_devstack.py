"""The embedded servers from any checkout location, and a failed start that is one sentence and
leaves nothing running."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from fixline import pg_placement
from fixline.devstack import DevStack, DevStackError, EmbeddedPostgres

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another user")


@pytest.fixture
def private_checkout() -> Iterator[Path]:
    """A directory like /root/<clone>: mode 0700, its venv holding the PostgreSQL install."""
    home = Path(tempfile.mkdtemp(prefix="fixline-home-"))  # mkdtemp makes it 0700
    site = home / "clone" / ".venv" / "site-packages"
    packaged = pg_placement.packaged_install()
    for part in (packaged.parent, packaged.parent.parent / f"{packaged.parent.name}.libs"):
        shutil.copytree(part, site / part.name, symlinks=True, copy_function=os.link)
    yield home
    shutil.rmtree(home, ignore_errors=True)


def _nats_processes(state: Path) -> list[int]:
    """pids of nats-server processes started with this state dir's config."""
    config = str(state / "nats" / "nats.conf").encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if config in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


async def _vector_query(url: str) -> float:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        return await conn.fetchval("SELECT '[3,4]'::vector <-> '[0,0]'::vector")
    finally:
        await conn.close()


@as_root
def test_postgres_runs_as_root_from_a_private_checkout(private_checkout: Path):
    install = next((private_checkout / "clone").rglob("pginstall"))
    state = private_checkout / "clone" / ".state"
    assert not pg_placement.reachable_by(pg_placement.PG_SYSTEM_USER, install / "bin" / "initdb")
    pg = EmbeddedPostgres(state / "pgdata", fsync=False, install=install)
    try:
        pg.start()
        assert asyncio.run(_vector_query(pg.url)) == 5.0
    finally:
        pg.stop()
    assert not (state / "pgdata" / "postmaster.pid").exists()
    # Nothing of the user's directories was opened up to do it.
    assert (private_checkout.stat().st_mode & 0o777) == 0o700
    # The data stays the checkout's: a second start finds the same cluster.
    again = EmbeddedPostgres(state / "pgdata", fsync=False, install=install).start()
    again.stop()


@as_root
def test_data_of_a_deleted_state_dir_is_removed_at_the_next_start(tmp_path: Path):
    system = Path(pg_placement.SYSTEM_DIR)
    gone = tmp_path / "gone" / "pgdata"
    real = pg_placement.placed_data_dir(gone, pg_placement.pg_user(), system)
    kept = pg_placement.placed_data_dir(tmp_path / "kept" / "pgdata", pg_placement.pg_user(), system)
    shutil.rmtree(tmp_path / "gone")
    removed = pg_placement.remove_orphaned_data(system)
    assert real.parent in removed and not real.exists()
    assert kept.exists()


def _break_the_cluster(state: Path) -> None:
    """A cluster that exists but cannot start (as after an incompatible upgrade)."""
    pg = EmbeddedPostgres(state / "pgdata", fsync=False).start()
    pg.stop()
    (state / "pgdata" / "PG_VERSION").write_text("99\n")


def test_failed_postgres_start_is_one_sentence_and_stops_nats(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("NATS_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    state = tmp_path / "state"
    _break_the_cluster(state)
    stack = DevStack(state)
    with pytest.raises(DevStackError) as failure:
        stack.start(fsync=False)
    message = str(failure.value)
    assert message.startswith("PostgreSQL could not start") and "\n" not in message, message
    assert "server.log" in message
    assert _nats_processes(state) == []


def test_make_run_reports_a_failed_start_in_one_line(tmp_path: Path, repo_root: Path):
    state = tmp_path / "state"
    _break_the_cluster(state)
    env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "DATABASE_URL")}
    for attempt in range(2):
        run = subprocess.run([sys.executable, "-m", "fixline", "run", "--state-dir", str(state)],
                             cwd=repo_root, env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 1
        assert "Traceback" not in run.stderr, run.stderr
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("[fixline] PostgreSQL could not start"), run.stderr
        assert _nats_processes(state) == [], f"attempt {attempt}: nats-server left running"


def test_nats_chooses_again_when_its_free_port_was_taken(tmp_path: Path, monkeypatch):
    """Another process may bind the port between choosing and starting (a busy CI machine)."""
    import socket

    from fixline import devstack

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    ports = iter([taken.getsockname()[1]])
    real_free_port = devstack.free_port
    monkeypatch.setattr(devstack, "free_port", lambda: next(ports, None) or real_free_port())
    server = devstack.EmbeddedNats(tmp_path / "nats").start()
    try:
        assert server.port != taken.getsockname()[1]
        assert b"address already in use" in (tmp_path / "nats" / "nats.log").read_bytes()
    finally:
        server.stop()
        taken.close()
