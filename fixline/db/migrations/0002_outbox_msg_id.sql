-- The JetStream Nats-Msg-Id of each outbox row: the event's own id (a UUID), so ids never
-- collide across databases that publish into one stream (outbox ids restart at 1 in each).
ALTER TABLE outbox ADD COLUMN msg_id text;
