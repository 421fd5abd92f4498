-- Look-ups by msgId go through born_at, which the msgId begins with (milliseconds).
-- A BRIN index costs appenders next to nothing; the btree on msg_id cost ~25% of
-- an append (pgbench, 1 000 messages: 14.3 ms with it, 11.0 ms without).
DROP INDEX messages_msg_id_idx;

CREATE INDEX messages_born_at_brin ON messages USING brin (born_at) WITH (pages_per_range = 32, autosummarize = on);
