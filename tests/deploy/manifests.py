"""Loading and checking the Kubernetes manifests under deploy/k8s, offline.

Rendering uses ``kubectl kustomize`` when kubectl is installed, else a small resolver of the
kustomization subset these manifests use (resources, components, namespace, images, labels).
Every ``check_*`` function returns a list of violations (empty = fine), so the tests can also
feed them deliberately broken documents and prove they fail.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
K8S_VERSION = "1.32"

Doc = dict[str, Any]

# Kinds with no schema in kubernetes-validate: checked field by field instead.
CRD_KINDS = {
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("postgresql.cnpg.io/v1", "Database"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
    ("postgresql.cnpg.io/v1", "ScheduledBackup"),
    ("barmancloud.cnpg.io/v1", "ObjectStore"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
# Time the runtime spends after the service's drain: nc.drain() (<= 10 s) + aiohttp cleanup
# (5 s), plus slack for the kubelet.
SHUTDOWN_MARGIN_S = 30


# ---------------------------------------------------------------- rendering

def render(kustomization_dir: Path) -> list[Doc]:
    if shutil.which("kubectl"):
        return render_with_kubectl(kustomization_dir)
    return render_with_resolver(kustomization_dir)


def render_with_kubectl(kustomization_dir: Path) -> list[Doc]:
    proc = subprocess.run(["kubectl", "kustomize", str(kustomization_dir)],
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"kubectl kustomize {kustomization_dir} failed:\n{proc.stderr}")
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def render_with_resolver(kustomization_dir: Path) -> list[Doc]:
    """The subset of kustomize these manifests use; good enough when kubectl is missing."""
    k = yaml.safe_load((kustomization_dir / "kustomization.yaml").read_text())
    docs: list[Doc] = []
    for entry in k.get("resources", []):
        path = kustomization_dir / entry
        docs += render_with_resolver(path) if path.is_dir() else load_yaml_file(path)
    patches = list(k.get("patches", []))
    for entry in k.get("components", []):
        docs += render_with_resolver(kustomization_dir / entry)
        component = yaml.safe_load((kustomization_dir / entry / "kustomization.yaml").read_text())
        patches += component.get("patches", [])
    docs = copy.deepcopy(docs)
    for patch in patches:
        apply_json6902_removals(docs, patch)
    for doc in docs:
        if k.get("namespace") and doc["kind"] not in CLUSTER_SCOPED:
            doc["metadata"]["namespace"] = k["namespace"]
        for label in k.get("labels", []):
            doc["metadata"].setdefault("labels", {}).update(label["pairs"])
            if label.get("includeTemplates") and "template" in doc.get("spec", {}):
                doc["spec"]["template"].setdefault("metadata", {}).setdefault("labels", {}).update(label["pairs"])
        for image in k.get("images", []):
            for c in containers(doc):
                if c["image"] == image["name"]:
                    c["image"] = f'{image.get("newName", image["name"])}:{image["newTag"]}'
    return docs


def apply_json6902_removals(docs: list[Doc], patch: Doc) -> None:
    """The one patch form these manifests use: JSON 6902 `remove` ops on a kind/name target."""
    target = patch["target"]
    for op in yaml.safe_load(patch["patch"]):
        if op["op"] != "remove":
            raise AssertionError(f"the fallback resolver only knows `remove` patches, got {op}")
        *parents, leaf = op["path"].strip("/").split("/")
        for doc in docs:
            if doc["kind"] == target["kind"] and doc["metadata"]["name"] == target["name"]:
                node = doc
                for part in parents:
                    node = node[part]
                del node[leaf]


def load_yaml_file(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def all_raw_docs() -> list[tuple[Path, Doc]]:
    """Every Kubernetes object in every YAML file under deploy/k8s (also ones no kustomization lists)."""
    found = []
    for path in sorted(K8S.rglob("*.yaml")):
        for doc in load_yaml_file(path):
            if isinstance(doc, dict) and "kind" in doc and "apiVersion" in doc:
                found.append((path, doc))
    return found


# ---------------------------------------------------------------- accessors

def pod_spec(doc: Doc) -> Doc | None:
    if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return doc["spec"]["template"]["spec"]
    return None


def containers(doc: Doc) -> list[Doc]:
    spec = pod_spec(doc)
    return list(spec.get("containers", [])) if spec else []


def by_kind(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def module_of(container: Doc) -> str:
    cmd = container.get("command", []) + container.get("args", [])
    if len(cmd) < 3 or cmd[0] != "python" or cmd[1] != "-m":
        raise AssertionError(f"{container['name']}: command must be `python -m <module>`, got {cmd}")
    return cmd[2]


def service_name(container: Doc) -> str | None:
    module = module_of(container)
    return module.split(".")[1] if module.startswith("services.") else None


def module_path(module: str) -> Path | None:
    """The file `python -m module` runs, looked up in the source roots ("." and "proto")."""
    parts = module.split(".")
    for base in (ROOT, ROOT / "proto"):
        package = base.joinpath(*parts)
        if (package / "__main__.py").is_file() and (package / "__init__.py").is_file():
            return package / "__main__.py"
        if package.with_suffix(".py").is_file():
            return package.with_suffix(".py")
    return None


# ---------------------------------------------------------------- settings

class SettingsSpec:
    """Environment variables the services read (``Settings.from_env``), with their defaults."""

    def __init__(self) -> None:
        from services.common.settings import DEFAULT_PORTS, environment_variables

        self.default_ports = dict(DEFAULT_PORTS)
        self.defaults: dict[str, Any] = environment_variables()
        self.names: set[str] = set(self.defaults)


def load_settings_spec() -> SettingsSpec:
    return SettingsSpec()


def effective_env(container: Doc, configmaps: dict[str, Doc]) -> dict[str, str]:
    """Plain values a container sees: envFrom ConfigMaps, overridden by literal env entries."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef")
        if ref:
            env.update(configmaps[ref["name"]].get("data", {}))
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = entry["value"]
    return env


