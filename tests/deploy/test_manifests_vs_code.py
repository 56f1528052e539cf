"""The rendered manifests checked against the code they deploy, not against assumptions: the
services start their setup cleanly with exactly the environment a Deployment gives them, a
service that needs a database gets one, KEDA measures consumers the code really creates, and
the databases CloudNativePG creates are the ones DBOS opens, as a role without CREATEDB."""

from __future__ import annotations

import asyncio
import importlib
import logging
import types
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import yaml
from aiohttp import web

from fixline.devstack import EmbeddedPostgres
from fixline_proto import subjects
from services.common.runtime import Runtime
from services.common.settings import Settings, environment_variables

from .manifests import K8S, all_raw_docs, by_kind, containers

SERVICE_CLASSES = {"ingress": "IngressService", "bridge": "BridgeService", "tools": "ToolsService",
                   "notifier": "NotifierService", "outreach": "OutreachService"}


@pytest.fixture(scope="module")
def deployments(rendered) -> dict[str, dict]:
    return by_kind(rendered["base"], "Deployment")


@pytest.fixture(scope="module")
def secret_template() -> dict:
    (template,) = [d for p, d in all_raw_docs() if p.name == "secret.example.yaml"]
    return template["stringData"]


def service_of(name: str):
    module = importlib.import_module(f"services.{name}.app")
    return getattr(module, SERVICE_CLASSES[name])()


def manifest_env(deployment: dict, configmaps: dict, secrets: dict) -> dict[str, str]:
    """What the container's process sees: ConfigMaps, literal values, required Secret keys."""
    (container,) = containers(deployment)
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(configmaps[source["configMapRef"]["name"]]["data"])
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = entry["value"]
        else:
            ref = entry["valueFrom"]["secretKeyRef"]
            if not ref.get("optional"):
                env[entry["name"]] = secrets[ref["key"]].replace("REPLACE_ME", f"placeholder-{ref['key'].lower()}")
    return env


def settings_from(env: dict[str, str], service: str, monkeypatch) -> Settings:
    for name in environment_variables():
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env(service)


@pytest.fixture
def settings_of(deployments, rendered, secret_template, monkeypatch):
    configmaps = by_kind(rendered["base"], "ConfigMap")

    def build(name: str, env_overrides: dict[str, str] | None = None) -> Settings:
        env = manifest_env(deployments[name], configmaps, secret_template)
        return settings_from({**env, **(env_overrides or {})}, name, monkeypatch)
    return build


# ---------------------------------------------------------------- environment

@pytest.mark.parametrize("name", SERVICE_CLASSES)
def test_a_service_that_needs_a_database_gets_one(name, deployments, rendered, secret_template):
    env = manifest_env(deployments[name], by_kind(rendered["base"], "ConfigMap"), secret_template)
    needs = service_of(name).needs_database
    assert bool(env.get("DATABASE_URL")) == needs, \
        f"{name}: needs_database={needs} but DATABASE_URL is {'set' if env.get('DATABASE_URL') else 'missing'}"


@pytest.mark.parametrize("name", SERVICE_CLASSES)
def test_setup_with_the_manifest_environment_warns_about_nothing(name, settings_of, caplog):
    """A setting the code needs and has no usable default (a secret, a token) is reported at
    setup as a warning or an error; with the Deployment's environment there must be none."""
    settings = settings_of(name)
    service = service_of(name)
    rt = Runtime(settings=settings, web=web.Application())
    service.runtime = rt
    with caplog.at_level(logging.WARNING):
        service.setup(rt)
    complaints = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert complaints == [], f"{name}: {complaints}"


