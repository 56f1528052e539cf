-- The facts the guest agent states when it opens an incident (the system decides from them),
-- and each vendor's working hours (local to the property being served).
ALTER TABLE incidents
    ADD COLUMN needs_professional boolean,                   -- NULL: not stated (an older client)
    ADD COLUMN urgency text CHECK (urgency IN ('emergency', 'today', 'this_week', 'flexible'));

ALTER TABLE vendors
    ADD COLUMN work_start time NOT NULL DEFAULT '08:00',     -- in the property's time zone
    ADD COLUMN work_end   time NOT NULL DEFAULT '18:00',
    ADD COLUMN work_days  int[] NOT NULL DEFAULT '{1,2,3,4,5,6,7}'  -- ISO weekdays (1 = Monday)
        CHECK (work_days <@ '{1,2,3,4,5,6,7}'),
    ADD CONSTRAINT vendors_work_hours_order CHECK (work_start < work_end);
