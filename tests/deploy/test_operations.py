"""What a platform engineer relies on: scraping and alerts on metrics the code really registers,
PostgreSQL backups, a default-deny network with the allows the code needs (and no more), and
pods spread over zones."""

from __future__ import annotations

import importlib
import re

import pytest
import yaml
from aiohttp import web
from prometheus_client import CollectorRegistry

from services.common.outbox import OutboxRelay
from services.common.runtime import Runtime
from services.common.settings import Settings

from .manifests import by_kind, containers
from .netpol import Endpoint, allowed, pod_of, selects

SERVICES = {"ingress": "IngressService", "bridge": "BridgeService", "tools": "ToolsService",
            "notifier": "NotifierService", "outreach": "OutreachService"}
OUR_PREFIXES = ("bridge_", "ingress_", "notifier_", "fixline_", "outbox_")
# Metrics of Prometheus itself, kube-state-metrics and the CloudNativePG instance manager.
EXTERNAL_METRICS = {"up", "kube_pod_status_ready", "cnpg_collector_up"}
PROMQL_WORDS = {"sum", "max", "min", "avg", "count", "by", "without", "on", "ignoring", "and", "or", "unless",
                "increase", "rate", "delta", "absent", "clamp_min", "clamp_max", "bool", "group_left",
                "group_right", "humanizePercentage", "humanizeDuration"}


def _service(name: str):
    return getattr(importlib.import_module(f"services.{name}.app"), SERVICES[name])()


@pytest.fixture(scope="module")
def code_metrics() -> set[str]:
    """Sample names every service's registry can expose (setup registers them; the outbox relay
    registers its own when it starts)."""
    names: set[str] = set()
    registries = []
    for name in SERVICES:
        rt = Runtime(settings=Settings(service=name), web=web.Application())
        _service(name).setup(rt)
        registries.append(rt.registry)
    relay_registry = CollectorRegistry()
    OutboxRelay(None, type("NoNats", (), {"jetstream": lambda self, timeout: None})(), relay_registry)
    registries.append(relay_registry)
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""],
                "summary": ["_sum", "_count", ""]}
    for registry in registries:
        for family in registry.collect():
            names |= {family.name + s for s in suffixes.get(family.type, [""])}
    return names


@pytest.fixture(scope="module")
def monitoring(rendered) -> list[dict]:
    return rendered["base"]


