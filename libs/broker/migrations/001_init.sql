-- Herald broker schema, version 1. Runs with search_path set to the broker schema.
-- Immutable once released: later changes go into 002_... and onwards.

CREATE TABLE topics (
  name        text PRIMARY KEY,
  queues      int NOT NULL CHECK (queues BETWEEN 1 AND 1024),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per queue; next_offset is the offset allocator. Appenders lock these rows
-- (in topic, queue_id order) for the length of their transaction, so offsets are
-- gapless and become visible in offset order. fillfactor leaves room for HOT updates.
CREATE TABLE queues (
  topic        text NOT NULL REFERENCES topics (name) ON DELETE CASCADE,
  queue_id     int NOT NULL,
  next_offset  bigint NOT NULL DEFAULT 0,
  min_offset   bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (topic, queue_id)
) WITH (fillfactor = 20);

CREATE TABLE messages (
  topic            text NOT NULL,
  queue_id         int NOT NULL,
  queue_offset     bigint NOT NULL,
  msg_id           text NOT NULL,
  tag              text,
  keys             text[],
  message_group    text,
  properties       jsonb,
  body             bytea NOT NULL,
  born_at          timestamptz NOT NULL,
  stored_at        timestamptz NOT NULL DEFAULT now(),
  reconsume_times  int NOT NULL DEFAULT 0,
  -- set on retry and dead-letter copies: the topic the message was first sent to
  origin_topic     text,
  PRIMARY KEY (topic, queue_id, queue_offset)
);

-- msgIds start with a millisecond timestamp, so this index grows at its right edge.
CREATE INDEX messages_msg_id_idx ON messages (msg_id);

-- Messages that are not due yet: retries (and, later, delayed messages).
CREATE TABLE scheduled_messages (
  id               bigserial PRIMARY KEY,
  due_at           timestamptz NOT NULL,
  topic            text NOT NULL,
  queue_id         int NOT NULL,
  msg_id           text NOT NULL,
  tag              text,
  keys             text[],
  message_group    text,
  properties       jsonb,
  body             bytea NOT NULL,
  born_at          timestamptz NOT NULL,
  reconsume_times  int NOT NULL DEFAULT 0,
  origin_topic     text
);

CREATE INDEX scheduled_messages_due_idx ON scheduled_messages (due_at, id);

CREATE TABLE consumer_groups (
  group_name   text PRIMARY KEY,
  model        text NOT NULL DEFAULT 'CLUSTERING',
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE group_members (
  group_name     text NOT NULL,
  client_id      text NOT NULL,
  host           text NOT NULL,
  pid            int NOT NULL,
  subscriptions  jsonb NOT NULL,
  started_at     timestamptz NOT NULL DEFAULT now(),
  heartbeat_at   timestamptz NOT NULL DEFAULT now(),
  lease_until    timestamptz NOT NULL,
  PRIMARY KEY (group_name, client_id)
);

-- Which member currently consumes a queue for a group. A member only pulls from
-- queues it holds here; a dead member's lease runs out and the queue moves on.
CREATE TABLE queue_locks (
  group_name   text NOT NULL,
  topic        text NOT NULL,
  queue_id     int NOT NULL,
  client_id    text NOT NULL,
  lease_until  timestamptz NOT NULL,
  PRIMARY KEY (group_name, topic, queue_id)
);

CREATE TABLE consumer_offsets (
  group_name        text NOT NULL,
  topic             text NOT NULL,
  queue_id          int NOT NULL,
  committed_offset  bigint NOT NULL,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_name, topic, queue_id)
);
