"""Tools service: tool round trip over NATS vs a bare echo, and pgvector search at 100k chunks.

    python -m bench.tools_bench [--requests N] [--concurrency N] [--max-in-flight N] [--chunks N] [--json]

Round trip : a client on its own connection sends requests to the real ToolsService
             (nats.micro, PostgreSQL with fsync on) and, in the same run, to a bare
             nats.micro echo endpoint with the same payload. Overhead = tool - echo.
Concurrent : create_incident, each on a fresh guest call, ``--concurrency`` requests in flight
             at all times: per-request latency and throughput. ``--max-in-flight 1`` makes the
             server take one request at a time, as awaiting the work in the nats.micro handler
             would (nats.py runs an endpoint's handler one message at a time).
Search     : (skipped with --chunks 0) N synthetic clustered 384-d chunks (MiniLM's dimension) are COPYed into
             kb_embeddings - half for one huge property, half spread over 99 ordinary
             ones - the model's partial HNSW index is built, then the service's own
             query (services.tools.search.nearest_chunks) runs scoped to a property:
             ordinary properties take the exact btree path, the huge one the HNSW
             path. Embedding time excluded. Recall@5 against an exact numpy ranking.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid

import asyncpg
import msgspec
import nats
import numpy as np
from nats.micro import add_service

from fixline.db.migrate import ensure_database, migrate
from fixline.db.seed import seed
from fixline.devstack import DevStack, harness
from tests.tools.call_rows import insert_call
from fixline_proto import subjects
from services.common import db
from services.common.runtime import serve
from services.common.settings import Settings
from services.tools.app import ToolsService
from services.tools.embeddings.local import DIMS, MODEL_ID
from services.tools.search import nearest_chunks, vector_sql

PROPERTIES = 100  # bench-000 is the huge one
CLUSTERS = 1000
WARMUP = 200


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ms = np.array(samples_s) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 3), "p99_ms": round(float(np.percentile(ms, 99)), 3),
            "mean_ms": round(float(ms.mean()), 3)}


async def _timed(nc, subject: str, bodies: list[bytes]) -> list[float]:
    for body in bodies[:WARMUP]:
        await nc.request(subject, body, timeout=5)
    samples = []
    for body in bodies[WARMUP:]:
        started = time.perf_counter()
        await nc.request(subject, body, timeout=5)
        samples.append(time.perf_counter() - started)
    return samples


async def _concurrent(nc, subject: str, bodies: list[bytes], concurrency: int) -> dict[str, float]:
    """``concurrency`` requests in flight at all times; each one's latency, and the throughput."""
    pending = iter(bodies)
    samples: list[float] = []

    async def client() -> None:
        for body in pending:
            started = time.perf_counter()
            await nc.request(subject, body, timeout=30)
            samples.append(time.perf_counter() - started)
    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return {**percentiles(samples), "per_s": round(len(samples) / (time.perf_counter() - started), 1)}


async def _guest_creates(pool, n: int) -> list[bytes]:
    calls = [await insert_call(pool, property_id="p3") for _ in range(n)]
    return [msgspec.json.encode({"property_id": "p3", "category": "other", "severity": "low",
                                 "description": f"bench {i}", "call_id": call_id}) for i, call_id in enumerate(calls)]


async def _echo_service(nc) -> None:
    async def echo(request) -> None:
        await request.respond(request.data)
    service = await add_service(nc, name="bench-echo", version="1.0.0")
    await service.add_group(name="bench").add_endpoint(name="echo", handler=echo)
    await nc.flush()


