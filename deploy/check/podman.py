"""Thin helpers over the podman CLI (no API socket needed)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
import time
import urllib.request
from collections.abc import Callable


CONTAINERS_CONF = Path(__file__).with_name("containers.conf")


class CheckFailed(RuntimeError):
    pass


def podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}


def prepare_host() -> list[str]:
    """crun refuses cgroup v1 while a controller is still bound to the v2 hierarchy ("hybrid
    mode", seen in some VMs): bind such controllers to v1 as well. Returns what it did."""
    unified = Path("/sys/fs/cgroup/unified/cgroup.controllers")
    done = []
    if not unified.exists():
        return done
    for controller in unified.read_text().split():
        target = Path("/sys/fs/cgroup") / controller
        target.mkdir(exist_ok=True)
        subprocess.run(["mount", "-t", "cgroup", "-o", controller, "cgroup", str(target)], check=True)
        done.append(f"mounted the {controller} cgroup controller on v1")
    return done


def podman(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, env=podman_env())
    if check and proc.returncode != 0:
        raise CheckFailed(f"podman {' '.join(args[:3])} ...: {proc.stderr.strip()[-800:]}")
    return proc


def image_size_mb(image: str) -> float:
    return int(podman("image", "inspect", image, "--format", "{{.Size}}").stdout.strip()) / 1e6


def running(container: str) -> bool:
    proc = podman("inspect", container, "--format", "{{.State.Running}}", check=False)
    return proc.stdout.strip() == "true"


def exit_code(container: str) -> int | None:
    proc = podman("inspect", container, "--format", "{{json .State}}", check=False)
    if proc.returncode != 0:
        return None
    state = json.loads(proc.stdout)
    return None if state.get("Running") else state.get("ExitCode")


def logs_tail(container: str, lines: int = 30) -> str:
    proc = podman("logs", "--tail", str(lines), container, check=False)
    return (proc.stdout + proc.stderr).strip()


def http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def http_text(url: str, timeout: float = 2.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read().decode()


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.25) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(interval)
    raise CheckFailed(f"{what}: not within {timeout:.0f}s")


def metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None