def metric_names(expr: str) -> set[str]:
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", expr)
    return {t for t in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", expr) if t not in PROMQL_WORDS}


def custom_query_metrics(rendered) -> set[str]:
    cm = by_kind(rendered["postgres"], "ConfigMap")["fixline-pg-monitoring"]
    names = set()
    for query, spec in yaml.safe_load(cm["data"]["queries"]).items():
        for column in spec["metrics"]:
            (col, meta), = column.items()
            if meta["usage"] in ("GAUGE", "COUNTER"):
                names.add(f"cnpg_{query}_{col}")
    return names


def test_alert_rules_use_metrics_that_exist(monitoring, rendered, code_metrics):
    (rule,) = by_kind(monitoring, "PrometheusRule").values()
    alerts = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
    known = code_metrics | custom_query_metrics(rendered) | EXTERNAL_METRICS
    used = set()
    for name, alert in alerts.items():
        names = metric_names(alert["expr"])
        assert names, name
        assert names <= known, f"{name}: {names - known} is not a metric anything exports"
        used |= names
    # The failures that matter each have an alert.
    for needed in ("bridge_active_calls", "bridge_gemini_reconnects_total", "fixline_outbox_lag_seconds",
                   "cnpg_collector_up", "cnpg_fixline_dbos_workflows_count", "kube_pod_status_ready", "up"):
        assert needed in used, needed


def test_the_metric_check_can_fail(code_metrics):
    assert "bridge_active_calls" in code_metrics and "outbox_backlog" in code_metrics
    assert "bridge_active_call" not in code_metrics
    assert metric_names('sum(increase(bridge_calls_total{outcome="x"}[5m])) by (pod) > 0') == {"bridge_calls_total"}


def test_every_service_and_the_database_are_scraped(monitoring, rendered):
    monitors = by_kind(monitoring, "PodMonitor")
    for deployment in by_kind(monitoring, "Deployment").values():
        pod = pod_of(deployment)
        hits = [m for m in monitors.values() if selects(m["spec"]["selector"], pod.labels)]
        assert hits, f"{pod.name} is not scraped"
        for monitor in hits:
            for endpoint in monitor["spec"]["podMetricsEndpoints"]:
                assert endpoint["port"] in pod.ports and endpoint.get("path", "/metrics") == "/metrics"
    (cluster,) = by_kind(rendered["postgres"], "Cluster").values()
    assert any(m["spec"]["selector"].get("matchLabels") == {"cnpg.io/cluster": cluster["metadata"]["name"]}
               for m in monitors.values())
    # The bridge HPA's metric is one the code registers and a PodMonitor collects.
    hpa = by_kind(monitoring, "HorizontalPodAutoscaler")["bridge"]
    assert hpa["spec"]["metrics"][0]["pods"]["metric"]["name"] == "bridge_active_calls"


def test_postgres_is_backed_up_continuously(rendered):
    docs = rendered["postgres"]
    (cluster,) = by_kind(docs, "Cluster").values()
    (store,) = by_kind(docs, "ObjectStore").values()
    (scheduled,) = by_kind(docs, "ScheduledBackup").values()
    (plugin,) = cluster["spec"]["plugins"]
    assert plugin["isWALArchiver"] is True                              # point-in-time recovery
    assert plugin["parameters"]["barmanObjectName"] == store["metadata"]["name"]
    assert scheduled["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
    assert scheduled["spec"]["method"] == "plugin"
    assert scheduled["spec"]["pluginConfiguration"]["name"] == plugin["name"]
    assert len(scheduled["spec"]["schedule"].split()) == 6                # CNPG: seconds first
    assert re.fullmatch(r"\d+[dwm]", store["spec"]["retentionPolicy"])
    assert "REPLACE_ME" in store["spec"]["configuration"]["destinationPath"]


def test_zone_spread(monitoring):
    deployments = by_kind(monitoring, "Deployment")
    for name in ("bridge", "tools", "notifier"):
        spread = deployments[name]["spec"]["template"]["spec"]["topologySpreadConstraints"]
        zone = [c for c in spread if c["topologyKey"] == "topology.kubernetes.io/zone"]
        assert zone and zone[0]["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": name}, name


# ---------------------------------------------------------------- network policies

NATS = Endpoint("nats", "nats", {"app.kubernetes.io/name": "nats"}, {"nats": 4222})
PG = Endpoint("fixline-pg-1", "fixline", {"cnpg.io/cluster": "fixline-pg"},
              {"postgresql": 5432, "metrics": 9187, "status": 8000})
DNS = Endpoint("coredns", "kube-system", {"k8s-app": "kube-dns"}, {"dns": 53})
GATEWAY = Endpoint("envoy", "gateway-system", {"app": "envoy"})
PROMETHEUS = Endpoint("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"})
OPERATOR = Endpoint("cnpg-operator", "cnpg-system", {"app.kubernetes.io/name": "cloudnative-pg"})
INTERNET = Endpoint("api.twilio.com", ip="54.172.60.1")
CLUSTER_IP = Endpoint("some-internal-address", ip="10.96.0.10")
# Who calls out over HTTPS: Twilio REST (ingress dials, bridge transfers), Gemini (bridge,
# tools embeddings, outreach analysis), Google Calendar (tools). notifier never does.
NEEDS_INTERNET = {"ingress", "bridge", "tools", "outreach"}


@pytest.fixture(scope="module")
def network(rendered):
    docs = rendered["base"] + rendered["postgres"] + rendered["migrate"]
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    pods = {d["metadata"]["name"]: pod_of(d) for d in docs if d["kind"] in ("Deployment", "Job")}
    return policies, pods


def test_network_allows_what_the_code_needs(network, rendered):
    policies, pods = network
    services = {name: pods[name] for name in SERVICES}
    for name, pod in services.items():
        assert allowed(policies, pod, NATS, 4222), f"{name} -> NATS"
        assert allowed(policies, pod, DNS, 53, "UDP"), f"{name} -> DNS"
        assert allowed(policies, PROMETHEUS, pod, pod.ports["http"]), f"Prometheus -> {name}"
        assert allowed(policies, pod, PG, 5432) == _service(name).needs_database, f"{name} -> PostgreSQL"
        assert allowed(policies, pod, INTERNET, 443) == (name in NEEDS_INTERNET), f"{name} -> internet"
    job = next(p for n, p in pods.items() if n.endswith("migrate"))
    assert allowed(policies, job, PG, 5432)
    # The Gateway reaches exactly the backends of the HTTPRoutes.
    k8s_services = by_kind(rendered["base"], "Service")
    backends = {b["name"] for r in by_kind(rendered["base"], "HTTPRoute").values()
                for rule in r["spec"]["rules"] for b in rule.get("backendRefs", [])}
    for name, pod in services.items():
        port = pod.ports[k8s_services[name]["spec"]["ports"][0]["targetPort"]]
        assert allowed(policies, GATEWAY, pod, port) == (name in backends), f"gateway -> {name}"
    # The database's own traffic: replication, operator, metrics.
    assert allowed(policies, PG, PG, 5432)
    assert allowed(policies, OPERATOR, PG, 8000)
    assert allowed(policies, PROMETHEUS, PG, 9187)


def test_network_denies_everything_else(network):
    policies, pods = network
    for name in SERVICES:
        pod = pods[name]
        assert not allowed(policies, pod, CLUSTER_IP, 443), f"{name} -> cluster-internal 443"
        assert not allowed(policies, pod, INTERNET, 80), f"{name} -> internet:80"
        assert not allowed(policies, INTERNET, pod, pod.ports["http"]), f"internet -> {name} directly"
        for other in SERVICES:
            if other != name:
                target = pods[other]
                assert not allowed(policies, pod, target, target.ports["http"]), f"{name} -> {other}"
    assert not allowed(policies, GATEWAY, PG, 5432)
    assert not allowed(policies, pods["bridge"], PG, 5432)


def test_the_evaluator_can_say_no():
    deny = {"metadata": {"name": "d", "namespace": "fixline"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
    a = Endpoint("a", "fixline", {"x": "1"}, {"http": 80})
    assert allowed([], a, NATS, 4222)
    assert not allowed([deny], a, NATS, 4222)
    assert not allowed([deny], GATEWAY, a, 80)


def test_containers_declare_the_port_the_policies_name(network):
    _, pods = network
    for name in SERVICES:
        assert "http" in pods[name].ports, name
