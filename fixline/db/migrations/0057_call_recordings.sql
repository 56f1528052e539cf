-- Call recordings (issue 10; owner: ingress). Off by default, switched on per property.
-- properties.recording_enabled: ingress starts a dual-channel Twilio recording when the call's
-- media stream starts. properties.recording_notice: the caller hears a spoken notice first.
ALTER TABLE properties
    ADD COLUMN recording_enabled boolean NOT NULL DEFAULT false,
    ADD COLUMN recording_notice  boolean NOT NULL DEFAULT true;

-- One row per Twilio recording, kept in step by the recording status callbacks. The media stays
-- at Twilio (played through the notifier's authorized proxy); after RECORDING_RETENTION_DAYS the
-- sweep deletes it there and sets deleted_at here (the row stays as the audit of what existed).
CREATE TABLE call_recordings (
    sid          text PRIMARY KEY,                 -- RE + 32 hex
    call_id      text NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    status       text NOT NULL CHECK (status IN ('in-progress', 'paused', 'stopped', 'processing',
                                                 'completed', 'absent', 'failed')),
    duration_s   int,
    channels     int NOT NULL DEFAULT 2 CHECK (channels IN (1, 2)),
    media_url    text NOT NULL DEFAULT '',         -- as Twilio reported it; never served to a browser
    error_code   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz
);
CREATE INDEX call_recordings_call_idx ON call_recordings (call_id);
CREATE INDEX call_recordings_live_idx ON call_recordings (created_at) WHERE deleted_at IS NULL;
