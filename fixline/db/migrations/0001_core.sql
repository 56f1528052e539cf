-- Core schema: properties, people, knowledge base, incidents, calls, outreach, outbox.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE properties (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    address     text NOT NULL DEFAULT '',
    timezone    text NOT NULL DEFAULT 'UTC',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE property_phone_numbers (
    phone_number text PRIMARY KEY,              -- E.164, the number guests dial
    property_id  text NOT NULL REFERENCES properties(id) ON DELETE CASCADE
);

CREATE TABLE landlords (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    phone       text NOT NULL,
    email       text NOT NULL DEFAULT ''
);

CREATE TABLE property_landlords (
    property_id text PRIMARY KEY REFERENCES properties(id) ON DELETE CASCADE,
    landlord_id text NOT NULL REFERENCES landlords(id)
);

CREATE TABLE vendors (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    trade         text NOT NULL,               -- plumbing, electrical, hvac, appliance, locks, ...
    phone         text NOT NULL,
    rating        numeric(2,1) NOT NULL DEFAULT 4.0 CHECK (rating BETWEEN 0 AND 5),
    service_area  text[] NOT NULL DEFAULT '{}'  -- property ids (or areas) the vendor serves
);
CREATE INDEX vendors_trade_idx ON vendors (trade);
CREATE INDEX vendors_phone_idx ON vendors (phone);

CREATE TABLE vendor_access_codes (
    property_id text PRIMARY KEY REFERENCES properties(id) ON DELETE CASCADE,
    code        text NOT NULL,
    rotated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE access_code_releases (
    id          bigserial PRIMARY KEY,
    property_id text NOT NULL REFERENCES properties(id),
    vendor_id   text REFERENCES vendors(id),
    caller_phone text NOT NULL,
    call_id     text,
    granted     boolean NOT NULL,
    reason      text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE kb_articles (
    id          text PRIMARY KEY,
    property_id text NOT NULL REFERENCES properties(id) ON DELETE CASCADE,
    title       text NOT NULL,
    body        text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX kb_articles_property_idx ON kb_articles (property_id);

-- One row per (article, chunk, embedding model): vectors of different models never mix.
-- Dimensions differ per model, so the column is untyped; each model gets its own
-- partial HNSW expression index (see the tools service migrations).
CREATE TABLE kb_embeddings (
    article_id  text NOT NULL REFERENCES kb_articles(id) ON DELETE CASCADE,
    model       text NOT NULL,
    chunk       int  NOT NULL DEFAULT 0,
    property_id text NOT NULL,
    content     text NOT NULL,
    content_sha text NOT NULL,
    dims        int  NOT NULL,
    embedding   vector NOT NULL,
    PRIMARY KEY (article_id, model, chunk)
);
CREATE INDEX kb_embeddings_model_property_idx ON kb_embeddings (model, property_id);

CREATE TABLE incidents (
    id           text PRIMARY KEY,
    property_id  text NOT NULL REFERENCES properties(id),
    category     text NOT NULL,
    severity     text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'emergency')),
    description  text NOT NULL,
    caller_phone text,
    call_id      text,
    status       text NOT NULL DEFAULT 'open',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incidents_property_status_idx ON incidents (property_id, status);
CREATE INDEX incidents_caller_idx ON incidents (property_id, caller_phone, created_at DESC);

CREATE TABLE incident_status_history (
    id           bigserial PRIMARY KEY,
    incident_id  text NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    from_status  text,
    to_status    text NOT NULL,
    note         text NOT NULL DEFAULT '',
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incident_status_history_incident_idx ON incident_status_history (incident_id, at);

CREATE TABLE calls (
    id             text PRIMARY KEY,                -- our call id
    twilio_call_sid text UNIQUE,
    property_id    text REFERENCES properties(id),
    incident_id    text REFERENCES incidents(id),
    call_type      text NOT NULL CHECK (call_type IN ('guest', 'vendor', 'landlord')),
    direction      text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    from_number    text NOT NULL,
    to_number      text NOT NULL,
    vendor_id      text REFERENCES vendors(id),
    landlord_id    text REFERENCES landlords(id),
    status         text NOT NULL DEFAULT 'initiated',
    last_sequence  int  NOT NULL DEFAULT -1,        -- Twilio SequenceNumber seen last
    answered_by    text,
    briefing       text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    ended_at       timestamptz
);
CREATE INDEX calls_incident_idx ON calls (incident_id);

CREATE TABLE transcript_turns (
    id           bigserial PRIMARY KEY,
    call_id      text NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    turn         int  NOT NULL,
    role         text NOT NULL CHECK (role IN ('caller', 'agent', 'system')),
    text         text NOT NULL,
    interrupted  boolean NOT NULL DEFAULT false,
    at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (call_id, turn, role)
);

CREATE TABLE quotes (
    id             text PRIMARY KEY,
    incident_id    text NOT NULL REFERENCES incidents(id),
    vendor_id      text NOT NULL REFERENCES vendors(id),
    call_id        text,
    price          numeric(12,2) NOT NULL CHECK (price >= 0),
    currency       text NOT NULL DEFAULT 'USD',
    earliest_start timestamptz,
    notes          text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (incident_id, vendor_id)
);

CREATE TABLE approval_decisions (
    id           text PRIMARY KEY,
    incident_id  text NOT NULL REFERENCES incidents(id),
    approved     boolean NOT NULL,
    vendor_id    text REFERENCES vendors(id),
    notes        text NOT NULL DEFAULT '',
    call_id      text,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE repair_bookings (
    id                text PRIMARY KEY,
    incident_id       text NOT NULL REFERENCES incidents(id),
    vendor_id         text NOT NULL REFERENCES vendors(id),
    property_id       text NOT NULL REFERENCES properties(id),
    calendar_event_id text NOT NULL UNIQUE,
    starts_at         timestamptz NOT NULL,
    ends_at           timestamptz NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);

-- Transactional outbox: written in the same transaction as the row it describes;
-- a relay publishes it to JetStream with Nats-Msg-Id = id and stamps published_at.
CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    subject       text NOT NULL,
    payload       bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
