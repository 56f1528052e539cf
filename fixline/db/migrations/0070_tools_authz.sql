-- Tools authorization: the booking reference (the vendor's second factor for the access
-- code) and the lookups the per-call checks make.

-- Eight digits given to the vendor with the booking; NULL for bookings made before it
-- existed (those never release a code).
ALTER TABLE repair_bookings ADD COLUMN reference text;

-- Wrong references per call (rate limit of get_vendor_code).
CREATE INDEX access_code_releases_call_idx ON access_code_releases (call_id, reason);
-- The owner's latest decision on an incident (bookings need an approval).
CREATE INDEX approval_decisions_incident_idx ON approval_decisions (incident_id, created_at DESC);
