-- Retention: old messages are deleted as a prefix of each queue, in small batches,
-- without touching the queue rows that appenders lock. A queue's min offset is
-- therefore read from the messages themselves (the first PK entry), not stored.
ALTER TABLE queues DROP COLUMN min_offset;
