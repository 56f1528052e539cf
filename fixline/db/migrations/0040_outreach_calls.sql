-- Outreach: every call an outreach workflow placed, so call results (CallEnded, QuoteReceived,
-- DecisionMade) can be routed back to the DBOS workflow waiting for them. The workflow state
-- itself lives in DBOS's own system database (<database>_dbos).
CREATE TABLE outreach_calls (
    call_id      text PRIMARY KEY,                 -- the DialCall's call_id (deterministic per workflow)
    workflow_id  text NOT NULL UNIQUE,             -- the DBOS child workflow that placed it and waits
    incident_id  text NOT NULL REFERENCES incidents(id),
    kind         text NOT NULL CHECK (kind IN ('vendor', 'landlord', 'guest')),
    vendor_id    text REFERENCES vendors(id),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outreach_calls_incident_idx ON outreach_calls (incident_id, kind, vendor_id);
