-- Look-ups by business key (admin.queryMessagesByKey). Partial: messages without
-- keys, the common case on the hot path, cost nothing here.
CREATE INDEX messages_keys_idx ON messages USING gin (keys) WHERE keys IS NOT NULL;
