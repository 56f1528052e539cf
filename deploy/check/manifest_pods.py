"""A rendered Deployment or Job -> the ``podman run`` arguments that reproduce its container as
the kubelet would: command, env (ConfigMaps, literals, Secret keys), user and group,
read-only root, dropped capabilities, no privilege escalation, memory and CPU limits, emptyDir
and Secret volumes. Nothing here is written twice: it is all read from the manifest."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

Doc = dict[str, Any]


class ManifestError(ValueError):
    """The manifest asks for something the check cannot reproduce (or a Secret key is missing)."""


@dataclass
class ContainerPlan:
    name: str
    image: str
    command: list[str]
    env: dict[str, str]
    args: list[str] = field(default_factory=list)      # podman run options
    probes: dict[str, Doc] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    pre_stop_sleep_s: int = 0
    grace_s: int = 30

    def probe_port(self, probe: str) -> int:
        port = self.probes[probe]["httpGet"]["port"]
        return self.ports[port] if isinstance(port, str) else int(port)


def plan(workload: Doc, configmaps: dict[str, Doc], secrets: dict[str, dict[str, str]],
         files: dict[tuple[str, str], str], image: str) -> ContainerPlan:
    """``secrets``: Secret name -> key -> value; ``files``: (Secret name, key) -> host file."""
    pod = workload["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = container_env(container, configmaps, secrets)
    args = security_args(pod.get("securityContext", {}), container.get("securityContext", {}))
    args += resource_args(container.get("resources", {}))
    args += volume_args(pod.get("volumes", []), container.get("volumeMounts", []), files)
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    return ContainerPlan(
        name=workload["metadata"]["name"], image=image, command=container["command"] + container.get("args", []),
        env=env, args=args, probes={p: container[p] for p in ("startupProbe", "readinessProbe", "livenessProbe")
                                    if p in container},
        ports={p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p},
        pre_stop_sleep_s=int(pre_stop), grace_s=int(pod.get("terminationGracePeriodSeconds", 30)))


def container_env(container: Doc, configmaps: dict[str, Doc], secrets: dict[str, dict[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" not in source:
            raise ManifestError(f"{container['name']}: envFrom {source} is not supported")
        env.update(configmaps[source["configMapRef"]["name"]].get("data", {}))
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = entry["value"]
            continue
        ref = entry["valueFrom"]["secretKeyRef"]
        value = secrets.get(ref["name"], {}).get(ref["key"])
        if value is None:
            if ref.get("optional"):
                continue
            raise ManifestError(f"{container['name']}: Secret {ref['name']} has no key {ref['key']}")
        env[entry["name"]] = value
    return env


def security_args(pod_sc: Doc, sc: Doc) -> list[str]:
    user, group = sc.get("runAsUser", pod_sc.get("runAsUser")), sc.get("runAsGroup", pod_sc.get("runAsGroup"))
    if (sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))) and not user:
        raise ManifestError("runAsNonRoot without a numeric runAsUser cannot be checked")
    args = [f"--user={user}:{group}" if group is not None else f"--user={user}"] if user is not None else []
    if sc.get("readOnlyRootFilesystem"):
        args.append("--read-only")
    for cap in sc.get("capabilities", {}).get("drop", []):
        args.append(f"--cap-drop={cap}")
    if sc.get("allowPrivilegeEscalation") is False:
        args.append("--security-opt=no-new-privileges")
    if pod_sc.get("seccompProfile", {}).get("type") not in (None, "RuntimeDefault"):
        raise ManifestError("only the RuntimeDefault seccomp profile is reproduced")
    return args


def resource_args(resources: Doc) -> list[str]:
    limits = resources.get("limits", {})
    args = []
    if "memory" in limits:
        args.append(f"--memory={_bytes(limits['memory'])}")
    if "cpu" in limits:
        args.append(f"--cpus={_cpus(limits['cpu'])}")
    return args


def volume_args(volumes: list[Doc], mounts: list[Doc], files: dict[tuple[str, str], str]) -> list[str]:
    by_name = {v["name"]: v for v in volumes}
    args = []
    for mount in mounts:
        volume = by_name[mount["name"]]
        if "emptyDir" in volume:
            size = volume["emptyDir"].get("sizeLimit")
            args.append(f"--tmpfs={mount['mountPath']}:rw,mode=1777" + (f",size={_bytes(size)}" if size else ""))
        elif "secret" in volume:
            for path, target in _secret_files(volume["secret"], files):
                args.append(f"--volume={path}:{mount['mountPath']}/{target}:ro")
        else:
            raise ManifestError(f"volume {mount['name']}: only emptyDir and secret volumes are reproduced")
    return args


def _secret_files(secret: Doc, files: dict[tuple[str, str], str]) -> list[tuple[str, str]]:
    """(host file, path in the volume) for a Secret volume; with ``items`` only those keys, as the kubelet does."""
    name = secret["secretName"]
    provided = {key: path for (secret_name, key), path in files.items() if secret_name == name}
    wanted = {item["key"]: item["path"] for item in secret.get("items", [])} or {key: key for key in provided}
    missing = [key for key in wanted if key not in provided]
    if (missing or not wanted) and not secret.get("optional"):
        raise ManifestError(f"Secret volume {name} has no files for {missing or 'any key'}")
    return [(provided[key], target) for key, target in wanted.items() if key in provided]


_UNITS = {"Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "K": 1000, "M": 1000 ** 2, "G": 1000 ** 3}


def _bytes(quantity: str) -> int:
    match = re.fullmatch(r"(\d+)([KMG]i?)?", str(quantity))
    if not match:
        raise ManifestError(f"quantity {quantity!r}")
    return int(match[1]) * _UNITS.get(match[2] or "", 1)


def _cpus(quantity: str) -> str:
    text = str(quantity)
    return f"{int(text[:-1]) / 1000:g}" if text.endswith("m") else f"{float(text):g}"
