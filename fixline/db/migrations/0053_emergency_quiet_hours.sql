-- Emergencies and quiet hours (issue 12).
-- vendors.emergency: the vendor comes out at any hour (phoned at once in an emergency; working
-- hours do not apply to its emergency quotes and bookings).
-- properties.quiet_start/quiet_end: no outbound call (vendor, landlord, guest call-back) is placed
-- between them, local to the property, except in an emergency. NULL = OUTREACH_QUIET_HOURS.
-- The window may wrap midnight (21:00-08:00); start = end means no quiet hours.
ALTER TABLE vendors
    ADD COLUMN emergency boolean NOT NULL DEFAULT false;

ALTER TABLE properties
    ADD COLUMN quiet_start time,
    ADD COLUMN quiet_end   time,
    ADD CONSTRAINT properties_quiet_hours_both CHECK ((quiet_start IS NULL) = (quiet_end IS NULL));
