-- Call records (owner: the tools service's records module, range 0080-0089): what each call
-- left behind. transcript_turns (0001) is filled by the same module from TranscriptTurn events.

-- The agent side of each call (the bridge's CallOutcome) and the phone side (ingress's
-- CallEnded), as they arrive: they come in either order, and an unanswered outbound call
-- has no CallOutcome at all.
CREATE TABLE call_record_facts (
    call_id             text PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
    agent_outcome       text,
    agent_duration_s    double precision,
    barge_ins           int NOT NULL DEFAULT 0,
    input_audio_tokens  bigint NOT NULL DEFAULT 0,
    input_text_tokens   bigint NOT NULL DEFAULT 0,
    output_audio_tokens bigint NOT NULL DEFAULT 0,
    output_text_tokens  bigint NOT NULL DEFAULT 0,
    outcome_at          timestamptz,
    ended_reason        text,
    ended_duration_s    double precision,
    ended_at            timestamptz
);

-- Every call tool the tools service ran for a call (name and result code, never arguments).
CREATE TABLE call_tool_uses (
    id       bigserial PRIMARY KEY,
    call_id  text NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    tool     text NOT NULL,
    result   text NOT NULL,                 -- ok | a ToolError code
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX call_tool_uses_call_idx ON call_tool_uses (call_id, at);

-- One report per call: the primary key makes a redelivered CallEnded a no-op.
CREATE TABLE call_reports (
    call_id      text PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
    report_id    text NOT NULL UNIQUE,
    property_id  text NOT NULL REFERENCES properties(id),
    incident_id  text REFERENCES incidents(id),
    outcome      text NOT NULL,
    summary      text NOT NULL,
    source       text NOT NULL CHECK (source IN ('gemini', 'fallback')),
    cost_total   numeric(12, 6) NOT NULL DEFAULT 0,
    report       jsonb NOT NULL,            -- the CallReport event as published
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX call_reports_property_idx ON call_reports (property_id, created_at DESC);
CREATE INDEX call_reports_incident_idx ON call_reports (incident_id);

-- Webhook deliveries of reports: a delivered report is never sent again (restart-safe).
CREATE TABLE call_report_deliveries (
    report_id     text PRIMARY KEY REFERENCES call_reports(report_id) ON DELETE CASCADE,
    attempts      int NOT NULL DEFAULT 0,
    next_attempt  timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz,
    last_status   int,
    last_error    text NOT NULL DEFAULT ''
);
CREATE INDEX call_report_deliveries_due_idx ON call_report_deliveries (next_attempt) WHERE delivered_at IS NULL;

-- Dashboard search over calls and transcripts (property first: every query is scoped).
CREATE INDEX calls_property_created_idx ON calls (property_id, created_at DESC);
CREATE INDEX incidents_property_created_idx ON incidents (property_id, created_at DESC);
CREATE INDEX transcript_turns_call_idx ON transcript_turns (call_id, turn);
