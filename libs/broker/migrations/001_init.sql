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

-- Appends a batch of messages in one statement. Arrays are parallel, one entry per
-- message; the result maps each input ordinal to its (queue_id, queue_offset).
-- Raises P0002 when a target queue does not exist (unknown or deleted topic).
CREATE FUNCTION append_messages(
  p_topic text[], p_queue_id int[], p_msg_id text[], p_tag text[], p_keys jsonb[],
  p_group text[], p_props jsonb[], p_body bytea[], p_born_at timestamptz[],
  p_reconsume int[], p_origin text[]
) RETURNS TABLE (ord bigint, queue_id int, queue_offset bigint)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
DECLARE
  v_wanted int;
  v_locked int;
BEGIN
  SELECT count(*) INTO v_wanted FROM (SELECT DISTINCT t, q FROM unnest(p_topic, p_queue_id) AS u (t, q)) d;
  -- Lock queue rows in a fixed order: concurrent appenders in other processes never deadlock.
  PERFORM 1 FROM queues qu
    WHERE (qu.topic, qu.queue_id) IN (SELECT t, q FROM unnest(p_topic, p_queue_id) AS u (t, q))
    ORDER BY qu.topic, qu.queue_id
    FOR UPDATE;
  GET DIAGNOSTICS v_locked = ROW_COUNT;
  IF v_locked <> v_wanted THEN
    RAISE EXCEPTION 'herald: queue not found' USING ERRCODE = 'P0002';
  END IF;

  RETURN QUERY
  WITH input AS (
    SELECT u.*, row_number() OVER (PARTITION BY u.t, u.q ORDER BY u.o) - 1 AS rn
    FROM unnest(p_topic, p_queue_id, p_msg_id, p_tag, p_keys, p_group, p_props, p_body, p_born_at, p_reconsume, p_origin)
      WITH ORDINALITY AS u (t, q, mid, tg, ks, mg, pr, bd, ba, rc, ot, o)
  ), counts AS (
    SELECT t, q, count(*) AS n FROM input GROUP BY t, q
  ), bumped AS (
    UPDATE queues qu SET next_offset = qu.next_offset + c.n
    FROM counts c WHERE qu.topic = c.t AND qu.queue_id = c.q
    RETURNING qu.topic, qu.queue_id, qu.next_offset - c.n AS base
  ), numbered AS (
    SELECT i.*, b.base + i.rn AS off FROM input i JOIN bumped b ON b.topic = i.t AND b.queue_id = i.q
  ), inserted AS (
    INSERT INTO messages (topic, queue_id, queue_offset, msg_id, tag, keys, message_group, properties, body,
                          born_at, reconsume_times, origin_topic)
    SELECT t, q, off, mid, tg,
           CASE WHEN ks IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(ks)) END,
           mg, pr, bd, ba, coalesce(rc, 0), ot
    FROM numbered
    RETURNING 1
  )
  SELECT n.o, n.q, n.off FROM numbered n ORDER BY n.o;

  PERFORM pg_notify('herald_' || current_schema() || '_msg', d.t) FROM (SELECT DISTINCT t FROM unnest(p_topic) AS u (t)) d;
END
$fn$;

-- Moves due scheduled messages into their queues, one runner at a time. Returns the
-- number moved (-1 when another runner holds the lock) and the milliseconds until the
-- next one is due (NULL when none is scheduled), measured on the database's clock.
CREATE FUNCTION move_due_messages(p_limit int)
RETURNS TABLE (moved int, next_due_in_ms double precision)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
DECLARE
  a_topic text[]; a_queue int[]; a_msg text[]; a_tag text[]; a_keys jsonb[]; a_group text[];
  a_props jsonb[]; a_body bytea[]; a_born timestamptz[]; a_rc int[]; a_origin text[];
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext(current_schema() || '.scheduler')) THEN
    RETURN QUERY SELECT -1, (SELECT (extract(epoch FROM min(due_at) - clock_timestamp()) * 1000)::double precision FROM scheduled_messages);
    RETURN;
  END IF;

  WITH due AS (
    DELETE FROM scheduled_messages s
    WHERE s.id IN (SELECT id FROM scheduled_messages WHERE due_at <= clock_timestamp()
                   ORDER BY due_at, id LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING s.*
  ), live AS (
    -- messages whose topic was deleted meanwhile are dropped with it
    SELECT d.* FROM due d JOIN queues qu ON qu.topic = d.topic AND qu.queue_id = d.queue_id
  )
  SELECT array_agg(topic ORDER BY due_at, id), array_agg(queue_id ORDER BY due_at, id),
         array_agg(msg_id ORDER BY due_at, id), array_agg(tag ORDER BY due_at, id),
         array_agg(to_jsonb(keys) ORDER BY due_at, id), array_agg(message_group ORDER BY due_at, id),
         array_agg(properties ORDER BY due_at, id), array_agg(body ORDER BY due_at, id),
         array_agg(born_at ORDER BY due_at, id), array_agg(reconsume_times ORDER BY due_at, id),
         array_agg(origin_topic ORDER BY due_at, id)
    INTO a_topic, a_queue, a_msg, a_tag, a_keys, a_group, a_props, a_body, a_born, a_rc, a_origin
  FROM live;

  IF a_topic IS NOT NULL THEN
    PERFORM append_messages(a_topic, a_queue, a_msg, a_tag, a_keys, a_group, a_props, a_body, a_born, a_rc, a_origin);
  END IF;

  RETURN QUERY SELECT coalesce(array_length(a_topic, 1), 0),
    (SELECT (extract(epoch FROM min(due_at) - clock_timestamp()) * 1000)::double precision FROM scheduled_messages);
END
$fn$;