def env_float(container: Doc, configmaps: dict[str, Doc], spec: SettingsSpec, name: str) -> float:
    value = effective_env(container, configmaps).get(name)
    return float(value) if value not in (None, "") else float(spec.defaults[name])


def effective_port(container: Doc, configmaps: dict[str, Doc], spec: SettingsSpec) -> int:
    env = effective_env(container, configmaps)
    svc = service_name(container)
    for key in (f"{svc.upper()}_PORT", "HTTP_PORT"):
        if env.get(key):
            return int(env[key])
    return spec.default_ports[svc]


def container_port(container: Doc, port: int | str) -> int | None:
    for p in container.get("ports", []):
        if port in (p.get("name"), p["containerPort"]):
            return p["containerPort"]
    return None


# ---------------------------------------------------------------- checks

def check_probes_and_resources(docs: list[Doc]) -> list[str]:
    bad = []
    for doc in docs:
        for c in containers(doc):
            where = f'{doc["kind"]}/{doc["metadata"]["name"]}/{c["name"]}'
            requests = c.get("resources", {}).get("requests", {})
            limits = c.get("resources", {}).get("limits", {})
            if not {"cpu", "memory"} <= requests.keys():
                bad.append(f"{where}: resources.requests needs cpu and memory")
            if "memory" not in limits:
                bad.append(f"{where}: resources.limits.memory missing")
            if doc["kind"] == "Job":
                continue
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                if probe not in c:
                    bad.append(f"{where}: no {probe}")
    return bad


def check_probe_targets(docs: list[Doc], configmaps: dict[str, Doc], spec: SettingsSpec) -> list[str]:
    expected = {"livenessProbe": "/healthz", "startupProbe": "/healthz", "readinessProbe": "/readyz"}
    bad = []
    for doc in docs:
        for c in containers(doc):
            if doc["kind"] == "Job":
                continue
            where = f'{doc["metadata"]["name"]}/{c["name"]}'
            listen = effective_port(c, configmaps, spec)
            for probe, path in expected.items():
                http = c.get(probe, {}).get("httpGet")
                if not http:
                    bad.append(f"{where}: {probe} is not an httpGet")
                    continue
                if http.get("path") != path:
                    bad.append(f"{where}: {probe} path {http.get('path')!r}, expected {path}")
                target = container_port(c, http.get("port"))
                if target is None:
                    bad.append(f"{where}: {probe} port {http.get('port')!r} is not a declared container port")
                elif target != listen:
                    bad.append(f"{where}: {probe} hits port {target} but the service listens on {listen}")
    return bad


def check_commands(docs: list[Doc]) -> list[str]:
    bad = []
    for doc in docs:
        for c in containers(doc):
            try:
                module = module_of(c)
            except AssertionError as exc:
                bad.append(str(exc))
                continue
            if module_path(module) is None:
                bad.append(f'{doc["metadata"]["name"]}/{c["name"]}: module {module} does not exist')
            if doc["kind"] == "Deployment" and service_name(c) != doc["metadata"]["name"]:
                bad.append(f'Deployment {doc["metadata"]["name"]} runs {module}')
    return bad


