"""Knowledge-base ingestion: chunk each article, embed the chunks whose text changed,
upsert one row per (article, model, chunk). Idempotent: a re-run embeds nothing new.

``python -m services.tools.kb [--provider local|gemini]`` (``make kb``)."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from services.common import db
from services.common.settings import Settings

from .embeddings import Embedder, make_embedder

log = logging.getLogger(__name__)
MAX_CHUNK_CHARS = 900  # MiniLM reads 256 tokens (~1000 characters of English)
EMBED_BATCH = 32
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Chunk:
    article_id: str
    property_id: str
    index: int
    passage: str        # what the agent reads out
    embedded_text: str  # what the model sees: the title gives every chunk its topic

    @property
    def sha(self) -> str:
        return hashlib.sha256(self.embedded_text.encode()).hexdigest()


@dataclass
class IngestReport:
    model: str
    articles: int = 0
    chunks: int = 0
    embedded: int = 0
    unchanged: int = 0
    removed: int = 0
    seconds: float = 0.0


def split_passages(body: str, max_chars: int = MAX_CHUNK_CHARS) -> list[str]:
    """Whole sentences packed into passages of at most ``max_chars`` (a longer sentence stands alone)."""
    passages: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(body.strip()):
        if current and len(current) + 1 + len(sentence) > max_chars:
            passages.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        passages.append(current)
    return passages or [body.strip()]


def chunk_article(article: asyncpg.Record | dict[str, str]) -> list[Chunk]:
    return [Chunk(article["id"], article["property_id"], i, passage, f"{article['title']}. {passage}")
            for i, passage in enumerate(split_passages(article["body"]))]


async def ingest(conn: asyncpg.Connection, embedder: Embedder,
                 progress: Callable[[int, int], None] | None = None) -> IngestReport:
    started = time.monotonic()
    report = IngestReport(model=embedder.model)
    articles = await conn.fetch("SELECT id, property_id, title, body FROM kb_articles ORDER BY id")
    chunks = [chunk for article in articles for chunk in chunk_article(article)]
    stored = {(r["article_id"], r["chunk"]): r["content_sha"] for r in await conn.fetch(
        "SELECT article_id, chunk, content_sha FROM kb_embeddings WHERE model = $1", embedder.model)}
    stale = [c for c in chunks if stored.get((c.article_id, c.index)) != c.sha]
    report.articles, report.chunks, report.unchanged = len(articles), len(chunks), len(chunks) - len(stale)
    for start in range(0, len(stale), EMBED_BATCH):
        batch = stale[start:start + EMBED_BATCH]
        vectors = await embedder.embed_documents([c.embedded_text for c in batch])
        await _upsert(conn, embedder, batch, vectors)
        report.embedded += len(batch)
        if progress:
            progress(report.embedded, len(stale))
    report.removed = await _remove_surplus_chunks(conn, embedder.model, chunks)
    report.seconds = time.monotonic() - started
    return report


async def _upsert(conn: asyncpg.Connection, embedder: Embedder, chunks: list[Chunk],
                  vectors: list[list[float]]) -> None:
    await conn.executemany(
        "INSERT INTO kb_embeddings (article_id, model, chunk, property_id, content, content_sha, dims, embedding)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (article_id, model, chunk) DO UPDATE SET property_id = excluded.property_id,"
        " content = excluded.content, content_sha = excluded.content_sha, dims = excluded.dims,"
        " embedding = excluded.embedding",
        [(c.article_id, embedder.model, c.index, c.property_id, c.passage, c.sha, embedder.dims, v)
         for c, v in zip(chunks, vectors, strict=True)])


async def _remove_surplus_chunks(conn: asyncpg.Connection, model: str, chunks: list[Chunk]) -> int:
    """Drop rows of chunks that no longer exist (an article got shorter)."""
    status = await conn.execute(
        "DELETE FROM kb_embeddings e WHERE e.model = $1 AND NOT EXISTS ("
        " SELECT 1 FROM unnest($2::text[], $3::int[]) AS k(article_id, chunk)"
        " WHERE k.article_id = e.article_id AND k.chunk = e.chunk)",
        model, [c.article_id for c in chunks], [c.index for c in chunks])
    return int(status.split()[-1])


def _print_progress(done: int, total: int) -> None:
    print(f"[kb] embedded {done}/{total} chunks", file=sys.stderr, flush=True)


async def run(provider: str | None) -> IngestReport:
    settings = Settings.from_env("tools")
    if provider:
        settings = Settings(**{**settings.__dict__, "embedding_provider": provider})
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is not set (start the stack with `make run`, or point it at PostgreSQL)")
    embedder = make_embedder(settings)
    pool = await db.create_pool(settings.database_url, settings.db_statement_cache_size, max_size=2)
    try:
        async with pool.acquire() as conn:
            return await ingest(conn, embedder, _print_progress)
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.tools.kb", description=__doc__)
    parser.add_argument("--provider", choices=["local", "gemini"], help="default: EMBEDDING_PROVIDER / auto")
    args = parser.parse_args(argv)
    report = asyncio.run(run(args.provider))
    print(f"[kb] model {report.model}: {report.articles} articles, {report.chunks} chunks, "
          f"{report.embedded} embedded, {report.unchanged} unchanged, {report.removed} removed "
          f"in {report.seconds:.2f}s", flush=True)


if __name__ == "__main__":
    main()
