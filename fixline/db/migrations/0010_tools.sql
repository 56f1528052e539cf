-- Tools service: per-model HNSW indexes, idempotency keys, lookups.

-- One partial expression index per embedding model: the column is untyped because
-- dimensions differ per model; a query must cast to the same type and filter on the
-- same literal model name to use it (see services/tools/search.py).
CREATE INDEX kb_embeddings_minilm_hnsw ON kb_embeddings
    USING hnsw ((embedding::vector(384)) vector_cosine_ops)
    WHERE model = 'all-MiniLM-L6-v2-int8';
CREATE INDEX kb_embeddings_gemini768_hnsw ON kb_embeddings
    USING hnsw ((embedding::vector(768)) vector_cosine_ops)
    WHERE model = 'gemini-embedding-001@768';

-- A landlord decision recorded twice on the same call (tool retry) is one decision.
CREATE UNIQUE INDEX approval_decisions_call_uidx ON approval_decisions (incident_id, call_id)
    WHERE call_id IS NOT NULL;

-- get_vendor_code: bookings of a vendor at a property; the audit trail by property.
CREATE INDEX repair_bookings_vendor_property_idx ON repair_bookings (vendor_id, property_id, starts_at);
CREATE INDEX access_code_releases_property_idx ON access_code_releases (property_id, at DESC);
