-- Ingress: admission, stream lifecycle and outbound-dial bookkeeping on the calls table.
ALTER TABLE calls
    ADD COLUMN admission         text CHECK (admission IN ('admitted', 'overflow')),
    ADD COLUMN admitted_at       timestamptz,       -- counts as a reserved bridge slot until streaming
    ADD COLUMN end_reason        text,
    ADD COLUMN stream_sid        text,
    ADD COLUMN stream_started_at timestamptz,
    ADD COLUMN stream_stopped_at timestamptz,
    ADD COLUMN stream_error      text,
    ADD COLUMN dial_state        text CHECK (dial_state IN ('pending', 'dialing', 'placed', 'failed', 'unknown')),
    ADD COLUMN dial_attempted_at timestamptz,
    ADD COLUMN dial_error        text;

-- Admission control counts admitted calls that are not streaming yet (across ingress replicas).
CREATE INDEX calls_admitted_open_idx ON calls (admitted_at)
    WHERE admission = 'admitted' AND ended_at IS NULL;
