-- Transactional (half) messages. A half is durable and invisible; commit appends
-- it to its queue in the same transaction that deletes it, rollback deletes it.
-- Check-backs claim due halves with a lease (FOR UPDATE SKIP LOCKED), so two
-- members of a producer group never check the same half at once.
CREATE TABLE half_messages (
  transaction_id  text PRIMARY KEY,
  producer_group  text NOT NULL,
  topic           text NOT NULL,
  queue_id        int NOT NULL,
  msg_id          text NOT NULL,
  tag             text,
  keys            text[],
  message_group   text,
  properties      jsonb,
  body            bytea NOT NULL,
  born_at         timestamptz NOT NULL,
  delay_ms        bigint NOT NULL DEFAULT 0,
  state           text NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'PARKED')),
  check_after     timestamptz NOT NULL,
  checks          int NOT NULL DEFAULT 0,
  claimed_by      text,
  claim_until     timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX half_messages_due_idx ON half_messages (producer_group, check_after) WHERE state = 'PENDING';

-- Outcomes, for idempotent commit/rollback and typed errors on contradictions.
CREATE TABLE resolved_transactions (
  transaction_id  text PRIMARY KEY,
  producer_group  text NOT NULL,
  outcome         text NOT NULL CHECK (outcome IN ('COMMIT', 'ROLLBACK')),
  msg_id          text NOT NULL,
  topic           text NOT NULL,
  resolved_by     text NOT NULL,
  resolved_at     timestamptz NOT NULL DEFAULT now()
);

-- Live transaction producers, so halves wait (without spending checks) while nobody could answer.
CREATE TABLE producer_members (
  producer_group  text NOT NULL,
  client_id       text NOT NULL,
  lease_until     timestamptz NOT NULL,
  PRIMARY KEY (producer_group, client_id)
);

CREATE TABLE producer_groups (
  producer_group    text PRIMARY KEY,
  checks_performed  bigint NOT NULL DEFAULT 0
);

-- Resolves halves in one transaction: commit appends (or schedules, when delayed)
-- and records the outcome; rollback records it. Per transaction id the result is
-- 'DONE', 'ALREADY' (same outcome earlier), 'CONFLICT' (the other outcome earlier)
-- or 'NOT_FOUND', with the msgId and, for an append, queue and offset.
CREATE FUNCTION resolve_halves(p_ids text[], p_outcome text, p_by text)
RETURNS TABLE (transaction_id text, status text, msg_id text, topic text, queue_id int, queue_offset bigint)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
#variable_conflict use_column
DECLARE
  g_ids text[]; g_msg text[]; g_topic text[]; g_queue int[]; g_delayed boolean[];
  a_ids text[]; a_topic text[]; a_queue int[]; a_msg text[]; a_tag text[]; a_keys jsonb[]; a_group text[];
  a_props jsonb[]; a_body bytea[]; a_born timestamptz[]; a_rc int[]; a_origin text[];
  v_offsets bigint[];
  v_min_delay bigint;
BEGIN
  WITH gone AS (
    DELETE FROM half_messages h WHERE h.transaction_id = ANY (p_ids) RETURNING h.*
  ), recorded AS (
    INSERT INTO resolved_transactions (transaction_id, producer_group, outcome, msg_id, topic, resolved_by)
    SELECT g.transaction_id, g.producer_group, p_outcome, g.msg_id, g.topic, p_by FROM gone g
  ), scheduled AS (
    -- a delayed transactional message waits in the schedule once committed
    INSERT INTO scheduled_messages (topic, queue_id, msg_id, tag, keys, message_group, properties, body, born_at,
                                    reconsume_times, origin_topic, due_at)
    SELECT g.topic, g.queue_id, g.msg_id, g.tag, g.keys, g.message_group, g.properties, g.body, g.born_at, 0, NULL,
           clock_timestamp() + g.delay_ms * interval '1 millisecond'
    FROM gone g WHERE p_outcome = 'COMMIT' AND g.delay_ms > 0
  )
  SELECT array_agg(g.transaction_id ORDER BY g.created_at), array_agg(g.msg_id ORDER BY g.created_at),
         array_agg(g.topic ORDER BY g.created_at), array_agg(g.queue_id ORDER BY g.created_at),
         array_agg(g.delay_ms > 0 ORDER BY g.created_at),
         array_agg(g.transaction_id ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(g.topic ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(g.queue_id ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(g.msg_id ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(g.tag ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(to_jsonb(g.keys) ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(g.message_group ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(g.properties ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(g.body ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(g.born_at ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(0 ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         array_agg(NULL::text ORDER BY g.created_at) FILTER (WHERE g.delay_ms = 0),
         min(g.delay_ms) FILTER (WHERE g.delay_ms > 0)
    INTO g_ids, g_msg, g_topic, g_queue, g_delayed,
         a_ids, a_topic, a_queue, a_msg, a_tag, a_keys, a_group, a_props, a_body, a_born, a_rc, a_origin, v_min_delay
  FROM gone g;

  IF p_outcome = 'COMMIT' AND v_min_delay IS NOT NULL THEN
    -- wake the schedulers: a committed delayed message is due in v_min_delay ms
    PERFORM pg_notify('herald_' || current_schema() || '_sched', v_min_delay::text);
  END IF;

  IF p_outcome = 'COMMIT' AND a_ids IS NOT NULL THEN
    SELECT array_agg(x.queue_offset ORDER BY x.ord) INTO v_offsets
    FROM append_messages(a_topic, a_queue, a_msg, a_tag, a_keys, a_group, a_props, a_body, a_born, a_rc, a_origin) x;
  END IF;

  RETURN QUERY
  SELECT i.id,
         CASE WHEN p.o IS NOT NULL THEN 'DONE'
              WHEN t.outcome = p_outcome THEN 'ALREADY'
              WHEN t.outcome IS NOT NULL THEN 'CONFLICT'
              ELSE 'NOT_FOUND' END,
         coalesce(g_msg[p.o], t.msg_id), coalesce(g_topic[p.o], t.topic), g_queue[p.o],
         CASE WHEN p.o IS NULL OR p_outcome <> 'COMMIT' THEN NULL
              WHEN g_delayed[p.o] THEN -1::bigint
              ELSE v_offsets[array_position(a_ids, i.id)] END
  FROM unnest(p_ids) AS i (id)
  CROSS JOIN LATERAL (SELECT array_position(g_ids, i.id) AS o) p
  LEFT JOIN resolved_transactions t ON t.transaction_id = i.id AND p.o IS NULL;
END
$fn$;
