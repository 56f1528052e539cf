-- Warm hand-off: the number a property hands callers to (its manager line; empty: FALLBACK_TRANSFER_NUMBER),
-- and each hand-off stage ingress saw from Twilio, once (Twilio retries webhooks).
ALTER TABLE properties
    ADD COLUMN handoff_number text NOT NULL DEFAULT '';

CREATE TABLE call_handoffs (
    call_id     text NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    leg         integer NOT NULL CHECK (leg BETWEEN 0 AND 100),
    stage       text NOT NULL CHECK (stage IN ('answered', 'unanswered', 'completed')),
    to_number   text NOT NULL DEFAULT '',
    dial_status text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (call_id, leg, stage)
);
