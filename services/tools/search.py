"""search_maintenance: embed the caller's words, nearest KB chunks of that property.

Two plans, picked by how many chunks the property has:
- up to EXACT_SCAN_MAX_CHUNKS (every real property KB): the (model, property_id) btree and an
  exact distance sort - recall 1.0, well under a millisecond for a few thousand chunks. HNSW
  with a selective property filter is slower and loses recall (bench/tools_bench.py);
- above it: the model's partial HNSW expression index with relaxed iterative scans.
The SQL names the model and the dimension as literals so PostgreSQL can match the partial
index (a bound parameter cannot match an index predicate in a generic plan). Both come
from code, never from the request."""

from __future__ import annotations

import logging
import time

import asyncpg

from fixline_proto.tools import SearchHit, SearchMaintenance, SearchResults

from .context import ToolContext
from .embeddings import EmbeddingError
from .embeddings.base import MODEL_NAME
from .incidents import require_property

log = logging.getLogger(__name__)
CANDIDATES_PER_HIT = 4  # several chunks of one article may come first; dedupe to articles
EF_SEARCH = 40
EXACT_SCAN_MAX_CHUNKS = 5000
SIZE_CACHE_TTL_S = 300.0
_sizes: dict[tuple[str, str], tuple[float, int]] = {}

FTS_SQL = """
WITH q AS (SELECT NULLIF(replace(plainto_tsquery('english', $2)::text, '&', '|'), '')::tsquery AS tq)
SELECT a.id AS article_id, a.title, a.body AS content,
       ts_rank_cd(to_tsvector('english', a.title || '. ' || a.body), q.tq) AS score
FROM kb_articles a, q
WHERE a.property_id = $1 AND q.tq IS NOT NULL
  AND to_tsvector('english', a.title || '. ' || a.body) @@ q.tq
ORDER BY score DESC, a.id LIMIT $3
"""


def vector_sql(model: str, dims: int, exact: bool = False) -> str:
    if not MODEL_NAME.match(model) or not 0 < int(dims) <= 2000:
        raise ValueError(f"unsafe model name or dimension: {model!r} {dims!r}")
    vec = f"vector({int(dims)})"
    # The index is on embedding::vector(N); the bare column does not match it, so the exact
    # form is planned on the btree. MATERIALIZED + outer ORDER BY: relaxed_order iterative
    # scans may return slightly out of order.
    column = "embedding" if exact else f"embedding::{vec}"
    return f"""
WITH nearest AS MATERIALIZED (
  SELECT article_id, content, {column} <=> $1::{vec} AS distance
  FROM kb_embeddings
  WHERE model = '{model}' AND property_id = $2
  ORDER BY distance LIMIT $3)
SELECT n.article_id, a.title, n.content, 1 - n.distance AS score
FROM nearest n JOIN kb_articles a ON a.id = n.article_id
ORDER BY n.distance
"""


async def property_chunks(conn: asyncpg.Connection, model: str, property_id: str) -> int:
    """Chunks of this model at this property (cached: KBs change rarely)."""
    key, now = (model, property_id), time.monotonic()
    cached = _sizes.get(key)
    if cached and now - cached[0] < SIZE_CACHE_TTL_S:
        return cached[1]
    count: int = await conn.fetchval("SELECT count(*) FROM kb_embeddings WHERE model = $1 AND property_id = $2",
                                model, property_id)
    if count:  # an empty KB may be embedding right now: ask again next time
        _sizes[key] = (now, count)
    return count


async def nearest_chunks(conn: asyncpg.Connection, model: str, dims: int, vector: list[float],
                         property_id: str, candidates: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record]
    if await property_chunks(conn, model, property_id) <= EXACT_SCAN_MAX_CHUNKS:
        rows = await conn.fetch(vector_sql(model, dims, exact=True), vector, property_id, candidates)
        return rows
    # Session settings; asyncpg's pool runs RESET ALL when the connection is released.
    await conn.execute(f"SET hnsw.iterative_scan = relaxed_order; SET hnsw.ef_search = {EF_SEARCH}")
    rows = await conn.fetch(vector_sql(model, dims), vector, property_id, candidates)
    return rows


def best_per_article(rows: list[asyncpg.Record], limit: int) -> list[SearchHit]:
    hits: dict[str, SearchHit] = {}
    for row in rows:
        if row["article_id"] not in hits:
            hits[row["article_id"]] = SearchHit(article_id=row["article_id"], title=row["title"],
                                                passage=row["content"], score=round(float(row["score"]), 4))
    return list(hits.values())[:limit]


async def search_maintenance(ctx: ToolContext, req: SearchMaintenance) -> SearchResults:
    embedder = ctx.embedder
    async with ctx.pool.acquire() as conn:
        await require_property(conn, req.property_id)
    try:
        vector = await embedder.embed_query(req.query)
    except EmbeddingError as exc:
        log.warning("query embedding failed; answering from full-text search", extra={"error": str(exc)})
        return await _full_text(ctx, req, "fts-fallback")
    async with ctx.pool.acquire() as conn:
        rows = await nearest_chunks(conn, embedder.model, embedder.dims, vector, req.property_id,
                                    req.limit * CANDIDATES_PER_HIT)
    if not rows:  # KB not embedded for this model yet
        return await _full_text(ctx, req, "fts")
    return SearchResults(hits=best_per_article(rows, req.limit), model=embedder.model)


async def _full_text(ctx: ToolContext, req: SearchMaintenance, label: str) -> SearchResults:
    """OR-ed lexemes (plainto_tsquery alone ANDs every word and matches almost nothing)."""
    async with ctx.pool.acquire() as conn:
        rows = await conn.fetch(FTS_SQL, req.property_id, req.query, req.limit)
    return SearchResults(hits=best_per_article(rows, req.limit), model=label)
