"""Offline checks of deploy/k8s and deploy/Dockerfile: schema validation of every core kind
(kubernetes-validate, strict), hand-written checks of the CRD kinds, and the policies the
services rely on (probes, drain budget, settings names, secrets, image)."""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from fixline_proto import subjects

from .manifests import (CRD_KINDS, DOCKERFILE, K8S, K8S_VERSION, ROOT, all_raw_docs, by_kind,
                        check_commands, check_env_names, check_grace_periods,
                        check_probe_targets, check_probes_and_resources, check_secret_values,
                        check_security, containers, env_float, load_settings_spec, render_with_resolver)
from .conftest import KUSTOMIZATIONS

SERVICES = ("ingress", "bridge", "tools", "notifier", "outreach")
@pytest.fixture(scope="module")
def settings_spec():
    return load_settings_spec()


@pytest.fixture(scope="module")
def base(rendered):
    return rendered["base"]


@pytest.fixture(scope="module")
def every_doc(rendered) -> list[dict]:
    return [d for docs in rendered.values() for d in docs]


@pytest.fixture(scope="module")
def configmaps(base):
    return by_kind(base, "ConfigMap")


def test_base_holds_the_five_services_and_their_routing(base):
    deployments, services = by_kind(base, "Deployment"), by_kind(base, "Service")
    assert sorted(deployments) == sorted(SERVICES)
    assert sorted(services) == sorted(SERVICES)
    assert sorted(by_kind(base, "HorizontalPodAutoscaler")) == ["bridge", "ingress", "notifier"]
    assert "bridge" in by_kind(base, "PodDisruptionBudget")
    assert sorted(by_kind(base, "HTTPRoute")) == ["fixline-dashboard", "fixline-twilio"]
    assert by_kind(base, "Namespace").keys() == {"fixline"}
    # Secrets are created out of band; the placeholder template must never be applied by -k.
    assert not by_kind(base, "Secret")
    assert {d["metadata"].get("namespace") for d in base if d["kind"] != "Namespace"} == {"fixline"}


def test_fallback_resolver_agrees_with_kustomize(rendered):
    for name, path in KUSTOMIZATIONS.items():
        ours = render_with_resolver(path)
        assert ours, name
        assert sorted((d["kind"], d["metadata"]["name"]) for d in ours) == \
            sorted((d["kind"], d["metadata"]["name"]) for d in rendered[name]), name
        assert [c["image"] for d in ours for c in containers(d)] == \
            [c["image"] for d in rendered[name] for c in containers(d)], name


def test_core_kinds_pass_strict_schema_validation(every_doc):
    crd_seen = set()
    for doc in every_doc:
        key = (doc["apiVersion"], doc["kind"])
        if key in CRD_KINDS:
            crd_seen.add(key)
            continue
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            pytest.fail(f"{key} has no {K8S_VERSION} schema and is not a known CRD kind")
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f'{doc["kind"]}/{doc["metadata"]["name"]}: {exc.message} at {list(exc.path)}')
    assert crd_seen == CRD_KINDS


def test_the_validator_rejects_a_typo():
    """Guards the guard: strict validation really reports unknown fields."""
    doc = yaml.safe_load((K8S / "bridge.yaml").read_text().split("\n---\n")[0])
    doc["spec"]["template"]["spec"]["terminationGracePeriodSecond"] = 900
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_every_container_has_probes_and_resources(every_doc):
    assert check_probes_and_resources(every_doc) == []


def test_probes_hit_health_endpoints_on_the_listen_port(base, configmaps, settings_spec):
    assert check_probe_targets(base, configmaps, settings_spec) == []
    services = by_kind(base, "Service")
    for name, deployment in by_kind(base, "Deployment").items():
        port = services[name]["spec"]["ports"][0]
        (container,) = containers(deployment)
        assert port["targetPort"] in [p["name"] for p in container["ports"]], name


def test_commands_run_existing_modules(every_doc):
    assert check_commands(every_doc) == []
    (job,) = [d for d in every_doc if d["kind"] == "Job"]
    assert containers(job)[0]["command"] == ["python", "-m", "fixline.db", "--no-seed"]


def test_drain_budget_fits_the_grace_period(base, configmaps, settings_spec):
    assert check_grace_periods(base, configmaps, settings_spec) == []


