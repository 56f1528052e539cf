"""KB ingestion: chunking, idempotent upserts keyed by content hash, the CLI."""

import os
import re
import subprocess
import sys
import uuid

from services.tools.embeddings.local import MODEL_ID, LocalMiniLM
from services.tools.kb import chunk_article, ingest, split_passages

EMBEDDER = LocalMiniLM()


def test_passages_keep_whole_sentences_within_the_limit():
    body = " ".join(f"Sentence number {i} says something useful." for i in range(60))
    passages = split_passages(body, max_chars=300)
    assert len(passages) > 5 and all(len(p) <= 300 for p in passages)
    assert " ".join(passages) == body
    assert split_passages("Short body.") == ["Short body."]


def test_each_chunk_is_embedded_with_its_title():
    chunks = chunk_article({"id": "a", "property_id": "p1", "title": "Wi-Fi", "body": "Reset the router."})
    want = [(0, "Reset the router.", "Wi-Fi. Reset the router.")]
    assert [(c.index, c.passage, c.embedded_text) for c in chunks] == want


async def test_ingest_is_idempotent_and_re_embeds_only_changes(tools_service, pool):
    article_id = f"p3-test-{uuid.uuid4().hex[:6]}"
    long_body = " ".join(f"Step {i}: check the sauna heater control panel for a fault light." for i in range(40))
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO kb_articles (id, property_id, title, body) VALUES ($1, 'p3', $2, $3)",
                           article_id, "Sauna heater", long_body)
        try:
            first = await ingest(conn, EMBEDDER)
            chunks = await conn.fetchval("SELECT count(*) FROM kb_embeddings WHERE article_id = $1", article_id)
            assert first.embedded == chunks > 1
            second = await ingest(conn, EMBEDDER)
            assert second.embedded == 0 and second.unchanged == second.chunks
            await conn.execute("UPDATE kb_articles SET body = 'The sauna breaker is number 9.' WHERE id = $1",
                               article_id)
            third = await ingest(conn, EMBEDDER)
            assert third.embedded == 1 and third.removed == chunks - 1
            stored = await conn.fetch("SELECT chunk, content, dims FROM kb_embeddings WHERE article_id = $1"
                                      " AND model = $2", article_id, MODEL_ID)
            assert [tuple(r) for r in stored] == [(0, "The sauna breaker is number 9.", 384)]
        finally:
            await conn.execute("DELETE FROM kb_articles WHERE id = $1", article_id)


def test_cli_reports_progress_and_totals(database_url):
    env = {**os.environ, "DATABASE_URL": database_url, "EMBEDDING_PROVIDER": "local"}
    done = subprocess.run([sys.executable, "-m", "services.tools.kb"], env=env, capture_output=True, text=True,
                          timeout=120, check=True)
    assert re.search(rf"\[kb\] model {MODEL_ID}: \d+ articles, \d+ chunks, 0 embedded, \d+ unchanged", done.stdout)