def test_the_environment_check_catches_a_missing_secret(settings_of, caplog):
    settings = settings_of("bridge", {"MEDIA_TOKEN_SECRET": ""})
    rt = Runtime(settings=settings, web=web.Application())
    with caplog.at_level(logging.WARNING):
        service_of("bridge").setup(rt)
    assert any("MEDIA_TOKEN_SECRET is not set" in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------- replicas

def test_autoscaled_deployments_leave_the_replica_count_to_the_autoscaler(rendered):
    for variant in ("base", "base+keda"):
        docs = rendered[variant]
        deployments = by_kind(docs, "Deployment")
        targets = [d["spec"]["scaleTargetRef"]["name"] for d in docs
                   if d["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")]
        assert targets, variant
        for name in targets:
            assert "replicas" not in deployments[name]["spec"], \
                f"{variant}: Deployment {name} is autoscaled but sets replicas (every apply resets it)"


def test_streams_are_replicated_on_the_nats_cluster(rendered):
    import yaml

    values = yaml.safe_load((K8S / "nats" / "values.yaml").read_text())
    data = by_kind(rendered["base"], "ConfigMap")["fixline-config"]["data"]
    assert int(data["NATS_STREAM_REPLICAS"]) == 3
    assert int(data["NATS_STREAM_REPLICAS"]) <= values["config"]["cluster"]["replicas"]


# ---------------------------------------------------------------- KEDA consumers

async def _consumers_the_code_creates(nc, settings_of) -> tuple[set[tuple[str, str]], set[str]]:
    """Every consumer on the streams (other tests' too), and the names outreach's code declares."""
    from services.ingress.dialer import Dialer
    from services.outreach.triggers import IncidentTrigger, ResultRouter

    js = nc.jetstream()
    outreach = settings_of("outreach")
    ctx = types.SimpleNamespace(js=js, settings=outreach)
    outreach_names = set()
    for consumer in (IncidentTrigger(ctx), ResultRouter(ctx)):
        outreach_names.add(consumer.durable)
        sub = await consumer.subscribe()
        await sub.unsubscribe()
    dialer = Dialer(pool=None, client=None, settings=settings_of("ingress"), admission=None, metrics=None)
    dialer.stop()  # declare the durable, fetch nothing: pending DialCalls stay for the real dialers
    await asyncio.wait_for(dialer.run(nc), 10)
    created = set()
    for stream in (subjects.EVENTS_STREAM, subjects.CALLS_STREAM):
        created |= {(stream, info.name) for info in await js.consumers_info(stream)}
    return created, outreach_names


async def test_keda_triggers_name_consumers_the_code_creates(nc, rendered, settings_of):
    triggers = [(so["metadata"]["name"], t["metadata"]["stream"], t["metadata"]["consumer"])
                for so in by_kind(rendered["base+keda"], "ScaledObject").values()
                for t in so["spec"]["triggers"] if t["type"] == "nats-jetstream"]
    assert triggers
    # Durables are never deleted here: that would reset their delivery state for later tests.
    # Other tests may have declared them already; the code below declares them either way.
    created, outreach_names = await _consumers_the_code_creates(nc, settings_of)
    for owner, stream, consumer in triggers:
        assert (stream, consumer) in created, f"ScaledObject {owner}: no consumer {consumer} on {stream}"
    outreach = {c for so, s, c in triggers if so == "outreach"}
    # By name, not by prefix: tests of outreach leave their own per-test consumers on the shared server.
    assert outreach == outreach_names, "every outreach consumer is measured"


# ---------------------------------------------------------------- DBOS system database

@pytest.fixture
def cnpg_like_server(tmp_path: Path, rendered):
    """A PostgreSQL whose roles and databases are those the CloudNativePG manifests create."""
    server = EmbeddedPostgres(tmp_path / "pgdata", fsync=False).start()
    docs = rendered["postgres"]
    (cluster,) = by_kind(docs, "Cluster").values()
    initdb = cluster["spec"]["bootstrap"]["initdb"]
    wanted = {(initdb["database"], initdb["owner"])}
    wanted |= {(d["spec"]["name"], d["spec"]["owner"]) for d in by_kind(docs, "Database").values()}

    async def create() -> None:
        conn = await asyncpg.connect(server.url)
        try:
            for owner in {o for _, o in wanted}:  # CNPG's application role: no CREATEDB, no superuser
                await conn.execute(f'CREATE ROLE "{owner}" LOGIN NOCREATEDB NOSUPERUSER NOCREATEROLE')
            for name, owner in wanted:
                await conn.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')
        finally:
            await conn.close()
    asyncio.run(create())
    yield server
    server.stop()


def _on_server(url: str, server: EmbeddedPostgres) -> str:
    """The template's URL (user, database) pointed at the test server, password dropped."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{server.port}"))


def test_dbos_opens_the_system_database_cloudnativepg_creates(cnpg_like_server, deployments, secret_template,
                                                               settings_of, rendered):
    from services.outreach import engine

    (container,) = containers(deployments["outreach"])
    (ref,) = [e["valueFrom"]["secretKeyRef"]["key"] for e in container["env"] if e["name"] == "DATABASE_URL"]
    url = _on_server(secret_template[ref].replace("REPLACE_ME", "x"), cnpg_like_server)
    settings = settings_of("outreach", {"DATABASE_URL": url,
                                        "OUTREACH_EXECUTOR_ID": f"deploy-check-{uuid.uuid4().hex[:6]}"})
    system_db = urlsplit(engine.system_database_url(settings)).path.lstrip("/")

    queries = yaml.safe_load(by_kind(rendered["postgres"], "ConfigMap")["fixline-pg-monitoring"]["data"]["queries"])

    async def launch_and_stop() -> tuple[list[str], dict[str, list]]:
        engine.launch(settings)  # as the application role; fails if it would have to CREATE DATABASE
        try:
            conn = await asyncpg.connect(engine.system_database_url(settings))
            try:
                tables = [r["table_name"] for r in await conn.fetch(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'dbos'")]
                # The monitoring queries (postgres/monitoring-queries.yaml) run on this database.
                results = {name: await conn.fetch(q["query"]) for name, q in queries.items()
                           if system_db in q["target_databases"]}
                return tables, results
            finally:
                await conn.close()
        finally:
            await engine.shutdown()

    tables, results = asyncio.run(launch_and_stop())
    assert "workflow_status" in tables, f"DBOS did not migrate {system_db}: {tables}"
    assert results, f"no monitoring query targets {system_db}"
    for name, rows in results.items():
        columns = [next(iter(m)) for m in queries[name]["metrics"]]
        assert all(set(columns) <= set(row.keys()) for row in rows), name


# ---------------------------------------------------------------- connection budget

def _max_replicas(name: str, rendered) -> int:
    most = 0
    for variant in ("base", "base+keda"):
        docs = rendered[variant]
        hpa = by_kind(docs, "HorizontalPodAutoscaler").get(name)
        scaled = by_kind(docs, "ScaledObject").get(name)
        deployment = by_kind(docs, "Deployment")[name]
        most = max(most, hpa["spec"]["maxReplicas"] if hpa else
                   scaled["spec"]["maxReplicaCount"] if scaled else deployment["spec"].get("replicas", 1))
    return most


def test_database_connections_fit_at_full_scale(rendered):
    """Direct connections (no pooler): every pod's pool at the autoscalers' maximum, plus DBOS's
    system-database pool, must fit max_connections with room for the operator and superuser."""
    import inspect

    from services.common import db
    from services.outreach import engine

    pool_max = inspect.signature(db.create_pool).parameters["max_size"].default
    worst = {name: _max_replicas(name, rendered) * pool_max for name in SERVICE_CLASSES
             if service_of(name).needs_database}
    worst["outreach"] += _max_replicas("outreach", rendered) * engine.SYS_DB_POOL_SIZE
    worst["migrate"] = 1
    (cluster,) = by_kind(rendered["postgres"], "Cluster").values()
    limit = int(cluster["spec"]["postgresql"]["parameters"]["max_connections"])
    reserved = 3 + 20  # superuser_reserved_connections + CNPG instance manager / exporter headroom
    assert sum(worst.values()) <= limit - reserved, f"{worst} = {sum(worst.values())} > {limit} - {reserved}"