def test_bridge_lifecycle(base, configmaps, settings_spec):
    bridge = by_kind(base, "Deployment")["bridge"]
    pod = bridge["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert pod["terminationGracePeriodSeconds"] == 900
    assert env_float(c, configmaps, settings_spec, "DRAIN_TIMEOUT_S") == 840
    assert c["lifecycle"]["preStop"] == {"sleep": {"seconds": 10}}
    assert bridge["spec"]["strategy"] == {"type": "RollingUpdate",
                                          "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "50%"}}
    assert c["readinessProbe"]["failureThreshold"] == 1
    assert "sessionAffinity" not in by_kind(base, "Service")["bridge"]["spec"]
    pdb = by_kind(base, "PodDisruptionBudget")["bridge"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= bridge["spec"]["template"]["metadata"]["labels"].items()


def test_bridge_scales_on_active_calls_below_its_cap(base, configmaps, settings_spec):
    hpa = by_kind(base, "HorizontalPodAutoscaler")["bridge"]["spec"]
    (metric,) = hpa["metrics"]
    assert metric["type"] == "Pods"
    assert metric["pods"]["metric"]["name"] == "bridge_active_calls"
    assert metric["pods"]["target"]["type"] == "AverageValue"
    (c,) = containers(by_kind(base, "Deployment")["bridge"])
    max_calls = env_float(c, configmaps, settings_spec, "MAX_CALLS")
    assert 0 < float(metric["pods"]["target"]["averageValue"]) < max_calls
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 300
    assert hpa["minReplicas"] >= 2
    for name in ("ingress", "notifier"):
        (m,) = by_kind(base, "HorizontalPodAutoscaler")[name]["spec"]["metrics"]
        assert m["resource"]["name"] == "cpu", name


def test_env_vars_and_configmap_keys_are_settings(every_doc, settings_spec):
    assert {"NATS_URL", "DRAIN_TIMEOUT_S", "BRIDGE_PORT"} <= settings_spec.names  # parser sanity
    assert check_env_names(every_doc, settings_spec) == []


def test_secret_refs_match_the_template(every_doc):
    (template,) = [d for p, d in all_raw_docs() if p.name == "secret.example.yaml"]
    text = (K8S / "secret.example.yaml").read_text()
    keys = set(template["stringData"])
    assert {"GEMINI_API_KEY", "TWILIO_AUTH_TOKEN", "DASHBOARD_TOKEN", "MEDIA_TOKEN_SECRET",
            "DATABASE_URL"} <= keys
    for doc in every_doc:
        for c in containers(doc):
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == template["metadata"]["name"], (c["name"], e["name"])
                    if ref.get("optional"):   # documented in the template, commented out
                        assert f'# {ref["key"]}:' in text, (c["name"], e["name"])
                    else:
                        assert ref["key"] in keys, (c["name"], e["name"])


def test_database_paths(every_doc, configmaps):
    """Every database user connects to the primary directly: the outbox relay LISTENs, search
    sets session parameters, DBOS and the migrator take session advisory locks, none of which
    survive a transaction pooler. So no statement-cache-off setting either."""
    assert "DB_STATEMENT_CACHE_SIZE" not in configmaps["fixline-config"]["data"]
    (template,) = [d for p, d in all_raw_docs() if p.name == "secret.example.yaml"]
    assert "-pg-rw." in template["stringData"]["DATABASE_URL"] and "pooler" not in template["stringData"]["DATABASE_URL"]
    for doc in every_doc:
        for c in containers(doc):
            for e in c.get("env", []):
                if e["name"] == "DATABASE_URL":
                    assert e["valueFrom"]["secretKeyRef"]["key"] == "DATABASE_URL", c["name"]
                assert e["name"] != "DB_STATEMENT_CACHE_SIZE" or e["value"] != "0", c["name"]


def test_pods_are_locked_down(every_doc):
    assert check_security(every_doc) == []


def test_one_image_for_everything(every_doc):
    images = {c["image"] for d in every_doc for c in containers(d)}
    assert len(images) == 1, images


def test_no_secret_holds_real_looking_values(every_doc):
    docs = every_doc + [d for _, d in all_raw_docs()]
    assert [d for d in docs if d["kind"] == "Secret"], "the Secret template is missing"
    assert [v for d in docs for v in check_secret_values(d)] == []


def test_http_routes(base):
    services = by_kind(base, "Service")
    paths: dict[str, tuple[str | None, dict]] = {}
    for route in by_kind(base, "HTTPRoute").values():
        spec = route["spec"]
        assert spec["parentRefs"] and spec["hostnames"]
        for rule in spec["rules"]:
            backends = rule.get("backendRefs", [])
            for backend in backends:
                assert backend["port"] in [p["port"] for p in services[backend["name"]]["spec"]["ports"]]
            for match in rule["matches"]:
                paths[match["path"]["value"]] = (backends[0]["name"] if backends else None, rule)
    expected = {"/twilio/voice": "ingress", "/twilio/status": "ingress", "/twilio/stream-status": "ingress",
                "/twilio/recording-status": "ingress",
                "/twilio/media": "bridge", "/": "notifier", "/events": "notifier",
                "/healthz": None, "/readyz": None, "/metrics": None}
    assert {p: s for p, (s, _) in paths.items()} == expected
    for long_lived in ("/twilio/media", "/events"):
        assert paths[long_lived][1]["timeouts"]["request"] == "0s", long_lived
    (sse_filter,) = paths["/events"][1]["filters"]
    assert {"name": "X-Accel-Buffering", "value": "no"} in sse_filter["responseHeaderModifier"]["set"]
    # Operational endpoints never reach a pod from outside.
    for internal in ("/healthz", "/readyz", "/metrics"):
        (redirect,) = paths[internal][1]["filters"]
        assert redirect["type"] == "RequestRedirect", internal
    # Twilio's routes are exact: nothing else of ingress or bridge is public.
    twilio = by_kind(base, "HTTPRoute")["fixline-twilio"]["spec"]
    assert {m["path"]["type"] for r in twilio["rules"] for m in r["matches"]} == {"Exact"}
    # PUBLIC_BASE_URL (what Twilio signs and dials) is the Twilio route's hostname.
    public = by_kind(base, "ConfigMap")["fixline-config"]["data"]["PUBLIC_BASE_URL"]
    assert public == "https://" + twilio["hostnames"][0]


def test_keda_scaled_objects(rendered):
    docs = rendered["base+keda"]
    deployments = by_kind(docs, "Deployment")
    scaled = by_kind(docs, "ScaledObject")
    assert sorted(scaled) == ["outreach", "tools"]
    streams = {subjects.EVENTS_STREAM, subjects.CALLS_STREAM}
    for name, so in scaled.items():
        spec = so["spec"]
        assert spec["scaleTargetRef"]["name"] in deployments
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        # KEDA owns the HPA of what it scales: never both.
        assert name not in by_kind(docs, "HorizontalPodAutoscaler")
        # Which consumers exist is checked against the code in test_manifests_vs_code.
        for t in [t for t in spec["triggers"] if t["type"] == "nats-jetstream"]:
            host, _, port = t["metadata"]["natsServerMonitoringEndpoint"].partition(":")
            assert host.split(".")[0].endswith("-headless") and port == "8222", name
            assert t["metadata"]["stream"] in streams and t["metadata"]["consumer"], name
            assert int(t["metadata"]["lagThreshold"]) > 0
    # Until outreach gives replicas distinct DBOS executor ids, it must stay single.
    assert scaled["outreach"]["spec"]["maxReplicaCount"] == 1
    assert deployments["outreach"]["spec"]["strategy"]["type"] == "Recreate"


def test_cloudnativepg_cluster(rendered):
    docs = rendered["postgres"]
    (cluster,) = by_kind(docs, "Cluster").values()
    spec = cluster["spec"]
    assert spec["instances"] >= 3
    assert "-standard-" in spec["imageName"]   # the standard images bundle pgvector
    assert spec["storage"]["size"]
    assert spec["bootstrap"]["initdb"]["database"] == "fixline"
    databases = by_kind(docs, "Database").values()
    assert all(d["spec"]["cluster"]["name"] == cluster["metadata"]["name"] for d in databases)
    assert any({"name": "vector", "ensure": "present"} in d["spec"].get("extensions", [])
               and d["spec"]["name"] == "fixline" for d in databases)
    assert not by_kind(docs, "Pooler"), "no transaction pooler (LISTEN, session SET, advisory locks)"
    # The Secret template's URL points at the primary's service.
    (template,) = [d for p, d in all_raw_docs() if p.name == "secret.example.yaml"]
    assert f'@{cluster["metadata"]["name"]}-rw.' in template["stringData"]["DATABASE_URL"]


def test_nats_values_and_urls(configmaps):
    values = yaml.safe_load((K8S / "nats" / "values.yaml").read_text())
    assert values["config"]["cluster"]["enabled"] is True and values["config"]["cluster"]["replicas"] == 3
    assert values["config"]["nats"]["tls"]["enabled"] and values["config"]["cluster"]["tls"]["enabled"]
    assert values["config"]["jetstream"]["enabled"] is True
    assert values["config"]["jetstream"]["fileStore"]["pvc"]["size"]
    assert values["config"]["monitor"]["enabled"] is True
    assert configmaps["fixline-config"]["data"]["NATS_URL"] == "tls://nats.nats.svc.cluster.local:4222"


def test_migration_job_runs_once_before_the_rollout(rendered):
    (job,) = by_kind(rendered["migrate"], "Job").values()
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"
    assert job["spec"]["activeDeadlineSeconds"] > 0
    assert "Job" not in {d["kind"] for d in rendered["base"]}


# ---------------------------------------------------------------- the checks can fail

def test_policy_checks_catch_broken_manifests(base, configmaps, settings_spec):
    bridge = copy.deepcopy(by_kind(base, "Deployment")["bridge"])
    pod = bridge["spec"]["template"]["spec"]
    c = pod["containers"][0]
    pod["terminationGracePeriodSeconds"] = 600
    del c["livenessProbe"]
    c["readinessProbe"]["httpGet"]["path"] = "/metrics"
    c["startupProbe"]["httpGet"]["port"] = 9999
    c["command"] = ["python", "-m", "services.bridges"]
    c["env"].append({"name": "DRAIN_TIMEOUT", "value": "840"})
    c["securityContext"]["readOnlyRootFilesystem"] = False
    pod["enableServiceLinks"] = True
    docs = [bridge]
    assert any("terminationGracePeriodSeconds 600" in v for v in check_grace_periods(docs, configmaps, settings_spec))
    assert any("no livenessProbe" in v for v in check_probes_and_resources(docs))
    probe_violations = check_probe_targets(docs, configmaps, settings_spec)
    assert any("/metrics" in v for v in probe_violations)
    assert any("9999" in v for v in probe_violations)
    assert any("services.bridges does not exist" in v for v in check_commands(docs))
    assert any("DRAIN_TIMEOUT is not a setting" in v for v in check_env_names(docs, settings_spec))
    security = check_security(docs)
    assert any("readOnlyRootFilesystem" in v for v in security)
    assert any("enableServiceLinks" in v for v in security)
    # A drain that outgrows the grace period through the ConfigMap alone is caught too.
    other = copy.deepcopy(by_kind(base, "Deployment")["ingress"])
    other["spec"]["template"]["spec"]["containers"][0]["env"] = [
        e for e in other["spec"]["template"]["spec"]["containers"][0]["env"] if e["name"] != "DRAIN_TIMEOUT_S"]
    assert check_grace_periods([other], configmaps, settings_spec)  # falls back to the 840 s default


@pytest.mark.parametrize("value", [
    "AIzaSyD4n0tR3al-butL00ksLikeAG00gleKey12",
    "3f5e1b9c2d4a6e8f0a1b2c3d4e5f6a7b",
    "postgresql://fixline:hunter2@db:5432/fixline",
    "",
])
def test_secret_check_rejects_real_looking_values(value):
    doc = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"K": value}}
    assert check_secret_values(doc)
    assert check_secret_values({**doc, "stringData": {}, "data": {"K": "c2VjcmV0"}})


def test_each_service_mounts_only_its_own_nats_key_and_the_ca(base, configmaps):
    """The NKey of a service is its bus role (services/common/bus_permissions.py); a pod that
    could read another service's key could act with that service's permissions."""
    from services.common.bus_permissions import ROLES

    data = configmaps["fixline-config"]["data"]
    assert data["NATS_URL"].startswith("tls://")
    for name, deployment in by_kind(base, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        keys = volumes["nats-credentials"]["secret"]["items"]
        assert [k["key"] for k in keys] == [f"{name}.nk"] and name in ROLES, name
        assert volumes["nats-credentials"]["secret"]["defaultMode"] == 0o440 and pod["securityContext"]["fsGroup"]
        mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert mounts["nats-credentials"] == data["NATS_CREDENTIALS_DIR"], name
        ca = volumes["nats-ca"]["secret"]["items"][0]["path"]
        assert f'{mounts["nats-ca"]}/{ca}' == data["NATS_CA_FILE"], name


def test_every_bridge_call_ends_inside_the_drain_window(base):
    """MAX_CALL_S (with its wrap-up) below DRAIN_TIMEOUT_S below the pod's grace: SIGTERM never cuts a call."""
    from services.common.settings import Settings

    bridge = by_kind(base, "Deployment")["bridge"]
    pod = bridge["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] for e in pod["containers"][0].get("env", []) if "value" in e}
    defaults = Settings(service="bridge")
    max_call = float(env.get("MAX_CALL_S", defaults.max_call_s))
    drain = float(env.get("DRAIN_TIMEOUT_S", defaults.drain_timeout_s))
    wrap_up = float(env.get("CALL_WRAP_UP_S", defaults.call_wrap_up_s))
    assert 0 < wrap_up < max_call < drain < pod["terminationGracePeriodSeconds"]
