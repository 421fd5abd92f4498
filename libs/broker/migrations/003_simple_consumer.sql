-- Pull-model (simple) consumers: messages handed out and not yet acknowledged.
-- A row hides its message from the rest of the group until invisible_until; the
-- group's cursor per queue lives in consumer_offsets, as for push consumers.
CREATE TABLE pop_receipts (
  group_name       text NOT NULL,
  topic            text NOT NULL,
  queue_id         int NOT NULL,
  queue_offset     bigint NOT NULL,
  receipt          text NOT NULL,
  invisible_until  timestamptz NOT NULL,
  reconsume_times  int NOT NULL DEFAULT 0,
  PRIMARY KEY (group_name, topic, queue_id, queue_offset)
);

CREATE INDEX pop_receipts_visible_idx ON pop_receipts (group_name, invisible_until);