def check_grace_periods(docs: list[Doc], configmaps: dict[str, Doc], spec: SettingsSpec) -> list[str]:
    """terminationGracePeriodSeconds covers preStop + DRAIN_TIMEOUT_S + shutdown margin."""
    bad = []
    for doc in docs:
        if doc["kind"] != "Deployment":
            continue
        pod = pod_spec(doc)
        grace = pod.get("terminationGracePeriodSeconds", 30)
        for c in pod["containers"]:
            pre_stop = c.get("lifecycle", {}).get("preStop", {})
            if pre_stop and "sleep" not in pre_stop:
                bad.append(f'{doc["metadata"]["name"]}: preStop must use the native sleep action')
            sleep = pre_stop.get("sleep", {}).get("seconds", 0)
            drain = env_float(c, configmaps, spec, "DRAIN_TIMEOUT_S")
            need = sleep + drain + SHUTDOWN_MARGIN_S
            if grace < need:
                bad.append(f'{doc["metadata"]["name"]}: terminationGracePeriodSeconds {grace} < '
                           f"preStop {sleep} + DRAIN_TIMEOUT_S {drain:g} + margin {SHUTDOWN_MARGIN_S}")
    return bad


def check_env_names(docs: list[Doc], spec: SettingsSpec) -> list[str]:
    bad = []
    as_env = {s["configMapRef"]["name"] for d in docs for c in containers(d)
              for s in c.get("envFrom", []) if "configMapRef" in s}
    for doc in docs:
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] in as_env:
            bad += [f'ConfigMap {doc["metadata"]["name"]}: {k} is not a setting'
                    for k in doc.get("data", {}) if k not in spec.names]
        for c in containers(doc):
            bad += [f'{doc["metadata"]["name"]}/{c["name"]}: env {e["name"]} is not a setting'
                    for e in c.get("env", []) if e["name"] not in spec.names]
    return bad


def check_security(docs: list[Doc]) -> list[str]:
    bad = []
    for doc in docs:
        pod = pod_spec(doc)
        if pod is None:
            continue
        name = doc["metadata"]["name"]
        psc = pod.get("securityContext", {})
        if psc.get("runAsNonRoot") is not True:
            bad.append(f"{name}: pod securityContext.runAsNonRoot is not true")
        if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            bad.append(f"{name}: seccompProfile is not RuntimeDefault")
        # Service links would inject e.g. BRIDGE_PORT=tcp://10.0.0.7:8081, and Settings reads
        # <SERVICE>_PORT as the listen port: the process would crash at start.
        if pod.get("enableServiceLinks") is not False:
            bad.append(f"{name}: enableServiceLinks must be false")
        for c in pod["containers"]:
            sc = c.get("securityContext", {})
            if sc.get("allowPrivilegeEscalation") is not False:
                bad.append(f"{name}/{c['name']}: allowPrivilegeEscalation is not false")
            if sc.get("readOnlyRootFilesystem") is not True:
                bad.append(f"{name}/{c['name']}: readOnlyRootFilesystem is not true")
            if sc.get("capabilities", {}).get("drop") != ["ALL"]:
                bad.append(f"{name}/{c['name']}: capabilities.drop is not [ALL]")
    return bad


PLACEHOLDER = "REPLACE_ME"
SECRET_LOOKING = [
    re.compile(r"AIza[0-9A-Za-z_\-]{20,}"),          # Google API key
    re.compile(r"\b(AC|SK)[0-9a-f]{32}\b"),          # Twilio SID / API key
    re.compile(r"\b[0-9a-f]{32,}\b"),                # hex tokens (auth tokens, HMAC keys)
    re.compile(r"[A-Za-z0-9+/_\-]{24,}={0,2}"),      # long base64-ish strings
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
]


def check_secret_values(doc: Doc) -> list[str]:
    """A Secret in the repo holds placeholders only: stringData with REPLACE_ME, no data."""
    if doc.get("kind") != "Secret":
        return []
    name = doc["metadata"]["name"]
    bad = []
    if doc.get("data"):
        bad.append(f"Secret {name}: data (base64) is not allowed in the repo, use stringData placeholders")
    for key, value in (doc.get("stringData") or {}).items():
        value = str(value)
        if PLACEHOLDER not in value:
            bad.append(f"Secret {name}: {key} is not a {PLACEHOLDER} placeholder")
        stripped = value.replace(PLACEHOLDER, "")
        if any(p.search(stripped) for p in SECRET_LOOKING):
            bad.append(f"Secret {name}: {key} looks like a real credential")
        if re.search(r"://[^:/@]+:(?!REPLACE_ME@)[^@]+@", value):
            bad.append(f"Secret {name}: {key} has a password in its URL")
    return bad