async def _round_trips(url: str, stack: DevStack, n: int, concurrency: int,
                       max_in_flight: int) -> dict[str, dict[str, float]]:
    nats_url = stack.nats_url
    settings = Settings(service="tools", database_url=url, nats_url=nats_url, http_port=0, kb_embed_on_start=False,
                        drain_timeout_s=10, nats_credentials_dir=stack.nats_credentials_dir,
                        tools_max_in_flight=max_in_flight)
    stopping, started = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(ToolsService(), settings, stopping=stopping, started=started))
    await asyncio.wait_for(started.wait(), 30)
    server_nc = await nats.connect(nats_url, **harness(stack).options())
    client = await nats.connect(nats_url, **harness(stack).options())
    try:
        await _echo_service(server_nc)
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        guest_p1, guest_p2 = await insert_call(pool, property_id="p1"), await insert_call(pool, property_id="p2")
        concurrent_creates = await _guest_creates(pool, n // 2)
        await pool.close()
        created = msgspec.json.decode((await client.request(subjects.tool("create_incident"), msgspec.json.encode(
            {"property_id": "p1", "category": "plumbing", "severity": "low", "description": "bench",
             "call_id": guest_p1}))).data)
        noop = msgspec.json.encode({"incident_id": created["incident_id"], "status": "open", "call_id": guest_p1})
        results = {"nats_echo": percentiles(await _timed(client, "bench.echo", [noop] * (n + WARMUP))),
                   "tool_status_read": percentiles(await _timed(
                       client, subjects.tool("update_incident_status"), [noop] * (n + WARMUP)))}
        creates = [msgspec.json.encode({"property_id": "p2", "category": "other", "severity": "low",
                                        "description": f"bench {i}", "call_id": guest_p2})
                   for i in range(n // 2 + WARMUP)]
        results["tool_create_incident"] = percentiles(await _timed(client, subjects.tool("create_incident"), creates))
        results[f"create_incident_x{concurrency}"] = await _concurrent(
            client, subjects.tool("create_incident"), concurrent_creates, concurrency)
        for name in ("tool_status_read", "tool_create_incident"):
            results[name]["overhead_p50_ms"] = round(results[name]["p50_ms"] - results["nats_echo"]["p50_ms"], 3)
        return results
    finally:
        await server_nc.close()
        await client.close()
        stopping.set()
        await task


def _clustered(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    centres = rng.standard_normal((CLUSTERS, DIMS)).astype(np.float32)
    labels = rng.integers(0, CLUSTERS, n)
    vectors = centres[labels] + 0.35 * rng.standard_normal((n, DIMS)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors, centres


async def _load_chunks(conn: asyncpg.Connection, vectors: np.ndarray) -> tuple[list[str], float, float]:
    n = len(vectors)
    props = [f"bench-{i:03d}" for i in range(PROPERTIES)]
    owners = [props[0] if i % 2 == 0 else props[1 + (i // 2) % (PROPERTIES - 1)] for i in range(n)]
    await conn.copy_records_to_table("properties", records=[(p, p) for p in props], columns=["id", "name"])
    await conn.copy_records_to_table("kb_articles", records=[(f"bench-a{i}", owners[i], "t", "b") for i in range(n)],
                                     columns=["id", "property_id", "title", "body"])
    await conn.execute("DROP INDEX kb_embeddings_minilm_hnsw")
    started = time.perf_counter()
    await conn.copy_records_to_table(
        "kb_embeddings", columns=["article_id", "model", "chunk", "property_id", "content", "content_sha", "dims",
                                  "embedding"],
        records=[(f"bench-a{i}", MODEL_ID, 0, owners[i], "passage", "sha", DIMS, vectors[i]) for i in range(n)])
    copy_s = time.perf_counter() - started
    await conn.execute("SET maintenance_work_mem = '1GB'; SET max_parallel_maintenance_workers = 1")
    started = time.perf_counter()
    await conn.execute("CREATE INDEX kb_embeddings_minilm_hnsw ON kb_embeddings USING hnsw"
                       f" ((embedding::vector({DIMS})) vector_cosine_ops) WHERE model = '{MODEL_ID}'", timeout=900)
    await conn.execute("ANALYZE kb_embeddings", timeout=300)
    return owners, copy_s, time.perf_counter() - started


async def _queries(pool, vectors, centres, owners_arr, props: list[str], queries: int, rng) -> dict:
    samples, recalls = [], []
    for q in range(queries + WARMUP):
        prop = props[rng.integers(len(props))]
        query = centres[rng.integers(CLUSTERS)] + 0.35 * rng.standard_normal(DIMS).astype(np.float32)
        query /= np.linalg.norm(query)
        async with pool.acquire() as conn:
            started = time.perf_counter()
            rows = await nearest_chunks(conn, MODEL_ID, DIMS, query, prop, 5)
            elapsed = time.perf_counter() - started
        if q < WARMUP:
            continue
        samples.append(elapsed)
        mine = np.flatnonzero(owners_arr == prop)
        exact = {f"bench-a{i}" for i in mine[np.argsort(-(vectors[mine] @ query))[:5]]}
        recalls.append(len(exact & {r["article_id"] for r in rows}) / 5)
    return {**percentiles(samples), "recall@5": round(float(np.mean(recalls)), 3),
            "chunks_per_property": int(np.sum(owners_arr == props[0]))}


async def _plan_uses_hnsw(pool, property_id: str, exact: bool) -> bool:
    async with pool.acquire() as conn:
        await conn.execute("SET hnsw.iterative_scan = relaxed_order")
        plan = await conn.fetch("EXPLAIN " + vector_sql(MODEL_ID, DIMS, exact), np.ones(DIMS), property_id, 5)
    return any("kb_embeddings_minilm_hnsw" in r[0] for r in plan)


async def _search(url: str, n: int, queries: int) -> dict[str, object]:
    rng = np.random.default_rng(7)
    vectors, centres = _clustered(n, rng)
    pool = await db.create_pool(url, max_size=2)
    try:
        async with pool.acquire() as conn:
            owners, copy_s, build_s = await _load_chunks(conn, vectors)
        owners_arr = np.array(owners)
        small = [f"bench-{i:03d}" for i in range(1, PROPERTIES)]
        return {"chunks": n, "copy_s": round(copy_s, 2), "hnsw_build_s": round(build_s, 2),
                "ordinary_property_exact": await _queries(pool, vectors, centres, owners_arr, small, queries, rng),
                "huge_property_hnsw": await _queries(pool, vectors, centres, owners_arr, ["bench-000"], queries, rng),
                "exact_plan_uses_hnsw": await _plan_uses_hnsw(pool, "bench-001", exact=True),
                "hnsw_plan_uses_hnsw": await _plan_uses_hnsw(pool, "bench-000", exact=False)}
    finally:
        await pool.close()


async def _run(requests: int, chunks: int, queries: int, concurrency: int, max_in_flight: int) -> dict:
    stack = DevStack.temporary().start(with_harness=True)
    try:
        name = f"fixline_bench_{uuid.uuid4().hex[:8]}"
        await ensure_database(stack.database_url, name)
        url = stack.database_url.rsplit("/", 1)[0] + f"/{name}"
        conn = await asyncpg.connect(url)
        await migrate(conn)
        await seed(conn)
        await conn.close()
        async with await nats.connect(stack.nats_url, **harness(stack).options()) as nc:
            from services.common import bus
            await bus.ensure_streams(nc)
        results = {"round_trip": await _round_trips(url, stack, requests, concurrency, max_in_flight)}
        if chunks:
            results["search_100k"] = await _search(url, chunks, queries)
        return results
    finally:
        stack.stop()


def _print_table(results: dict) -> None:
    print(f"{'round trip over NATS':<28}{'p50 ms':>10}{'p99 ms':>10}{'over echo p50':>16}")
    for name, row in results["round_trip"].items():
        extra = f"{row['per_s']:>10.1f}/s" if "per_s" in row else f"{row.get('overhead_p50_ms', 0):>16.3f}"
        print(f"{name:<28}{row['p50_ms']:>10.3f}{row['p99_ms']:>10.3f}{extra}")
    if "search_100k" not in results:
        return
    s = results["search_100k"]
    print(f"\nsearch: {s['chunks']} chunks x {DIMS}-d; COPY {s['copy_s']} s, HNSW build {s['hnsw_build_s']} s")
    for name in ("ordinary_property_exact", "huge_property_hnsw"):
        row = s[name]
        label = f"{name} ({row['chunks_per_property']})"
        print(f"{label:<40}{row['p50_ms']:>10.3f}{row['p99_ms']:>10.3f}   recall@5 {row['recall@5']}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.tools_bench", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-in-flight", type=int, default=64, help="TOOLS_MAX_IN_FLIGHT of the server")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = asyncio.run(_run(args.requests, args.chunks, args.queries, args.concurrency, args.max_in_flight))
    print(json.dumps(results, indent=2)) if args.json else _print_table(results)
    return results


if __name__ == "__main__":
    main()
