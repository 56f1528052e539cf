-- Outreach: a promised call-back ("we will call you back", workflow callback:<call id>) may be
-- about a call that never opened an incident, so its outbound call has none to route by.
ALTER TABLE outreach_calls ALTER COLUMN incident_id DROP NOT NULL;
